using Microsoft.Extensions.DependencyInjection;
using Automator.Infrastructure.Database;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Automator.IntegrationTests.Infrastructure;

/// <summary>
/// The whole system (silo + WebApi + Dashboard) in-process on a test server. Each instance takes its own silo
/// and gateway ports, so several can run at once, or join the same cluster when given the same database.
/// </summary>
public sealed class AutomatorApp : WebApplicationFactory<Program>
{
    /// <summary>The contact field key every test host runs with (silos of one cluster must share it).</summary>
    public const string EncryptionKeyId = "test1";
    public const string EncryptionKey = "kCc6tCoSS4SR0+2TSy7x34EFp0RVcnaznFc3XGpuJlY=";

    private readonly Dictionary<string, string?> _settings;

    public AutomatorApp(string? connectionString, string clusterId = "test", IDictionary<string, string?>? settings = null)
    {
        ConnectionString = connectionString;
        SiloPort = LocalPostgresServer.FreePort();
        GatewayPort = LocalPostgresServer.FreePort();
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Orleans:SiloPort"] = SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = clusterId,
            ["Automator:Orleans:ServiceId"] = clusterId,
            ["Automator:Orleans:MinimumReminderPeriod"] = "00:00:05",
            ["Automator:Outbox:Path"] = Path.Combine(Path.GetTempPath(), "automator-outbox-" + Guid.NewGuid().ToString("N")[..8]),
            ["Automator:Jwt:SigningKey"] = "integration-tests-signing-key-0123456789abcdef0123456789",
            [$"Automator:Encryption:Keys:{EncryptionKeyId}"] = EncryptionKey,
            ["Automator:Encryption:ActiveKey"] = EncryptionKeyId,
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string? ConnectionString { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public IGrainFactory Grains => Services.GetRequiredService<IGrainFactory>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}
