using Automator.Infrastructure.Database;

namespace Automator.Silo;

/// <summary>Stops the PostgreSQL server that this process started for local use when the process stops.</summary>
internal sealed class LocalPostgresLifetime(LocalPostgresServer server, ILogger<LocalPostgresLifetime> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await server.StopAsync();
        logger.LogInformation("Local PostgreSQL stopped; its data stays in {DataDirectory}.", server.DataDirectory);
    }
}
