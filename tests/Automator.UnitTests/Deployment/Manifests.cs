using System.Globalization;
using System.Text.RegularExpressions;
using Automator.Delivery.Providers;
using Automator.Infrastructure.Protection;
using Automator.Infrastructure.Telemetry;
using Automator.WebApi.Ai;
using Automator.WebApi.Hosting;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration;

namespace Automator.UnitTests.Deployment;

/// <summary>
/// The repository's Kubernetes manifests, loaded with the official client's models (strictly: an unknown field is an
/// error), and the invariants a deployment relies on, each broken one reported as a sentence.
/// </summary>
public sealed partial class Manifests
{
    public const string PartOfLabel = "app.kubernetes.io/part-of";
    public const string SiloPort = "11111";
    public const string GatewayPort = "30000";

    /// <summary>Every environment variable a manifest may set, read back through the code that reads it.</summary>
    private static readonly Dictionary<string, Func<IConfiguration, string?>> Settings = new(StringComparer.Ordinal)
    {
        ["ConnectionStrings__Postgres"] = c => c.GetConnectionString("Postgres"),
        ["Automator__PublicBaseUrl"] = c => Delivery(c).PublicBaseUrl,
        ["Automator__Delivery__FromEmail"] = c => Delivery(c).FromEmail,
        ["Automator__Outbox__Path"] = c => Delivery(c).OutboxPath,
        ["Automator__Providers__Primary"] = c => Delivery(c).Primary,
        ["Automator__Providers__SendGrid__ApiKey"] = c => Delivery(c).SendGridApiKey,
        ["Automator__Providers__SendGrid__RatePerSecond"] = c => Number(Delivery(c).SendGridAccount.RatePerSecond),
        ["Automator__Providers__SendGrid__WebhookPublicKey"] = c => Webhooks(c).SendGridWebhookPublicKey,
        ["Automator__Providers__Ses__Region"] = c => Delivery(c).SesRegion,
        ["Automator__Providers__Ses__AccessKeyId"] = c => Delivery(c).SesAccessKeyId,
        ["Automator__Providers__Ses__SecretAccessKey"] = c => Delivery(c).SesSecretAccessKey,
        ["Automator__Providers__Ses__RatePerSecond"] = c => Number(Delivery(c).SesAccount.RatePerSecond),
        ["Automator__Providers__Ses__SnsTopicArns__0"] = c => Webhooks(c).SnsTopicArns.FirstOrDefault(),
        ["Automator__OpenAI__ApiKey"] = c => Bind<AiOptions>(c, AiOptions.Section).ApiKey,
        ["Automator__OpenAI__BaseUrl"] = c => Bind<AiOptions>(c, AiOptions.Section).BaseUrl,
        ["Automator__OpenAI__Model"] = c => Bind<AiOptions>(c, AiOptions.Section).Model,
        ["Automator__OpenAI__DailyRequests"] = c => Number(Bind<AiOptions>(c, AiOptions.Section).DailyRequests),
        ["Automator__OpenAI__DailyTokens"] = c => Number(Bind<AiOptions>(c, AiOptions.Section).DailyTokens),
        ["Automator__InfluxDb__Url"] = c => Bind<InfluxOptions>(c, InfluxOptions.Section).Url,
        ["Automator__InfluxDb__Token"] = c => Bind<InfluxOptions>(c, InfluxOptions.Section).Token,
        ["Automator__InfluxDb__Org"] = c => Bind<InfluxOptions>(c, InfluxOptions.Section).Org,
        ["Automator__InfluxDb__Bucket"] = c => Bind<InfluxOptions>(c, InfluxOptions.Section).Bucket,
        ["Automator__Cluster__Tls__CertificatePath"] = c => ClusterTlsOptions.From(c).CertificatePath,
        ["Automator__Cluster__Tls__KeyPath"] = c => ClusterTlsOptions.From(c).KeyPath,
        ["Automator__Cluster__Tls__CaPath"] = c => ClusterTlsOptions.From(c).CaPath,
        ["Automator__Jwt__SigningKey"] = c => Bind<JwtOptions>(c, JwtOptions.Section).SigningKey,
        ["Automator__Operators__Key"] = c => Bind<OperatorOptions>(c, OperatorOptions.Section).Key,
        ["Automator__Encryption__ActiveKey"] = c => Bind<EncryptionOptions>(c, EncryptionOptions.Section).ActiveKey,
        ["Automator__Encryption__Keys__k1"] = c => Bind<EncryptionOptions>(c, EncryptionOptions.Section).Keys.GetValueOrDefault("k1"),
        ["Automator__Http__KnownNetworks__0"] = c => Bind<HttpEdgeOptions>(c, HttpEdgeOptions.Section).KnownNetworks.FirstOrDefault(),
        // Read by TrackingTokens.FromConfiguration.
        ["Automator__Tracking__SigningKey"] = c => c["Automator:Tracking:SigningKey"],
        // Read by the silo's SiloOptions and HostingOptions (Automator:Orleans, Automator:Hosting).
        ["Automator__Orleans__Kubernetes"] = c => c["Automator:Orleans:Kubernetes"],
        ["Automator__Hosting__WebApi"] = c => c["Automator:Hosting:WebApi"],
        ["Automator__Hosting__Dashboard"] = c => c["Automator:Hosting:Dashboard"],
        // ASP.NET Core's console logger.
        ["Logging__Console__FormatterName"] = c => c["Logging:Console:FormatterName"],
        // Orleans' Kubernetes hosting reads these from the downward API.
        ["ORLEANS_SERVICE_ID"] = c => c["ORLEANS_SERVICE_ID"],
        ["ORLEANS_CLUSTER_ID"] = c => c["ORLEANS_CLUSTER_ID"],
        ["POD_NAMESPACE"] = c => c["POD_NAMESPACE"],
        ["POD_NAME"] = c => c["POD_NAME"],
        ["POD_IP"] = c => c["POD_IP"],
    };

