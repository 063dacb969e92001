using Automator.WebApi.Hosting;
using Orleans.Configuration;

namespace Automator.WebApi;

/// <summary>Runs the HTTP API as its own process, joining the silo cluster as an Orleans client.</summary>
public static class WebApiHost
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.UseAutomatorClusterClient();
        builder.AddWebApi();
        builder.AddAutomatorTelemetry();
        var app = builder.Build();
        app.MapHealthChecks("/health/live");
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapWebApi();
        await app.RunAsync();
    }

    /// <summary>Joins the cluster through PostgreSQL membership (or a localhost gateway without a database).</summary>
    public static WebApplicationBuilder UseAutomatorClusterClient(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Postgres");
        var clusterId = builder.Configuration["Automator:Orleans:ClusterId"] ?? "automator";
        var serviceId = builder.Configuration["Automator:Orleans:ServiceId"] ?? "automator";
        var gatewayPort = int.TryParse(builder.Configuration["Automator:Orleans:GatewayPort"], out var port) ? port : 30000;
        var tls = ClusterTlsOptions.From(builder.Configuration);
        builder.Services.AddHealthChecks();
        builder.UseOrleansClient(client =>
        {
            client.AddActivityPropagation();
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                client.UseLocalhostClustering(gatewayPort, serviceId, clusterId);
            }
            else
            {
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = "Npgsql";
                    o.ConnectionString = connectionString;
                });
            }

            if (tls.Enabled)
            {
                var certificate = ClusterTls.LoadCertificate(tls);
                client.UseTls(o => ClusterTls.Configure(o, certificate, tls));
            }
        });
        return builder;
    }
}
