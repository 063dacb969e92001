using Automator.Contacts;
using Automator.Journeys;
using Automator.Wakeups;
using Automator.Workflows;

namespace Automator.GrainTests.Wakeups;

/// <summary>
/// Durable wake-ups through the running wake shards, on fake time: nothing here calls <see cref="IWakeableGrain.WakeAsync"/>
/// by hand. Each test waits for a control grain, due at the same time or earlier, to know that the shards have polled
/// past the moment it looks at, instead of sleeping.
/// </summary>
[Collection(WakeShardClusterCollection.Name)]
public sealed class WakeShardTests(WakeShardClusterFixture fixture)
{
    /// <summary>A new counting grain, its wake-up scheduled at <paramref name="at"/>.</summary>
    private (string Key, GrainId Id) Scheduled(DateTimeOffset at)
    {
        var key = Guid.NewGuid().ToString("N");
        var id = fixture.Grains.GetGrain<ICountingWakeableGrain>(key).GetGrainId();
        fixture.Wakeups.Schedule(id, at);
        return (key, id);
    }

    /// <summary>Leaves the index as a grain's write with no wake time would (so later tests see none of these).</summary>
    private void Cancel(params GrainId[] grains)
    {
        foreach (var grain in grains)
        {
            fixture.Wakeups.Cancel(grain);
        }
    }

    private Task WokenAsync(string key, int times = 1) =>
        WakeShardClusterFixture.WaitUntilAsync(() => fixture.Woken.Of(key) >= times, $"{key} woken {times} time(s)");

    [Fact]
    public async Task A_due_time_that_passes_is_found_by_a_shard_and_wakes_the_grain_once()
    {
        var now = fixture.Time.GetUtcNow();
        var (control, controlId) = Scheduled(now.AddSeconds(-1));
        var (waiting, waitingId) = Scheduled(now.AddHours(1));

        await WokenAsync(control);
        Assert.Equal(0, fixture.Woken.Of(waiting));

        // A grain that is woken writes its next wake time (here: none); left in the index, it would be woken again.
        Cancel(controlId);
        fixture.Time.Advance(TimeSpan.FromHours(1));
        await WokenAsync(waiting);

        // The grain leaves its due time in the index (it writes nothing), and the shards keep polling: later polls, told
        // by a second control grain, do not wake it again for the same due time.
        var (later, laterId) = Scheduled(fixture.Time.GetUtcNow());
        await WokenAsync(later);
        Assert.Equal(1, fixture.Woken.Of(waiting));
        Assert.Equal(1, fixture.Woken.Of(control));
        Cancel(waitingId, laterId);
    }

    [Fact]
    public async Task A_grain_still_due_after_its_wake_is_woken_again_only_after_the_redispatch_time()
    {
        var (waiting, waitingId) = Scheduled(fixture.Time.GetUtcNow());
        await WokenAsync(waiting);

        fixture.Time.Advance(WakeDispatchLog.DefaultRedispatchAfter / 2);
        var (control, controlId) = Scheduled(fixture.Time.GetUtcNow());
        await WokenAsync(control);
        Assert.Equal(1, fixture.Woken.Of(waiting));

        fixture.Time.Advance(WakeDispatchLog.DefaultRedispatchAfter);
        await WokenAsync(waiting, times: 2);
        Cancel(waitingId, controlId);
    }

    [Fact]
    public async Task A_cancelled_wake_up_never_wakes_the_grain()
    {
        var now = fixture.Time.GetUtcNow();
        var (cancelled, cancelledId) = Scheduled(now.AddMinutes(30));
        var (control, controlId) = Scheduled(now.AddMinutes(30));

        Cancel(cancelledId);
        fixture.Time.Advance(TimeSpan.FromHours(1));

        await WokenAsync(control);
        Assert.Equal(0, fixture.Woken.Of(cancelled));
        Cancel(controlId);
    }

    [Fact]
    public async Task A_rescheduled_grain_wakes_at_its_new_time_and_not_at_its_old_one()
    {
        var now = fixture.Time.GetUtcNow();
        var (moved, movedId) = Scheduled(now.AddHours(1));
        var (control, controlId) = Scheduled(now.AddHours(1));

        fixture.Wakeups.Schedule(movedId, now.AddHours(3));
        fixture.Time.Advance(TimeSpan.FromHours(1));
        await WokenAsync(control);
        Assert.Equal(0, fixture.Woken.Of(moved));

        fixture.Time.Advance(TimeSpan.FromHours(2));
        await WokenAsync(moved);
        Cancel(movedId, controlId);
    }

    [Fact]
    public async Task A_journey_waiting_on_a_delay_is_woken_by_its_shard_when_the_delay_passes_and_sends_once()
    {
        fixture.MoveToNextMonday10();
        var organizationId = Guid.NewGuid();
        var workflowId = Guid.NewGuid();
        var definition = WorkflowJson.ParseValid("""
            { "name": "Later", "trigger": { "type": "event", "event": "joined" }, "start": "wait",
              "steps": [ { "id": "wait", "type": "delay", "duration": "P1D", "next": "mail" }, { "id": "mail", "type": "send", "templateId": "t" } ] }
            """);
        var workflow = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId));
        Assert.Null((await workflow.CreateAsync(WorkflowJson.Serialize(definition), "event", definition.Name)).Error);
        Assert.Null((await workflow.ActivateAsync(null)).Error);
        var contactId = Guid.NewGuid();
        var contact = fixture.Grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId));
        await contact.UpdateProfileAsync(new ContactProfile { Email = $"{contactId:N}@example.test" });
        await contact.TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = "joined", PropertiesJson = "{}", OccurredAt = fixture.Time.GetUtcNow() });
        var journey = fixture.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId));
        var waiting = (await journey.GetAsync())!;
        Assert.Equal("waiting", waiting.Status);
        Assert.Empty(fixture.Sends.For(contactId));

        fixture.Time.Advance(TimeSpan.FromDays(1));
        await WakeShardClusterFixture.WaitUntilAsync(() => fixture.Sends.For(contactId).Count == 1, "the send after the shard woke the journey");

        // Later polls leave the finished journey alone: still one send, of entry 1.
        var (control, controlId) = Scheduled(fixture.Time.GetUtcNow());
        await WokenAsync(control);
        var done = (await journey.GetAsync())!;
        Assert.Equal("completed", done.Status);
        Assert.Equal(done.EnteredAt!.Value.AddDays(1), done.EndedAt);
        Assert.EndsWith(":mail:1", Assert.Single(fixture.Sends.For(contactId)).SendKey, StringComparison.Ordinal);
        Cancel(controlId);
    }
}