    /// <summary>Secret-backed settings each process needs, by the image it runs.</summary>
    private static readonly Dictionary<string, string[]> RequiredSecrets = new(StringComparer.Ordinal)
    {
        ["automator-silo"] =
        [
            "ConnectionStrings__Postgres", "Automator__Jwt__SigningKey", "Automator__Encryption__Keys__k1", "Automator__Tracking__SigningKey",
            "Automator__Providers__SendGrid__ApiKey", "Automator__Providers__Ses__AccessKeyId", "Automator__Providers__Ses__SecretAccessKey",
            "Automator__InfluxDb__Token",
        ],
        ["automator-webapi"] =
        [
            "ConnectionStrings__Postgres", "Automator__Jwt__SigningKey", "Automator__Encryption__Keys__k1", "Automator__Tracking__SigningKey",
            "Automator__Providers__SendGrid__ApiKey", "Automator__Providers__SendGrid__WebhookPublicKey", "Automator__Providers__Ses__AccessKeyId",
            "Automator__Providers__Ses__SecretAccessKey", "Automator__OpenAI__ApiKey", "Automator__InfluxDb__Token",
        ],
        ["automator-dashboard"] = ["ConnectionStrings__Postgres", "Automator__Jwt__SigningKey", "Automator__Encryption__Keys__k1"],
    };

    /// <summary>Settings every process must get from the shared ConfigMap.</summary>
    private static readonly string[] RequiredSettings =
    [
        "Automator__PublicBaseUrl", "Automator__OpenAI__BaseUrl", "Automator__OpenAI__Model", "Automator__InfluxDb__Url",
        "Automator__InfluxDb__Org", "Automator__InfluxDb__Bucket", "Automator__Cluster__Tls__CertificatePath", "Automator__Encryption__ActiveKey",
    ];

    private Manifests(IReadOnlyList<object> objects) => Objects = objects;

