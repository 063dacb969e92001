using Npgsql;

namespace Automator.Bench;

/// <summary>
/// <c>--statements</c>: the throwaway PostgreSQL loads pg_stat_statements, and a phase prints the statements that took
/// the most server time, with calls and rows, to show where a figure's database share goes.
/// </summary>
public static class StatementStats
{
    public static bool Requested(string[] args) => args.Contains("--statements");

    /// <summary>Call before the server starts: its extra options come from this variable.</summary>
    public static void EnableOnLocalServer() =>
        Environment.SetEnvironmentVariable(Automator.Infrastructure.Database.LocalPostgresServer.ExtraOptionsVariable, "-c shared_preload_libraries=pg_stat_statements");

    public static async Task ResetAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();");
        await command.ExecuteNonQueryAsync();
    }

    public static async Task PrintAsync(string connectionString, int top = 8)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(
            "SELECT calls, round(total_exec_time)::bigint, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1");
        command.Parameters.Add(new NpgsqlParameter { Value = top });
        await using var reader = await command.ExecuteReaderAsync();
        Console.WriteLine("calls | server ms | rows | statement");
        while (await reader.ReadAsync())
        {
            Console.WriteLine($"{reader.GetInt64(0)} | {reader.GetInt64(1)} | {reader.GetInt64(2)} | {reader.GetString(3)}");
        }
    }
}
