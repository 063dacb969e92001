using System.Net;
using Automator.Analytics;
using Automator.Dashboard;
using Automator.Infrastructure.Database;
using Automator.Infrastructure.Storage;
using Automator.Journeys;
using Automator.Wakeups;
using Automator.Hosting;
using Automator.WebApi.Http;
using Automator.Silo.Demo;
using Automator.WebApi;
using Automator.WebApi.Hosting;
using Automator.WebApi.Identity;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Automator.Silo;

public static class SiloHostingExtensions
{
    public const string PostgresConnectionName = "Postgres";
    private const string NpgsqlInvariant = "Npgsql";

    /// <summary>
    /// Configures the silo (durable on PostgreSQL when a connection string is set, in-memory otherwise), the
    /// services the grains need, and the co-hosted WebApi and Dashboard front ends.
    /// </summary>
    public static async Task<WebApplicationBuilder> AddAutomatorSiloAsync(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var siloOptions = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        var hosting = configuration.GetSection(HostingOptions.Section).Get<HostingOptions>() ?? new HostingOptions();
        var tls = ClusterTlsOptions.From(configuration);
        using var startupLoggerFactory = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true));
        var log = startupLoggerFactory.CreateLogger("Automator.Startup");

        await StartLocalPostgresIfConfiguredAsync(builder, log);
        var connectionString = configuration.GetConnectionString(PostgresConnectionName);
        var durable = !string.IsNullOrWhiteSpace(connectionString);

        if (durable)
        {
            var applied = await SchemaMigrator.MigrateAsync(connectionString!, log);
            log.LogInformation("Durable mode: PostgreSQL schema current ({Applied} migration(s) applied now).", applied.Count);
        }
        else
        {
            log.LogWarning("*** IN-MEMORY DEVELOPMENT MODE: ConnectionStrings__Postgres is not set. Nothing is durable: journeys, reminders and data are lost when this process stops. ***");
        }

        builder.Services.AddSingleton(new StorageMode(durable, connectionString));
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = siloOptions.ClusterId;
                o.ServiceId = siloOptions.ServiceId;
            });

            if (siloOptions.Kubernetes)
            {
                silo.UseKubernetesHosting();
            }
            else if (durable)
            {
                var address = string.IsNullOrWhiteSpace(siloOptions.AdvertisedIp) ? IPAddress.Loopback : IPAddress.Parse(siloOptions.AdvertisedIp);
                silo.ConfigureEndpoints(address, siloOptions.SiloPort, siloOptions.GatewayPort, listenOnAnyHostAddress: siloOptions.AdvertisedIp is not null);
            }

            if (durable)
            {
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = NpgsqlInvariant;
                    o.ConnectionString = connectionString;
                });
                silo.AddAdoNetGrainStorageAsDefault(o =>
                {
                    o.Invariant = NpgsqlInvariant;
                    o.ConnectionString = connectionString;
                    o.GrainStorageSerializer = new JsonGrainStateSerializer();
                });
                silo.UseAdoNetReminderService(o =>
                {
                    o.Invariant = NpgsqlInvariant;
                    o.ConnectionString = connectionString;
                });
            }
            else
            {
                silo.UseLocalhostClustering(siloOptions.SiloPort, siloOptions.GatewayPort, serviceId: siloOptions.ServiceId, clusterId: siloOptions.ClusterId);
                silo.AddMemoryGrainStorageAsDefault();
                silo.UseInMemoryReminderService();
            }

            if (durable)
            {
                silo.AddBatchedGrainStorage();
            }
            else
            {
                silo.AddMemoryGrainStorage(BatchedGrainStorage.Name);
            }

            if (tls.Enabled)
            {
                // Silo-to-silo and client-to-gateway connections: mutual TLS with the cluster's certificate.
                var certificate = ClusterTls.LoadCertificate(tls);
                silo.UseTls(o => ClusterTls.Configure(o, certificate, tls));
                log.LogInformation("Cluster TLS on: silo and gateway connections use the certificate {Subject}.", certificate.Subject);
            }

            // Grain calls carry the caller's trace context, so a request's spans continue through the grains it reaches.
            silo.AddActivityPropagation();
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = siloOptions.MinimumReminderPeriod);
            silo.AddWakeShards();
            // The trace page streams the silo's log, which names every organization's grains: off outside Development.
            var development = builder.Environment.IsDevelopment();
            silo.AddDashboard(o => o.HideTrace = !development);
        });

        builder.Services.AddAutomatorGrains(configuration);
        if (durable)
        {
            builder.Services.AddAnalyticsRollup(configuration);
        }

        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"])
            .AddCheck<ClusterHealthCheck>("cluster", tags: ["ready"]);
        builder.AddAutomatorTelemetry();

        if (hosting.WebApi)
        {
            builder.AddWebApi();
            var demo = configuration.GetSection(DemoOptions.Section).Get<DemoOptions>() ?? new DemoOptions();
            if (DevelopmentDefaults.DemoSeedProblem(demo.Seed, builder.Environment.IsDevelopment()) is { } problem)
            {
                throw new InvalidOperationException(problem);
            }

            if (demo.Seed && durable)
            {
                builder.Services.AddSingleton(demo);
                builder.Services.AddHostedService<DemoSeeder>();
            }
        }

        if (hosting.Dashboard)
        {
            builder.AddLiveDashboard();
        }

        // The Orleans dashboard's operator check needs the identity schemes even on a silo that hosts neither front end.
        if (!builder.Services.Any(d => d.ServiceType == typeof(AccessTokens)))
        {
            builder.Services.AddAutomatorIdentity(configuration);
        }

        return builder;
    }

    public static Task UseAutomatorSiloAsync(this WebApplication app)
    {
        var hosting = app.Configuration.GetSection(HostingOptions.Section).Get<HostingOptions>() ?? new HostingOptions();
        app.UseSecurityHeaders();
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready") });
        app.MapPrometheusScrapingEndpoint("/metrics");

        // The Orleans dashboard shows every grain, reminder and grain state of the cluster, across organizations: open in
        // Development only; elsewhere platform operators alone (operator key or an operator's access token).
        var orleansDashboard = app.MapOrleansDashboard("/orleans");
        if (!app.Environment.IsDevelopment())
        {
            orleansDashboard.RequireAuthorization(Operators.Policy);
        }

        if (hosting.WebApi)
        {
            app.MapWebApi();
        }

        if (hosting.Dashboard)
        {
            app.MapLiveDashboard();
        }

        return Task.CompletedTask;
    }

    private static async Task StartLocalPostgresIfConfiguredAsync(WebApplicationBuilder builder, ILogger log)
    {
        var options = builder.Configuration.GetSection(LocalPostgresOptions.Section).Get<LocalPostgresOptions>();
        if (string.IsNullOrWhiteSpace(options?.DataDirectory) || !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(PostgresConnectionName)))
        {
            return;
        }

        var server = await LocalPostgresServer.StartPersistentAsync(options.DataDirectory, options.Port);
        await server.CreateDatabaseAsync(options.Database);
        builder.Configuration[$"ConnectionStrings:{PostgresConnectionName}"] = server.ConnectionString(options.Database);
        builder.Services.AddSingleton(server);
        builder.Services.AddHostedService<LocalPostgresLifetime>();
        log.LogInformation("Local PostgreSQL running from {DataDirectory} on 127.0.0.1:{Port}.", server.DataDirectory, server.Port);
    }
}

/// <summary>Whether this silo keeps its state in PostgreSQL.</summary>
public sealed record StorageMode(bool Durable, string? ConnectionString);

internal sealed class PostgresHealthCheck(StorageMode mode) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!mode.Durable)
        {
            return HealthCheckResult.Healthy("in-memory mode");
        }

        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(mode.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new Npgsql.NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL unreachable", ex);
        }
    }
}

internal sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            return hosts.Count > 0 ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)") : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("cluster unreachable", ex);
        }
    }
}