    public IReadOnlyList<object> Objects { get; }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Automator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Automator.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Every YAML file under k8s/ (subdirectories too), by path relative to the repository root.</summary>
    public static Dictionary<string, string> ReadFiles()
    {
        var root = RepositoryRoot();
        return Directory.EnumerateFiles(Path.Combine(root, "k8s"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllText, StringComparer.Ordinal);
    }

    /// <summary>Loads the files strictly: an unknown kind or field throws, naming the file.</summary>
    public static Manifests Load(IReadOnlyDictionary<string, string> files)
    {
        var objects = new List<object>();
        foreach (var (path, text) in files)
        {
            try
            {
                objects.AddRange(KubernetesYaml.LoadAllFromString(text, strict: true).Where(o => o is not null));
            }
            catch (Exception e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
        }

        return new Manifests(objects);
    }

    public IEnumerable<T> All<T>() => Objects.OfType<T>();

    /// <summary>The workloads' pod templates, by workload name.</summary>
    public IEnumerable<(string Name, V1PodTemplateSpec Template)> Workloads() =>
        All<V1Deployment>().Select(d => (d.Metadata.Name, d.Spec.Template))
            .Concat(All<V1StatefulSet>().Select(s => (s.Metadata.Name, s.Spec.Template)));

    public List<string> Problems()
    {
        var problems = new List<string>();
        var workloads = Workloads().ToList();
        if (workloads.Count == 0)
        {
            problems.Add("no Deployment or StatefulSet found under k8s/");
        }

        foreach (var (name, template) in workloads)
        {
            CheckPod(name, template, problems);
        }

        CheckReferences(problems);
        CheckSharedSettings(problems);
        CheckNetworkPolicy(workloads, problems);
        CheckRouting(workloads, problems);
        return problems;
    }

    private void CheckPod(string name, V1PodTemplateSpec template, List<string> problems)
    {
        var pod = template.Spec;
        var labels = template.Metadata?.Labels ?? new Dictionary<string, string>();
        if (Get(labels, PartOfLabel) != "automator")
        {
            problems.Add($"{name}: pods lack the label {PartOfLabel}: automator the NetworkPolicy admits");
        }

        var annotations = template.Metadata?.Annotations ?? new Dictionary<string, string>();
        if (Get(annotations, "prometheus.io/scrape") != "true" || Get(annotations, "prometheus.io/path") != "/metrics")
        {
            problems.Add($"{name}: pods lack prometheus.io/scrape \"true\" and prometheus.io/path /metrics");
        }

        var volumes = (pod.Volumes ?? []).ToDictionary(v => v.Name, StringComparer.Ordinal);
        foreach (var container in pod.Containers)
        {
            var where = $"{name}/{container.Name}";
            var ports = (container.Ports ?? []).ToList();
            if (Get(annotations, "prometheus.io/port") is not { } scrapePort || ports.All(p => Number(p.ContainerPort) != scrapePort))
            {
                problems.Add($"{where}: prometheus.io/port names no port of the container");
            }

            var security = container.SecurityContext;
            if ((security?.RunAsNonRoot ?? pod.SecurityContext?.RunAsNonRoot) != true)
            {
                problems.Add($"{where}: runAsNonRoot is not true");
            }

            if ((security?.RunAsUser ?? pod.SecurityContext?.RunAsUser) is not > 0)
            {
                problems.Add($"{where}: no numeric non-root runAsUser");
            }

            if (security?.ReadOnlyRootFilesystem != true)
            {
                problems.Add($"{where}: readOnlyRootFilesystem is not true");
            }

            if (security?.AllowPrivilegeEscalation != false)
            {
                problems.Add($"{where}: allowPrivilegeEscalation is not false");
            }

            if (security?.Capabilities?.Drop?.Contains("ALL") != true)
            {
                problems.Add($"{where}: capabilities do not drop ALL");
            }

            var mounts = container.VolumeMounts ?? [];
            foreach (var mount in mounts.Where(m => !volumes.ContainsKey(m.Name)))
            {
                problems.Add($"{where}: mounts volume '{mount.Name}', which the pod does not define");
            }

            if (mounts.FirstOrDefault(m => m.MountPath == "/tmp") is not { } tmp || volumes.GetValueOrDefault(tmp.Name)?.EmptyDir is null)
            {
                problems.Add($"{where}: no emptyDir mounted at /tmp (the only writable path)");
            }

            var requests = container.Resources?.Requests ?? new Dictionary<string, ResourceQuantity>();
            var limits = container.Resources?.Limits ?? new Dictionary<string, ResourceQuantity>();
            if (!requests.ContainsKey("cpu") || !requests.ContainsKey("memory") || !limits.ContainsKey("memory") || !limits.ContainsKey("cpu"))
            {
                problems.Add($"{where}: resources need cpu and memory requests and limits");
            }

            foreach (var (kind, probe) in new[] { ("readiness", container.ReadinessProbe), ("liveness", container.LivenessProbe) })
            {
                if (probe?.HttpGet is not { } get || !get.Path.StartsWith("/health/", StringComparison.Ordinal))
                {
                    problems.Add($"{where}: no {kind} probe on /health/*");
                }
                else if (ports.All(p => p.Name != get.Port.ToString() && Number(p.ContainerPort) != get.Port.ToString()))
                {
                    problems.Add($"{where}: the {kind} probe's port '{get.Port}' is no port of the container");
                }
            }

            CheckEnvironment(where, container, problems);
        }
    }

    private void CheckEnvironment(string where, V1Container container, List<string> problems)
    {
        var names = (container.Env ?? []).Select(e => e.Name).ToList();
        foreach (var duplicate in names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{where}: {duplicate.Key} is set twice");
        }

        foreach (var variable in container.Env ?? [])
        {
            var value = variable.Value ?? "set-from-" + (variable.ValueFrom?.SecretKeyRef?.Key ?? variable.ValueFrom?.ConfigMapKeyRef?.Key ?? "field");
            CheckSetting(where, variable.Name, value, problems);
        }

        var fromConfig = (container.EnvFrom ?? []).Where(e => e.ConfigMapRef is not null).Select(e => e.ConfigMapRef.Name).ToList();
        if (!fromConfig.Contains("automator-config"))
        {
            problems.Add($"{where}: does not take its settings from the ConfigMap automator-config (envFrom)");
        }

        var image = ImageRepository(container.Image);
        if (!RequiredSecrets.TryGetValue(image, out var secrets))
        {
            problems.Add($"{where}: image '{container.Image}' is none of the images the repository builds ({string.Join(", ", RequiredSecrets.Keys)})");
            return;
        }

        foreach (var required in secrets)
        {
            if (container.Env?.FirstOrDefault(e => e.Name == required)?.ValueFrom?.SecretKeyRef is null)
            {
                problems.Add($"{where}: {required} is not read from a Secret");
            }
        }

        var assembly = "Automator." + CultureInfo.InvariantCulture.TextInfo.ToTitleCase(image["automator-".Length..]).Replace("Webapi", "WebApi", StringComparison.Ordinal) + ".dll";
        if (container.Command is { Count: > 0 } command && !command.Contains(assembly))
        {
            problems.Add($"{where}: image {image} runs {assembly}, but the command is '{string.Join(' ', command)}'");
        }
    }

    private static void CheckSetting(string where, string name, string value, List<string> problems)
    {
        if (!Settings.TryGetValue(name, out var read))
        {
            problems.Add($"{where}: {name} is not a setting Automator reads");
            return;
        }

        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>(name.Replace("__", ":", StringComparison.Ordinal), value)])
            .Build();
        if (!string.Equals(read(configuration) ?? "", value, StringComparison.Ordinal))
        {
            problems.Add($"{where}: {name} = '{value}' reads back as '{read(configuration)}'");
        }
    }

