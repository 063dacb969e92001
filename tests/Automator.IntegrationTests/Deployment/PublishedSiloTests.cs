using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Automator.IntegrationTests.Deployment;

public sealed class PublishedSiloTests
{
    private const string JwtKey = "published-silo-signing-key-0123456789abcdef0123456789";

    [Fact]
    public async Task The_published_silo_starts_from_its_folder_in_production_serves_the_api_and_the_web_ui_takes_tls_clients_and_stops_gracefully()
    {
        var folder = await PublishedSilo.PublishFolderAsync();
        Assert.True(File.Exists(Path.Combine(folder, "Automator.Silo.dll")), "the publish folder has the silo");
        Assert.True(File.Exists(Path.Combine(folder, "Automator.WebApi.dll")) && File.Exists(Path.Combine(folder, "Automator.Dashboard.dll")), "and the front ends it co-hosts");
        Assert.NotEmpty(Directory.EnumerateFiles(folder, "index.html", SearchOption.AllDirectories));

        // An empty database: the published silo migrates the schema itself before it joins.
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("pub");
        var clusterId = "pub-" + Guid.NewGuid().ToString("N")[..8];
        var tls = WriteClusterCertificate();
        var gatewayPort = LocalPostgresServer.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = connectionString,
            ["Automator__Orleans__ClusterId"] = clusterId,
            ["Automator__Orleans__ServiceId"] = clusterId,
            ["Automator__Orleans__SiloPort"] = LocalPostgresServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Automator__Orleans__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Automator__PublicBaseUrl"] = "https://mail.example.test",
            ["Automator__Jwt__SigningKey"] = JwtKey,
            ["Automator__Encryption__Keys__k1"] = AutomatorApp.EncryptionKey,
            ["Automator__Encryption__ActiveKey"] = "k1",
            ["Automator__Outbox__Path"] = Path.Combine(tls.Directory, "outbox"),
            ["Automator__Cluster__Tls__CertificatePath"] = tls.CertificatePath,
            ["Automator__Cluster__Tls__KeyPath"] = tls.KeyPath,
        };

        await using var silo = await PublishedSilo.StartAsync(settings);
        using var http = new HttpClient { BaseAddress = silo.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        await silo.WaitReadyAsync(http, TimeSpan.FromSeconds(120));

        // The API: sign up, then an authenticated route that reads PostgreSQL.
        var signup = await http.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Published", email = $"owner-{Guid.NewGuid():N}@example.test", password = "a-long-enough-password-1" });
        Assert.True(signup.IsSuccessStatusCode, $"signup answered {signup.StatusCode}: {await signup.Content.ReadAsStringAsync()}");
        var token = (await signup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        using var workflows = new HttpRequestMessage(HttpMethod.Get, "/v1/workflows") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", token) } };
        var listed = await http.SendAsync(workflows);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/v1/workflows")).StatusCode);

        // The web UI and the metrics, from the published folder.
        Assert.Contains("<div id=\"root\">", await http.GetStringAsync("/"), StringComparison.Ordinal);
        Assert.Contains("# TYPE", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);

        // An Orleans client with the cluster's certificate reaches the silo over TLS on the gateway.
        await using (var client = await StartClientAsync(connectionString, clusterId, tls))
        {
            var hosts = await client.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            Assert.Single(hosts);
        }

        Assert.Equal(0, await silo.StopAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Cluster TLS on", silo.Output, StringComparison.Ordinal);
    }

    private static async Task<WebApplication> StartClientAsync(string connectionString, string clusterId, ClusterCertificate tls)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Orleans:ClusterId"] = clusterId,
            ["Automator:Orleans:ServiceId"] = clusterId,
            ["Automator:Cluster:Tls:CertificatePath"] = tls.CertificatePath,
            ["Automator:Cluster:Tls:KeyPath"] = tls.KeyPath,
        });
        builder.UseAutomatorClusterClient();
        var app = builder.Build();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return app;
    }

    private sealed record ClusterCertificate(string Directory, string CertificatePath, string KeyPath);

    /// <summary>A self-signed certificate in PEM files, as a Kubernetes TLS Secret mounts them (tls.crt, tls.key).</summary>
    private static ClusterCertificate WriteClusterCertificate()
    {
        var directory = Path.Combine(Path.GetTempPath(), "automator-tls-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=automator-cluster", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certificatePath = Path.Combine(directory, "tls.crt");
        var keyPath = Path.Combine(directory, "tls.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return new ClusterCertificate(directory, certificatePath, keyPath);
    }
}
