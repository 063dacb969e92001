using DbUp;
using DbUp.Engine.Output;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Infrastructure.Database;

/// <summary>
/// Applies the project's versioned SQL migrations (Orleans' ADO.NET tables and the application tables) with DbUp.
/// The same code path runs in production, under <c>dotnet run</c> and in tests. Concurrent starters are
/// serialized with an advisory lock so that several silos can boot against an empty database at once.
/// </summary>
public static class SchemaMigrator
{
    private const long MigrationLockKey = 0x4175746f6d61746f; // "Automato"
    private const string ScriptPrefix = "Automator.Infrastructure.Database.Migrations.";

    public static IReadOnlyList<string> ScriptNames { get; } = typeof(SchemaMigrator).Assembly
        .GetManifestResourceNames()
        .Where(n => n.StartsWith(ScriptPrefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <returns>The names of the scripts applied by this call (empty when the schema was already current).</returns>
    public static async Task<IReadOnlyList<string>> MigrateAsync(string connectionString, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        await using var lockConnection = new NpgsqlConnection(connectionString);
        await lockConnection.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationLockKey})", lockConnection))
        {
            await take.ExecuteNonQueryAsync(cancellationToken);
        }

        try
        {
            var upgrader = DeployChanges.To
                .PostgresqlDatabase(connectionString)
                .WithScriptsEmbeddedInAssembly(typeof(SchemaMigrator).Assembly, name => name.StartsWith(ScriptPrefix, StringComparison.Ordinal))
                .WithTransactionPerScript()
                .WithVariablesDisabled()
                .JournalToPostgresqlTable("public", "schema_migrations")
                .LogTo(new MigrationLog(logger))
                .Build();
            var result = upgrader.PerformUpgrade();
            if (!result.Successful)
            {
                throw new InvalidOperationException($"Schema migration failed in {result.ErrorScript?.Name}: {result.Error.Message}", result.Error);
            }

            return result.Scripts.Select(s => s.Name).ToArray();
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({MigrationLockKey})", lockConnection);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private sealed class MigrationLog(ILogger? logger) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => logger?.LogTrace(format, args);

        public void LogDebug(string format, params object[] args) => logger?.LogDebug(format, args);

        public void LogInformation(string format, params object[] args) => logger?.LogInformation(format, args);

        public void LogWarning(string format, params object[] args) => logger?.LogWarning(format, args);

        public void LogError(string format, params object[] args) => logger?.LogError(format, args);

        public void LogError(Exception ex, string format, params object[] args) => logger?.LogError(ex, format, args);
    }
}
