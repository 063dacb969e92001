using System.Text.RegularExpressions;
using k8s.Models;

namespace Automator.UnitTests.Deployment;

public sealed class ManifestTests
{
    private static readonly Dictionary<string, string> Files = Manifests.ReadFiles();

    [Fact]
    public void Every_manifest_loads_with_the_kubernetes_models_and_keeps_every_deployment_invariant()
    {
        var manifests = Manifests.Load(Files);

        Assert.Empty(manifests.Problems());
        Assert.Equal(["automator-dashboard", "automator-silo", "automator-webapi"], manifests.Workloads().Select(w => w.Name).Order(StringComparer.Ordinal));
        Assert.Contains(manifests.All<V1NetworkPolicy>(), p => p.Metadata.Name == "automator-silo");
        Assert.Contains(manifests.All<V1Ingress>(), i => i.Spec.Rules.SelectMany(r => r.Http.Paths).Any(p => p.Path == "/hubs" && p.Backend.Service.Name == "automator-dashboard"));
    }

    [Fact]
    public void Every_image_the_manifests_run_is_one_the_repository_builds_with_the_dockerfile_and_dotnet_publish()
    {
        var root = Manifests.RepositoryRoot();
        var dockerfile = File.ReadAllText(Path.Combine(root, "Dockerfile"));
        var repositories = Directory.EnumerateFiles(root, "*.csproj", SearchOption.AllDirectories)
            .Select(File.ReadAllText)
            .Select(text => Regex.Match(text, "<ContainerRepository>(?<name>[^<]+)</ContainerRepository>"))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value)
            .ToHashSet(StringComparer.Ordinal);

        var images = Manifests.Load(Files).Workloads().SelectMany(w => w.Template.Spec.Containers).Select(c => Manifests.ImageRepository(c.Image)).ToHashSet(StringComparer.Ordinal);

        Assert.Equal(["automator-dashboard", "automator-silo", "automator-webapi"], images.Order(StringComparer.Ordinal));
        Assert.Subset(repositories, images);
        foreach (var image in images)
        {
            Assert.Matches(new Regex($@"^FROM \S+ AS {image["automator-".Length..]}$", RegexOptions.Multiline), dockerfile);
        }

