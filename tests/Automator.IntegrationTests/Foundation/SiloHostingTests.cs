using System.Net;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;
using Npgsql;

namespace Automator.IntegrationTests.Foundation;

public sealed class SiloHostingTests
{
    [Fact]
    public async Task Silo_starts_on_an_empty_database_and_applies_the_schema()
    {
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("empty");
        await using var app = new AutomatorApp(connectionString, "empty-" + Guid.NewGuid().ToString("N")[..6]);
        using var client = app.CreateClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var tables = await TablesAsync(connectionString);
        foreach (var expected in new[] { "orleansquery", "orleansmembershiptable", "orleansstorage", "orleansreminderstable", "organizations", "contacts", "email_sends", "workflows", "journey_events", "audit_log", "schema_migrations" })
        {
            Assert.Contains(expected, tables);
        }
    }

    [Fact]
    public async Task Migrations_run_twice_change_nothing()
    {
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("twice");

        var first = await SchemaMigrator.MigrateAsync(connectionString);
        var schemaAfterFirst = await SchemaFingerprintAsync(connectionString);
        var second = await SchemaMigrator.MigrateAsync(connectionString);
        var schemaAfterSecond = await SchemaFingerprintAsync(connectionString);

        Assert.Equal(SchemaMigrator.ScriptNames.Count, first.Count);
        Assert.Empty(second);
        Assert.Equal(schemaAfterFirst, schemaAfterSecond);
    }

    [Fact]
    public async Task Concurrent_starters_apply_each_migration_once()
    {
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("concurrent");

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SchemaMigrator.MigrateAsync(connectionString)));

        Assert.Equal(SchemaMigrator.ScriptNames.Count, runs.Sum(r => r.Count));
    }

    [Fact]
    public async Task Grain_state_survives_a_full_silo_restart()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("restart");
        var clusterId = "restart-" + Guid.NewGuid().ToString("N")[..6];
        var key = Guid.NewGuid().ToString("N");

        await using (var first = new AutomatorApp(connectionString, clusterId))
        {
            _ = first.Server;
            var probe = first.Grains.GetGrain<IProbeGrain>(key);
            await probe.IncrementAsync();
            await probe.IncrementAsync();
        }

        await using var second = new AutomatorApp(connectionString, clusterId);
        _ = second.Server;
        var snapshot = await second.Grains.GetGrain<IProbeGrain>(key).GetAsync();

        Assert.Equal(2, snapshot.Counter);
    }

    [Fact]
    public async Task Reminder_registered_before_a_restart_fires_after_it()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("reminder");
        var clusterId = "reminder-" + Guid.NewGuid().ToString("N")[..6];
        var key = Guid.NewGuid().ToString("N");

        await using (var first = new AutomatorApp(connectionString, clusterId))
        {
            _ = first.Server;
            await first.Grains.GetGrain<IProbeGrain>(key).ScheduleAsync(TimeSpan.FromSeconds(8));
            Assert.Equal(0, (await first.Grains.GetGrain<IProbeGrain>(key).GetAsync()).ReminderTicks);
        }

        await using var second = new AutomatorApp(connectionString, clusterId);
        _ = second.Server;
        var probe = second.Grains.GetGrain<IProbeGrain>(key);

        var snapshot = await Eventually.WaitAsync(probe.GetAsync, s => s.ReminderTicks >= 1, TimeSpan.FromSeconds(60), "the reminder to fire after the restart");

        Assert.True(snapshot.ReminderTicks >= 1);
    }

    [Fact]
    public async Task Two_silos_form_one_cluster_and_a_grain_call_from_either_reaches_the_same_activation()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("cluster");
        var clusterId = "pair-" + Guid.NewGuid().ToString("N")[..6];
        await using var a = new AutomatorApp(connectionString, clusterId);
        _ = a.Server;
        await using var b = new AutomatorApp(connectionString, clusterId);
        _ = b.Server;

        var hosts = await Eventually.WaitAsync(
            () => a.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true),
            h => h.Count == 2, TimeSpan.FromSeconds(60), "both silos to be active");
        var activations = new HashSet<string>();
        for (var i = 0; i < 10; i++)
        {
            var key = "shared-" + i;
            var fromA = await a.Grains.GetGrain<IProbeGrain>(key).GetAsync();
            var fromB = await b.Grains.GetGrain<IProbeGrain>(key).GetAsync();
            Assert.Equal(fromA.ActivationId, fromB.ActivationId);
            activations.Add(fromA.ActivationId);
        }

        Assert.Equal(2, hosts.Count);
        Assert.Equal(10, activations.Count);
        var rows = await ScalarAsync<long>(connectionString, $"SELECT count(*) FROM orleansmembershiptable WHERE deploymentid = '{clusterId}' AND status = 3");
        Assert.Equal(2, rows);
    }

    [Fact]
    public async Task Reminders_range_read_uses_the_grain_hash_index()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("explain");
        await ExecuteAsync(connectionString, """
            INSERT INTO orleansreminderstable (serviceid, grainid, remindername, starttime, period, grainhash, version)
            SELECT 'svc-' || (g % 20), 'grain-' || g, 'r', now(), 60000, (g * 2654435761) % 2147483647, 0
            FROM generate_series(1, 20000) AS g;
            ANALYZE orleansreminderstable;
            """);

        var plan = await PlanAsync(connectionString, "SELECT grainid, remindername, starttime, period, version FROM orleansreminderstable WHERE serviceid = 'svc-3' AND grainhash > 100000 AND grainhash <= 5000000");

        Assert.Contains("ix_orleansreminderstable_serviceid_grainhash", plan, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Development_mode_starts_with_no_database()
    {
        await using var app = new AutomatorApp(connectionString: null, "dev-" + Guid.NewGuid().ToString("N")[..6]);
        using var client = app.CreateClient();

        var live = await client.GetAsync("/health/live");
        var ready = await client.GetAsync("/health/ready");
        var count = await app.Grains.GetGrain<IProbeGrain>("dev").IncrementAsync();

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(1, count);
    }

    [Fact]
    public async Task Operations_endpoints_answer()
    {
        await using var app = new AutomatorApp(connectionString: null, "ops-" + Guid.NewGuid().ToString("N")[..6]);
        using var client = app.CreateClient();

        var openApi = await client.GetStringAsync("/openapi/v1.json");
        var metrics = await client.GetAsync("/metrics");

        Assert.Contains("\"openapi\"", openApi, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    private static async Task<HashSet<string>> TablesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT lower(table_name) FROM information_schema.tables WHERE table_schema = 'public'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var tables = new HashSet<string>();
        while (await reader.ReadAsync())
        {
            tables.Add(reader.GetString(0));
        }

        return tables;
    }

    private static async Task<string> SchemaFingerprintAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, column_name)
              || '|' || (SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public')
              || '|' || (SELECT count(*) FROM orleansquery)
              || '|' || (SELECT count(*) FROM schema_migrations)
            FROM information_schema.columns WHERE table_schema = 'public'
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> PlanAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("EXPLAIN " + sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
