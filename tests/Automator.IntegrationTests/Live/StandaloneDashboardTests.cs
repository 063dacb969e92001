using System.Globalization;
using Automator.Dashboard;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;
using Automator.Live;
using Automator.WebApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Automator.IntegrationTests.Live;

/// <summary>The dashboard as its own process: an Orleans client that observes the silo's live registry.</summary>
public sealed class StandaloneDashboardTests
{
    private const string SigningKey = "integration-tests-signing-key-0123456789abcdef0123456789";

    [Fact]
    public async Task A_dashboard_running_as_a_cluster_client_relays_the_silos_live_events_and_subscribes_again_when_restarted()
    {
        var clusterId = "standalone-" + Guid.NewGuid().ToString("N")[..6];
        await using var silo = new AutomatorApp(connectionString: null, clusterId, new Dictionary<string, string?> { ["Automator:Hosting:Dashboard"] = "false" });
        _ = silo.Server;
        var registry = silo.Grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key);
        var events = silo.Services.GetRequiredService<ILiveEvents>();
        var tenant = await TestTenant.CreateAsync(silo);
        var workflowId = Guid.NewGuid();

        for (var run = 0; run < 2; run++)
        {
            await using var dashboard = await StartDashboardAsync(silo.GatewayPort, clusterId);
            await Eventually.WaitAsync(registry.GetSubscriberCountAsync, n => n >= 1, TimeSpan.FromSeconds(30), "the dashboard to subscribe");
            var received = 0;
            await using var connection = new HubConnectionBuilder()
                .WithUrl($"{dashboard.Urls.First()}/hubs/live", o =>
                {
                    o.Transports = HttpTransportType.WebSockets;
                    o.AccessTokenProvider = () => Task.FromResult<string?>(tenant.AccessToken);
                })
                .Build();
            connection.On<System.Text.Json.JsonElement>("journeyMoved", _ => Interlocked.Increment(ref received));
            await connection.StartAsync();

            await Eventually.WaitAsync(() =>
            {
                events.JourneyMoved(tenant.OrganizationId, workflowId, "j-" + run, Guid.NewGuid(), null, "welcome", DateTimeOffset.UtcNow);
                return Task.FromResult(Volatile.Read(ref received));
            }, n => n > 0, TimeSpan.FromSeconds(15), $"moves relayed through the standalone dashboard (run {run + 1})");

            await connection.StopAsync();
            await dashboard.StopAsync();
            if (run == 0)
            {
                await Eventually.WaitAsync(registry.GetSubscriberCountAsync, n => n == 0, TimeSpan.FromSeconds(10), "the stopped dashboard to unsubscribe");
            }
        }
    }

    private static async Task<WebApplication> StartDashboardAsync(int gatewayPort, string clusterId)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Development,
            ApplicationName = typeof(LiveDashboardExtensions).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Automator:Orleans:GatewayPort"] = gatewayPort.ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = clusterId,
            ["Automator:Orleans:ServiceId"] = clusterId,
            ["Automator:Jwt:SigningKey"] = SigningKey,
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{LocalPostgresServer.FreePort()}");
        builder.UseAutomatorClusterClient();
        builder.AddLiveDashboard();
        var app = builder.Build();
        app.MapLiveDashboard();
        await app.StartAsync();
        return app;
    }
}