        Assert.Matches(new Regex(@"^FROM mcr\.microsoft\.com/dotnet/aspnet:\$\{DOTNET_VERSION\} AS runtime$", RegexOptions.Multiline), dockerfile);
        Assert.Matches(new Regex(@"^USER \$APP_UID$", RegexOptions.Multiline), dockerfile);
    }

    public static TheoryData<string, string, string, string> Breakages => new()
    {
        // file, text replaced, replacement, the problem expected
        { "k8s/silo.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "automator-silo/silo: readOnlyRootFilesystem is not true" },
        { "k8s/webapi.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "automator-webapi/webapi: runAsNonRoot is not true" },
        { "k8s/dashboard.yaml", "capabilities: { drop: [\"ALL\"] }", "capabilities: { drop: [\"NET_RAW\"] }", "automator-dashboard/dashboard: capabilities do not drop ALL" },
        { "k8s/silo.yaml", "- { name: tmp, mountPath: /tmp }", "- { name: tmp, mountPath: /scratch }", "automator-silo/silo: no emptyDir mounted at /tmp" },
        { "k8s/webapi.yaml", "limits: { cpu: \"2\", memory: 1Gi }", "limits: { cpu: \"2\" }", "automator-webapi/webapi: resources need cpu and memory requests and limits" },
        { "k8s/silo.yaml", "readinessProbe:", "startupProbeTwo:", "Property 'startupProbeTwo' not found" },
        { "k8s/dashboard.yaml", "livenessProbe:\n            httpGet: { path: /health/live, port: http }", "livenessProbe:\n            httpGet: { path: /health/live, port: web }", "automator-dashboard/dashboard: the liveness probe's port 'web' is no port of the container" },
        { "k8s/config.yaml", "Automator__PublicBaseUrl: \"https://mail.example.com\"", "Automator__PublicBaseUrl: \"http://localhost:5000\"", "automator-config: Automator__PublicBaseUrl 'http://localhost:5000' is not a public https address" },
        { "k8s/config.yaml", "Automator__PublicBaseUrl:", "Automator__PublicBaseURI:", "automator-config: Automator__PublicBaseURI is not a setting Automator reads" },
        { "k8s/config.yaml", "Automator__OpenAI__Model:", "Automator__OpenAi__Modle:", "automator-config: Automator__OpenAi__Modle is not a setting Automator reads" },
        { "k8s/config.yaml", "  Automator__InfluxDb__Url: \"\"\n", "", "automator-config: Automator__InfluxDb__Url is missing" },
        { "k8s/silo.yaml", "key: tracking-signing-key", "key: tracking-signing-keys", "automator-silo/silo: Automator__Tracking__SigningKey reads key 'tracking-signing-keys' of Secret 'automator-secrets', which no manifest defines" },
        { "k8s/webapi.yaml", "name: automator-providers, key: ses-secret-access-key", "name: automator-provider, key: ses-secret-access-key", "Secret 'automator-provider', which no manifest defines" },
        { "k8s/silo.yaml", "name: Automator__Providers__SendGrid__ApiKey", "name: Automator__Providers__SendGrid__Key", "automator-silo/silo: Automator__Providers__SendGrid__Key is not a setting Automator reads" },
        { "k8s/webapi.yaml", "            - name: Automator__OpenAI__ApiKey\n              valueFrom: { secretKeyRef: { name: automator-integrations, key: openai-api-key, optional: true } }\n", "", "automator-webapi/webapi: Automator__OpenAI__ApiKey is not read from a Secret" },
        { "k8s/dashboard.yaml", "- configMapRef: { name: automator-config }", "- configMapRef: { name: automator-settings }", "automator-dashboard/dashboard: does not take its settings from the ConfigMap automator-config" },
        { "k8s/silo.yaml", "prometheus.io/scrape: \"true\"", "prometheus.io/scrape: \"false\"", "automator-silo: pods lack prometheus.io/scrape" },
        { "k8s/network-policy.yaml", "matchLabels: { app.kubernetes.io/part-of: automator }", "matchLabels: { app.kubernetes.io/part-of: anyone }", "automator-silo: port 11111 is open to more than pods labelled" },
        { "k8s/network-policy.yaml", "    - ports:\n        - { protocol: TCP, port: 8080 }\n", "    - ports:\n        - { protocol: TCP, port: 30000 }\n", "automator-silo: port 30000 is open to more than pods labelled" },
        { "k8s/network-policy.yaml", "    matchLabels: { app: automator-silo }", "    matchLabels: { app: automator-silos }", "automator-silo: no NetworkPolicy selects the silo pods" },
        { "k8s/dashboard.yaml", "image: automator-dashboard:latest", "image: automator:latest", "image 'automator:latest' is none of the images the repository builds" },
        { "k8s/webapi.yaml", "\"Automator.WebApi.dll\"", "\"Automator.Dashboard.dll\"", "automator-webapi/webapi: image automator-webapi runs Automator.WebApi.dll" },
        { "k8s/ingress.yaml", "path: /hubs, pathType: Prefix, backend: { service: { name: automator-dashboard", "path: /hubs, pathType: Prefix, backend: { service: { name: automator-dashbaord", "Ingress path /hubs goes to Service 'automator-dashbaord'" },
    };

    [Theory]
    [MemberData(nameof(Breakages))]
    public void A_typo_or_a_missing_setting_in_the_manifests_is_reported(string file, string text, string replacement, string expected)
    {
        var key = file.Replace('/', Path.DirectorySeparatorChar);
        Assert.Contains(text, Files[key], StringComparison.Ordinal);
        var broken = new Dictionary<string, string>(Files, StringComparer.Ordinal) { [key] = Files[key].Replace(text, replacement, StringComparison.Ordinal) };

        string problems;
        try
        {
            problems = string.Join('\n', Manifests.Load(broken).Problems());
        }
        catch (InvalidDataException e)
        {
            problems = e.Message;
        }

        Assert.Contains(expected, problems, StringComparison.Ordinal);
    }
}