    private void CheckReferences(List<string> problems)
    {
        var secrets = All<V1Secret>().ToDictionary(
            s => s.Metadata.Name,
            s => (s.StringData?.Keys ?? []).Concat(s.Data?.Keys ?? []).ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        var configMaps = All<V1ConfigMap>().ToDictionary(c => c.Metadata.Name, c => c.Data?.Keys.ToHashSet(StringComparer.Ordinal) ?? [], StringComparer.Ordinal);
        foreach (var (name, template) in Workloads())
        {
            foreach (var container in template.Spec.Containers)
            {
                foreach (var variable in container.Env ?? [])
                {
                    if (variable.ValueFrom?.SecretKeyRef is { } secret && !(secrets.TryGetValue(secret.Name, out var keys) && keys.Contains(secret.Key)))
                    {
                        problems.Add($"{name}/{container.Name}: {variable.Name} reads key '{secret.Key}' of Secret '{secret.Name}', which no manifest defines");
                    }

                    if (variable.ValueFrom?.ConfigMapKeyRef is { } config && !(configMaps.TryGetValue(config.Name, out var configKeys) && configKeys.Contains(config.Key)))
                    {
                        problems.Add($"{name}/{container.Name}: {variable.Name} reads key '{config.Key}' of ConfigMap '{config.Name}', which no manifest defines");
                    }
                }

                foreach (var source in container.EnvFrom ?? [])
                {
                    if (source.ConfigMapRef is { } map && !configMaps.ContainsKey(map.Name))
                    {
                        problems.Add($"{name}/{container.Name}: envFrom names ConfigMap '{map.Name}', which no manifest defines");
                    }
                }
            }
        }
    }

    private void CheckSharedSettings(List<string> problems)
    {
        if (All<V1ConfigMap>().FirstOrDefault(c => c.Metadata.Name == "automator-config") is not { } config)
        {
            problems.Add("no ConfigMap automator-config");
            return;
        }

        var data = config.Data ?? new Dictionary<string, string>();
        foreach (var (key, value) in data)
        {
            CheckSetting("automator-config", key, value, problems);
        }

        foreach (var required in RequiredSettings.Where(r => !data.ContainsKey(r)))
        {
            problems.Add($"automator-config: {required} is missing");
        }

        if (Get(data, "Automator__PublicBaseUrl") is { } url
            && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps || uri.IsLoopback || uri.Host == "localhost"))
        {
            problems.Add($"automator-config: Automator__PublicBaseUrl '{url}' is not a public https address");
        }
    }

