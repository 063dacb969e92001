using Automator.Infrastructure.Database;

namespace Automator.IntegrationTests.Infrastructure;

/// <summary>
/// One throwaway PostgreSQL server per test run (started from Debian's binaries on a free port, stopped at
/// process exit); every test class gets its own database on it.
/// </summary>
public static class SharedPostgres
{
    private static readonly Lazy<Task<LocalPostgresServer>> Server = new(StartAsync);

    public static Task<LocalPostgresServer> GetAsync() => Server.Value;

    private static async Task<LocalPostgresServer> StartAsync()
    {
        var server = await LocalPostgresServer.StartThrowawayAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();

        // test.sh stops every cluster listed here once the run ends, in case the exit handler above never ran.
        if (Environment.GetEnvironmentVariable("AUTOMATOR_TEST_CLUSTERS") is { Length: > 0 } registry)
        {
            await File.AppendAllLinesAsync(registry, [server.DataDirectory]);
        }

        return server;
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public static async Task<string> CreateEmptyDatabaseAsync(string prefix = "t")
    {
        var server = await GetAsync();
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];
        await server.CreateDatabaseAsync(name);
        return server.ConnectionString(name);
    }

    /// <summary>Creates a fresh database migrated by the project's own migrator.</summary>
    public static async Task<string> CreateMigratedDatabaseAsync(string prefix = "t")
    {
        var connectionString = await CreateEmptyDatabaseAsync(prefix);
        await SchemaMigrator.MigrateAsync(connectionString);
        return connectionString;
    }
}

/// <summary>A class fixture: a fresh migrated database for one test class.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync() => ConnectionString = await SharedPostgres.CreateMigratedDatabaseAsync();

    public Task DisposeAsync() => Task.CompletedTask;
}
