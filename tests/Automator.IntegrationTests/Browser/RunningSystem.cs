using System.Globalization;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;
using Automator.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// The whole system (silo + API + dashboard) on Kestrel at a real loopback port, on its own database of the
/// shared PostgreSQL, so a real browser can reach it (the test server of WebApplicationFactory cannot).
/// </summary>
public sealed class RunningSystem : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningSystem(WebApplication app, string baseUrl, string connectionString, string operatorEmail, string secondOperatorEmail, string outboxPath)
    {
        SecondOperatorEmail = secondOperatorEmail;
        _app = app;
        OutboxPath = outboxPath;
        BaseUrl = baseUrl;
        ConnectionString = connectionString;
        OperatorEmail = operatorEmail;
    }

    public string BaseUrl { get; }

    /// <summary>A platform operator's address: whoever signs up with it may pause and resume providers.</summary>
    public string OperatorEmail { get; }

    /// <summary>Another operator's address, for a test that signs up apart from the one using <see cref="OperatorEmail"/>.</summary>
    public string SecondOperatorEmail { get; }

    public string ConnectionString { get; }

    /// <summary>Where the outbox provider writes each email it sends (one .eml file per message).</summary>
    public string OutboxPath { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<RunningSystem> StartAsync()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("browser");
        var port = LocalPostgresServer.FreePort();
        var baseUrl = $"http://127.0.0.1:{port}";
        var clusterId = "browser-" + Guid.NewGuid().ToString("N")[..6];
        var operatorEmail = $"operator-{clusterId}@example.test";
        var secondOperatorEmail = $"operator2-{clusterId}@example.test";
        var outboxPath = Path.Combine(Path.GetTempPath(), "automator-outbox-" + clusterId);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Development,
            ApplicationName = typeof(SiloHostingExtensions).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Orleans:SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = clusterId,
            ["Automator:Orleans:ServiceId"] = clusterId,
            ["Automator:Orleans:MinimumReminderPeriod"] = "00:00:05",
            ["Automator:Outbox:Path"] = outboxPath,
            ["Automator:PublicBaseUrl"] = baseUrl,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Automator:Jwt:SigningKey"] = "browser-tests-signing-key-0123456789abcdef0123456789abcdef",
            [$"Automator:Encryption:Keys:{AutomatorApp.EncryptionKeyId}"] = AutomatorApp.EncryptionKey,
            ["Automator:Operators:Emails:0"] = operatorEmail,
            ["Automator:Operators:Emails:1"] = secondOperatorEmail,
        };
        builder.Configuration.AddInMemoryCollection(settings);
        builder.WebHost.UseUrls(baseUrl);
        await builder.AddAutomatorSiloAsync();
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return new RunningSystem(app, baseUrl, connectionString, operatorEmail, secondOperatorEmail, outboxPath);
    }

    public T GetRequiredService<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