    private void CheckNetworkPolicy(List<(string Name, V1PodTemplateSpec Template)> workloads, List<string> problems)
    {
        var silos = workloads.Where(w => w.Template.Spec.Containers.Any(c => (c.Ports ?? []).Any(p => Number(p.ContainerPort) is SiloPort or GatewayPort))).ToList();
        if (silos.Count == 0)
        {
            problems.Add($"no workload exposes the silo ({SiloPort}) and gateway ({GatewayPort}) ports");
        }

        foreach (var (name, template) in silos)
        {
            var labels = template.Metadata.Labels;
            var policies = All<V1NetworkPolicy>().Where(p => Selects(p.Spec.PodSelector, labels)).ToList();
            if (policies.Count == 0)
            {
                problems.Add($"{name}: no NetworkPolicy selects the silo pods");
                continue;
            }

            foreach (var port in new[] { SiloPort, GatewayPort })
            {
                var rules = policies.SelectMany(p => p.Spec.Ingress ?? []).Where(r => r.Ports is null || r.Ports.Any(p => p.Port is null || p.Port.ToString() == port)).ToList();
                if (rules.Count == 0)
                {
                    problems.Add($"{name}: no NetworkPolicy rule admits port {port} at all (the cluster could not form)");
                }

                foreach (var rule in rules)
                {
                    if (rule.FromProperty is not { Count: > 0 } from
                        || from.Any(peer => peer.IpBlock is not null || peer.NamespaceSelector is not null || Get(peer.PodSelector?.MatchLabels, PartOfLabel) != "automator"))
                    {
                        problems.Add($"{name}: port {port} is open to more than pods labelled {PartOfLabel}: automator");
                    }
                }
            }
        }
    }

    private void CheckRouting(List<(string Name, V1PodTemplateSpec Template)> workloads, List<string> problems)
    {
        var services = All<V1Service>().ToList();
        foreach (var service in services)
        {
            var targets = workloads.Where(w => Selects(service.Spec.Selector, w.Template.Metadata.Labels)).ToList();
            if (targets.Count == 0)
            {
                problems.Add($"Service {service.Metadata.Name} selects no workload's pods");
            }
        }

        foreach (var path in All<V1Ingress>().SelectMany(i => i.Spec.Rules ?? []).SelectMany(r => r.Http?.Paths ?? []))
        {
            if (services.All(s => s.Metadata.Name != path.Backend.Service?.Name))
            {
                problems.Add($"Ingress path {path.Path} goes to Service '{path.Backend.Service?.Name}', which no manifest defines");
            }
        }

        var names = workloads.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var hpa in All<V2HorizontalPodAutoscaler>().Where(h => !names.Contains(h.Spec.ScaleTargetRef.Name)))
        {
            problems.Add($"HorizontalPodAutoscaler {hpa.Metadata.Name} scales '{hpa.Spec.ScaleTargetRef.Name}', which no manifest defines");
        }

        foreach (var pdb in All<V1PodDisruptionBudget>().Where(p => !workloads.Any(w => Selects(p.Spec.Selector, w.Template.Metadata.Labels))))
        {
            problems.Add($"PodDisruptionBudget {pdb.Metadata.Name} selects no workload's pods");
        }
    }

    public static string ImageRepository(string image) => ImageName().Match(image) is { Success: true } m ? m.Groups["repository"].Value : image;

    private static bool Selects(V1LabelSelector? selector, IDictionary<string, string>? labels) =>
        selector?.MatchLabels is { Count: > 0 } wanted && Selects(wanted, labels);

    private static bool Selects(IDictionary<string, string>? wanted, IDictionary<string, string>? labels) =>
        wanted is { Count: > 0 } && labels is not null && wanted.All(w => labels.TryGetValue(w.Key, out var v) && v == w.Value);

    private static string? Get(IDictionary<string, string>? values, string key) => values is not null && values.TryGetValue(key, out var value) ? value : null;

    private static DeliveryOptions Delivery(IConfiguration configuration) => DeliveryOptions.FromConfiguration(configuration);

    private static Automator.WebApi.Webhooks.WebhookOptions Webhooks(IConfiguration configuration) => Automator.WebApi.Webhooks.WebhookOptions.FromConfiguration(configuration);

    private static T Bind<T>(IConfiguration configuration, string section)
        where T : new() => configuration.GetSection(section).Get<T>() ?? new T();

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?:[^/]+/)*(?<repository>[^/:@]+)(?::[^@]+)?(?:@.+)?$")]
    private static partial Regex ImageName();
}
