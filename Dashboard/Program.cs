using Automator.WebApi;
using Automator.WebApi.Hosting;

namespace Automator.Dashboard;

/// <summary>Runs the dashboard (hub + web UI) as its own process, joining the silo cluster as an Orleans client.</summary>
public static class DashboardHost
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.UseAutomatorClusterClient();
        builder.AddLiveDashboard();
        builder.AddAutomatorTelemetry();
        var app = builder.Build();
        app.MapHealthChecks("/health/live");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapLiveDashboard();
        await app.RunAsync();
    }
}
