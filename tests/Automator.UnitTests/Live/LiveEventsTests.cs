using Automator.Live;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Automator.UnitTests.Live;

public sealed class LiveEventsTests
{
    private readonly FakeTimeProvider _time = new();
    private readonly Guid _organization = Guid.NewGuid();
    private readonly Guid _workflow = Guid.NewGuid();

    [Fact]
    public void Nothing_recorded_means_no_batch()
    {
        var events = new LiveEvents(_time);

        Assert.Null(events.TakeBatch());
    }

    [Fact]
    public void Moves_become_step_changes_entries_and_exits_included()
    {
        var events = new LiveEvents(_time);

        events.JourneyMoved(_organization, _workflow, "j1", Guid.NewGuid(), null, "welcome", _time.GetUtcNow());
        events.JourneyMoved(_organization, _workflow, "j1", Guid.NewGuid(), "welcome", "wait", _time.GetUtcNow());
        events.JourneyMoved(_organization, _workflow, "j2", Guid.NewGuid(), null, "welcome", _time.GetUtcNow());
        events.JourneyMoved(_organization, _workflow, "j1", Guid.NewGuid(), "wait", null, _time.GetUtcNow());
        var batch = events.TakeBatch()!;

        var steps = Assert.Single(batch.Organizations).Steps.ToDictionary(s => s.StepId, s => (s.Waiting, s.Passed));
        Assert.Equal((1, 1), steps["welcome"]);
        Assert.Equal((0, 1), steps["wait"]);
        Assert.Equal(4, batch.Organizations[0].Moves.Count);
        Assert.Null(events.TakeBatch());
    }

    [Fact]
    public void Only_the_latest_moves_are_listed_but_every_move_is_counted()
    {
        var events = new LiveEvents(_time);
        const int total = LiveLimits.MovesPerBatch * 3 + 7;

        for (var i = 0; i < total; i++)
        {
            events.JourneyMoved(_organization, _workflow, "j" + i, Guid.NewGuid(), "a", "b", _time.GetUtcNow());
        }

        var part = Assert.Single(events.TakeBatch()!.Organizations);
        Assert.Equal(LiveLimits.MovesPerBatch, part.Moves.Count);
        Assert.Equal("j" + (total - 1), part.Moves[^1].JourneyId);
        Assert.Equal("j" + (total - LiveLimits.MovesPerBatch), part.Moves[0].JourneyId);
        Assert.Equal(total - LiveLimits.MovesPerBatch, part.DroppedMoves);
        Assert.Equal(total, part.Steps.Single(s => s.StepId == "a").Passed);
    }

    [Fact]
    public void Organizations_sends_events_and_provider_states_stay_apart()
    {
        var events = new LiveEvents(_time);
        var other = Guid.NewGuid();

        events.SendRecorded(_organization, "sendgrid");
        events.SendRecorded(_organization, "sendgrid");
        events.SendRecorded(other, "ses");
        events.EventsIngested(other, 5);
        events.ProviderStateChanged(null, "ses", "open");
        _time.Advance(TimeSpan.FromMilliseconds(100));
        var batch = events.TakeBatch()!;

        Assert.Equal(TimeSpan.FromMilliseconds(100), batch.Window);
        Assert.Equal(2, batch.Organizations.Single(o => o.OrganizationId == _organization).Sends["sendgrid"]);
        Assert.Equal(5, batch.Organizations.Single(o => o.OrganizationId == other).Events);
        Assert.False(batch.Organizations.Single(o => o.OrganizationId == other).Sends.ContainsKey("sendgrid"));
        var state = Assert.Single(batch.Providers);
        Assert.Null(state.OrganizationId);
        Assert.Equal("open", state.State);
    }
}
