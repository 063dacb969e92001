using System.Diagnostics;
using System.Net.Http.Json;
using Automator.Contacts;
using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Automator.Workflows;
using Npgsql;

namespace Automator.IntegrationTests.Journeys;

/// <summary>Real PostgreSQL, real reminders, real silos: time-based steps survive restarts and the loss of a silo.</summary>
public sealed class JourneyDurabilityTests
{
    private static readonly Dictionary<string, string?> LogSends = new() { ["Automator:Journeys:SendStep"] = "log" };

    internal static string DelayThenSend(string duration) => $$"""
        { "name": "Delay {{duration}}", "trigger": { "type": "event", "event": "go" }, "start": "wait",
          "steps": [ { "id": "wait", "type": "delay", "duration": "{{duration}}", "next": "mail" }, { "id": "mail", "type": "send", "templateId": "{{Guid.NewGuid()}}" } ] }
        """;

    internal static async Task<Guid> CreateActiveWorkflowAsync(IGrainFactory grains, Guid organizationId, string json)
    {
        var id = Guid.NewGuid();
        var definition = WorkflowJson.ParseValid(json);
        var grain = grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, id));
        Assert.Null((await grain.CreateAsync(WorkflowJson.Serialize(definition), "event", definition.Name)).Error);
        Assert.Null((await grain.ActivateAsync(null)).Error);
        return id;
    }

    internal static Task TrackAsync(IGrainFactory grains, Guid organizationId, Guid contactId, string name = "go") =>
        grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId)).TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = name, Email = $"{contactId:N}@example.test", OccurredAt = DateTimeOffset.UtcNow });

    private static async Task<long> ScalarAsync(string connectionString, string sql, params object[] args)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task PT5S_delay_completes_within_6_seconds()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("pt5s");
        await using var app = new AutomatorApp(connectionString, "pt5s-" + Guid.NewGuid().ToString("N")[..6], LogSends);
        _ = app.Server;
        var organizationId = Guid.NewGuid();
        var workflowId = await CreateActiveWorkflowAsync(app.Grains, organizationId, DelayThenSend("PT5S"));
        var contactId = Guid.NewGuid();
        var journey = app.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId));

        var journeyId = JourneyKey.PublicId(workflowId, contactId);
        var clock = Stopwatch.StartNew();
        await TrackAsync(app.Grains, organizationId, contactId);
        await Eventually.WaitAsync(() => ScalarAsync(connectionString, "SELECT count(*) FROM journey_sends WHERE journey_id = $1", journeyId), n => n >= 1, TimeSpan.FromSeconds(10), "the send after the PT5S delay");
        var elapsed = clock.Elapsed;

        Assert.InRange(elapsed, TimeSpan.FromSeconds(4.9), TimeSpan.FromSeconds(6));
        Assert.Equal("completed", (await journey.GetAsync())!.Status);
    }

    [Fact]
    public async Task Journey_waiting_on_a_reminder_survives_a_full_silo_restart_and_completes()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("jrestart");
        var clusterId = "jrestart-" + Guid.NewGuid().ToString("N")[..6];
        var organizationId = Guid.NewGuid();
        var contactId = Guid.NewGuid();
        Guid workflowId;
        await using (var first = new AutomatorApp(connectionString, clusterId, LogSends))
        {
            _ = first.Server;
            workflowId = await CreateActiveWorkflowAsync(first.Grains, organizationId, DelayThenSend("PT12S"));
            await TrackAsync(first.Grains, organizationId, contactId);
            Assert.Equal("waiting", (await first.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId)).GetAsync())!.Status);
        }

        await using var second = new AutomatorApp(connectionString, clusterId, LogSends);
        _ = second.Server;
        var journey = second.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId));

        var journeyId = JourneyKey.PublicId(workflowId, contactId);
        await Eventually.WaitAsync(() => ScalarAsync(connectionString, "SELECT count(*) FROM journey_sends WHERE journey_id = $1", journeyId), n => n >= 1, TimeSpan.FromSeconds(90), "the send after the restart");

        Assert.Equal("completed", (await journey.GetAsync())!.Status);
        Assert.Equal(1, await ScalarAsync(connectionString, "SELECT count(*) FROM journey_sends WHERE journey_id = $1", journeyId));
    }

    [Fact]
    public async Task With_two_silos_one_killed_hard_1000_waiting_journeys_all_complete_once()
    {
        const int Journeys = 1000;
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("jkill");
        var clusterId = "jkill-" + Guid.NewGuid().ToString("N")[..6];
        await using var survivor = new AutomatorApp(connectionString, clusterId, LogSends);
        _ = survivor.Server;
        await using var victim = ExternalSilo.Start(connectionString, clusterId, new Dictionary<string, string> { ["Automator__Journeys__SendStep"] = "log" });
        await victim.WaitReadyAsync(TimeSpan.FromSeconds(90));
        await Eventually.WaitAsync(() => survivor.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true), h => h.Count == 2, TimeSpan.FromSeconds(60), "both silos to be active");

        // Placement learns of a new silo a moment after membership does: wait until fresh grains land on both silos.
        await Eventually.WaitAsync(async () =>
        {
            var probe = Guid.NewGuid();
            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => survivor.Grains.GetGrain<IContactGrain>(ContactKey.Of(probe, Guid.NewGuid())).GetActiveJourneysAsync()));
            var placed = await survivor.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
            return placed.Where(p => p.GrainType.Contains("ContactGrain", StringComparison.Ordinal) && p.ActivationCount > 0).Select(p => p.SiloAddress).Distinct().Count();
        }, silos => silos == 2, TimeSpan.FromSeconds(60), "new grains to be placed on both silos");

        var organizationId = Guid.NewGuid();
        var workflowId = await CreateActiveWorkflowAsync(survivor.Grains, organizationId, DelayThenSend("PT15S"));
        var contacts = Enumerable.Range(0, Journeys).Select(_ => Guid.NewGuid()).ToList();
        foreach (var chunk in contacts.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(c => TrackAsync(survivor.Grains, organizationId, c)));
        }

        // Every waiting journey's due time is in the wake index; reminders are per wake shard, not per journey.
        var indexed = await ScalarAsync(connectionString, "SELECT count(*) FROM journey_grain_state WHERE state_name = 'journey' AND due_at IS NOT NULL");
        Assert.True(indexed >= Journeys, $"expected {Journeys} journeys in the wake index, found {indexed}");
        var reminders = await ScalarAsync(connectionString, "SELECT count(*) FROM orleansreminderstable WHERE serviceid = $1", clusterId);
        Assert.InRange(reminders, 0, new JourneyOptions().WakeShards);

        var statistics = await survivor.Grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        var journeysPerSilo = statistics.Where(s => s.GrainType.Contains("JourneyGrain", StringComparison.Ordinal)).GroupBy(s => s.SiloAddress).Select(g => g.Sum(s => s.ActivationCount)).ToList();
        Assert.Equal(2, journeysPerSilo.Count(n => n > 0));

        victim.KillHard();

        await Eventually.WaitAsync(
            () => ScalarAsync(connectionString, "SELECT count(*) FROM journey_sends WHERE organization_id = $1", organizationId),
            n => n >= Journeys, TimeSpan.FromMinutes(4), "every journey to send");
        var grains = survivor.Grains;
        var statuses = await Task.WhenAll(contacts.Select(c => grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, c)).GetAsync()));
        Assert.All(statuses, s => Assert.Equal("completed", s!.Status));
        Assert.Equal(Journeys, await ScalarAsync(connectionString, "SELECT count(DISTINCT send_key) FROM journey_sends WHERE organization_id = $1", organizationId));
        Assert.Equal(Journeys, await ScalarAsync(connectionString, "SELECT count(DISTINCT journey_id) FROM journey_sends WHERE organization_id = $1", organizationId));
        Assert.Equal(0, await ScalarAsync(connectionString, "SELECT count(*) FROM journey_sends WHERE organization_id = $1 AND send_key NOT LIKE '%:mail:1'", organizationId));
    }
}
