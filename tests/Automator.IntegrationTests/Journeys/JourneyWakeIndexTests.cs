using Automator.Contacts;
using Automator.Wakeups;
using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Automator.Workflows;
using Npgsql;

namespace Automator.IntegrationTests.Journeys;

/// <summary>Real PostgreSQL: a waiting journey's due time is written with its state, and the wake shards wake it from there.</summary>
public sealed class JourneyWakeIndexTests
{
    private static async Task<(DateTimeOffset? DueAt, short? Shard, short ExpectedShard)> IndexRowAsync(string connectionString, string journeyKey)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT due_at, wake_shard, get_byte(sha256(convert_to(grain_id, 'UTF8')), 0)::smallint
            FROM journey_grain_state WHERE state_name = 'journey' AND grain_id = 'journey/' || $1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = journeyKey });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no stored state for journey {journeyKey}");
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0), reader.IsDBNull(1) ? null : reader.GetInt16(1), reader.GetInt16(2));
    }

    [Fact]
    public async Task Waiting_journey_has_its_due_time_in_the_wake_index_until_it_ends()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("wakeidx");
        await using var app = new AutomatorApp(connectionString, "wakeidx-" + Guid.NewGuid().ToString("N")[..6], new Dictionary<string, string?> { ["Automator:Journeys:SendStep"] = "log" });
        _ = app.Server;
        var organizationId = Guid.NewGuid();
        var workflowId = await JourneyDurabilityTests.CreateActiveWorkflowAsync(app.Grains, organizationId, JourneyDurabilityTests.DelayThenSend("P7D"));
        var contactId = Guid.NewGuid();
        var key = JourneyKey.Of(organizationId, workflowId, contactId);
        var journey = app.Grains.GetGrain<IJourneyGrain>(key);

        await JourneyDurabilityTests.TrackAsync(app.Grains, organizationId, contactId);
        var view = (await journey.GetAsync())!;
        var waiting = await IndexRowAsync(connectionString, key);

        Assert.Equal("waiting", view.Status);
        Assert.NotNull(waiting.DueAt);
        Assert.InRange((waiting.DueAt!.Value - view.DueAt!.Value).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        Assert.Equal(waiting.ExpectedShard, waiting.Shard);
        Assert.Equal(WakeSlots.Of("journey/" + key), waiting.Shard);

        await journey.EndAsync("erased");
        var ended = await IndexRowAsync(connectionString, key);

        Assert.Null(ended.DueAt);
        Assert.Null(ended.Shard);
    }

    [Fact]
    public async Task Deactivated_journey_is_woken_by_its_wake_shard()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("wakeshard");
        // No grain timer for waits over one second: the journey deactivates and only a wake shard can bring it back.
        await using var app = new AutomatorApp(connectionString, "wakeshard-" + Guid.NewGuid().ToString("N")[..6], new Dictionary<string, string?>
        {
            ["Automator:Journeys:SendStep"] = "log",
            ["Automator:Journeys:TimerWindow"] = "00:00:01",
        });
        _ = app.Server;
        var organizationId = Guid.NewGuid();
        var workflowId = await JourneyDurabilityTests.CreateActiveWorkflowAsync(app.Grains, organizationId, JourneyDurabilityTests.DelayThenSend("PT4S"));
        var contactId = Guid.NewGuid();
        var journeyId = JourneyKey.PublicId(workflowId, contactId);

        await JourneyDurabilityTests.TrackAsync(app.Grains, organizationId, contactId);

        await Eventually.WaitAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT count(*) FROM journey_sends WHERE journey_id = $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = journeyId });
            return (long)(await command.ExecuteScalarAsync())!;
        }, n => n >= 1, TimeSpan.FromSeconds(30), "the send after the wake shard woke the journey");
        var view = (await app.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId)).GetAsync())!;
        Assert.Equal("completed", view.Status);
        Assert.True(view.EndedAt >= view.EnteredAt!.Value.AddSeconds(4), "woken before the delay was over");
    }
}
