using Automator.Journeys;
using Automator.Wakeups;
using Orleans.Runtime;

namespace Automator.UnitTests.Wakeups;

public sealed class WakeIndexTests
{
    internal static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    internal static GrainId Journey() => GrainId.Create("journey", JourneyKey.Of(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(256)]
    public void Every_slot_is_owned_by_exactly_one_shard(int shards)
    {
        var owned = Enumerable.Range(0, shards).SelectMany(shard => WakeSlots.OwnedBy(shard, shards)).ToList();

        Assert.Equal(WakeSlots.Count, owned.Count);
        Assert.Equal(Enumerable.Range(0, WakeSlots.Count).Select(i => (short)i), owned.Order());
    }

    [Fact]
    public void A_grain_keeps_its_slot_and_grains_spread_over_all_slots()
    {
        var ids = Enumerable.Range(0, 20_000).Select(_ => Journey().ToString()).ToList();
        var slots = ids.Select(WakeSlots.Of).ToList();

        Assert.Equal(slots, ids.Select(WakeSlots.Of));
        Assert.All(slots, slot => Assert.InRange(slot, (short)0, (short)(WakeSlots.Count - 1)));
        var perSlot = slots.GroupBy(s => s).Select(g => g.Count()).ToList();
        Assert.Equal(WakeSlots.Count, perSlot.Count);
        Assert.InRange(perSlot.Max(), 0, 3 * ids.Count / WakeSlots.Count);
    }

    [Fact]
    public void Waiting_or_scheduled_journeys_expose_their_due_time_others_none()
    {
        var due = Now.AddDays(2);

        Assert.Equal(due, new JourneyState { Status = JourneyStatus.Waiting, DueAt = due }.WakeAt);
        Assert.Equal(due, new JourneyState { Status = JourneyStatus.Scheduled, DueAt = due }.WakeAt);
        Assert.Null(new JourneyState { Status = JourneyStatus.Completed, DueAt = due }.WakeAt);
        Assert.Null(new JourneyState { Status = JourneyStatus.Waiting, DueAt = null }.WakeAt);
    }

    [Fact]
    public async Task In_memory_index_returns_due_journeys_of_the_shards_slots_earliest_first()
    {
        var index = new InMemoryWakeups();
        var early = Journey();
        var late = Journey();
        var future = Journey();
        var ended = Journey();
        index.Schedule(late, Now.AddSeconds(-1));
        index.Schedule(early, Now.AddMinutes(-5));
        index.Schedule(future, Now.AddHours(1));
        index.Schedule(ended, Now.AddMinutes(-1));
        index.Cancel(ended);
        var all = Enumerable.Range(0, WakeSlots.Count).Select(i => (short)i).ToArray();

        var due = await index.DueAsync(all, Now, 10, CancellationToken.None);

        Assert.Equal([early, late], due.Select(d => d.Grain));
        var ownSlot = WakeSlots.Of(early.ToString());
        var other = await index.DueAsync(all.Where(s => s != ownSlot).ToArray(), Now, 10, CancellationToken.None);
        Assert.DoesNotContain(early, other.Select(d => d.Grain));
        Assert.Single(await index.DueAsync(all, Now, 1, CancellationToken.None));
    }

    [Fact]
    public void Unacknowledged_send_intents_bring_the_journey_back_before_its_due_time_and_after_it_ended()
    {
        var waiting = new JourneyState { Status = JourneyStatus.Waiting, DueAt = Now.AddDays(2) };
        var ended = new JourneyState { Status = JourneyStatus.Completed };
        Assert.Equal(Now.AddDays(2), waiting.WakeAt);
        Assert.Null(ended.WakeAt);

        foreach (var state in new[] { waiting, ended })
        {
            state.PendingSends.Add(new PendingSend { SendKey = "journey-1:welcome:1", StepId = "welcome" });
            state.PendingSendsRetryAt = Now.AddSeconds(30);
            Assert.Equal(Now.AddSeconds(30), state.WakeAt);

            state.PendingSends.Clear();
        }

        Assert.Equal(Now.AddDays(2), waiting.WakeAt);
        Assert.Null(ended.WakeAt);
    }

    [Fact]
    public void A_due_time_before_the_send_retry_wakes_first()
    {
        var state = new JourneyState { Status = JourneyStatus.Waiting, DueAt = Now.AddSeconds(5), PendingSendsRetryAt = Now.AddSeconds(30) };
        state.PendingSends.Add(new PendingSend { SendKey = "journey-1:welcome:1", StepId = "welcome" });

        Assert.Equal(Now.AddSeconds(5), state.WakeAt);
    }

    [Fact]
    public void Storage_writes_a_due_time_and_its_slot_only_for_state_that_waits()
    {
        var journey = Journey().ToString();
        var waiting = new JourneyState { Status = JourneyStatus.Waiting, DueAt = Now.AddDays(2) };

        Assert.Equal((Now.AddDays(2), WakeSlots.Of(journey)), WakeColumns.Of(journey, waiting));
        Assert.Equal((null, null), WakeColumns.Of(journey, new JourneyState { Status = JourneyStatus.Completed, DueAt = Now }));
        Assert.Equal((null, null), WakeColumns.Of(journey, new object()));
    }

    [Fact]
    public async Task Rescheduling_moves_a_grain_to_its_new_due_time()
    {
        var index = new InMemoryWakeups();
        var journey = Journey();
        var all = Enumerable.Range(0, WakeSlots.Count).Select(i => (short)i).ToArray();
        index.Schedule(journey, Now.AddMinutes(-1));

        index.Schedule(journey, Now.AddDays(1));

        Assert.Empty(await index.DueAsync(all, Now, 10, CancellationToken.None));
        Assert.Equal([new DueWakeup(journey, Now.AddDays(1))], await index.DueAsync(all, Now.AddDays(1), 10, CancellationToken.None));
    }
}
