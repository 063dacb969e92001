using System.Diagnostics;
using Automator.Infrastructure.Database;
using Npgsql;

namespace Automator.Bench;

/// <summary>The machine's own PostgreSQL upsert rate, single-row and 100-row statements, for comparison.</summary>
public static class PostgresBaseline
{
    public static async Task RunAsync(string[] args)
    {
        await using var server = await LocalPostgresServer.StartThrowawayAsync();
        await server.CreateDatabaseAsync("bench");
        var (single, batched) = await MeasureAsync(server.ConnectionString("bench"), TimeSpan.FromSeconds(5));
        Console.WriteLine($"| PostgreSQL single-row upserts/s (8 connections) | {single:N0} |");
        Console.WriteLine($"| PostgreSQL rows/s in 100-row upserts (8 connections) | {batched:N0} |");
    }

    public static async Task<(double SinglePerSecond, double BatchedRowsPerSecond)> MeasureAsync(string connectionString, TimeSpan duration)
    {
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS bench_upserts (id bigint PRIMARY KEY, payload jsonb NOT NULL)", connection);
            await create.ExecuteNonQueryAsync();
        }

        var single = await RunWorkersAsync(connectionString, duration, 1);
        var batched = await RunWorkersAsync(connectionString, duration, 100);
        return (single, batched);
    }

    private static async Task<double> RunWorkersAsync(string connectionString, TimeSpan duration, int rowsPerStatement)
    {
        long total = 0;
        long nextId = rowsPerStatement * 10_000_000L;
        var stopwatch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            var values = string.Join(",", Enumerable.Range(0, rowsPerStatement).Select(i => $"(@id{i}, '{{\"n\":1}}'::jsonb)"));
            await using var command = new NpgsqlCommand($"INSERT INTO bench_upserts (id, payload) VALUES {values} ON CONFLICT (id) DO UPDATE SET payload = excluded.payload", connection);
            var parameters = Enumerable.Range(0, rowsPerStatement).Select(i => { var p = new NpgsqlParameter<long>($"id{i}", 0L); command.Parameters.Add(p); return p; }).ToArray();
            while (stopwatch.Elapsed < duration)
            {
                foreach (var p in parameters)
                {
                    p.TypedValue = Interlocked.Increment(ref nextId);
                }

                await command.ExecuteNonQueryAsync();
                Interlocked.Add(ref total, rowsPerStatement);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        return total / stopwatch.Elapsed.TotalSeconds;
    }
}
