using Automator.Dashboard.Live;
using Automator.Live;
using Microsoft.Extensions.Time.Testing;

namespace Automator.IntegrationTests.Live;

public sealed class LiveOutboxTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly LiveConnections _connections = new();
    private readonly Guid _organization = Guid.NewGuid();

    public LiveOutboxTests() => _connections.Add(_organization);

    [Fact]
    public void Never_more_than_ten_messages_per_organization_however_often_it_is_asked()
    {
        var outbox = new LiveOutbox(_time);
        var sent = new List<DateTimeOffset>();

        for (var i = 0; i < 300; i++)
        {
            outbox.Accept(Batch(workflows: 5, moves: 100), _connections);
            sent.AddRange(outbox.TakeDue(_connections).Select(_ => _time.GetUtcNow()));
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        var busiest = sent.Select(t => sent.Count(u => u >= t && u < t + TimeSpan.FromSeconds(1))).Max();
        Assert.Equal(10, busiest);
        Assert.InRange(sent.Count, 25, 30);
    }

    [Fact]
    public void Kinds_take_turns_and_pending_changes_merge_while_they_wait()
    {
        var outbox = new LiveOutbox(_time);
        outbox.Accept(Batch(workflows: 2, moves: 3), _connections);
        outbox.Accept(Batch(workflows: 2, moves: 3), _connections);
        outbox.Accept(new LiveBatch { Providers = [new ProviderStateChange { Name = "ses", State = "open" }] }, _connections);

        var messages = new List<OutgoingMessage>();
        for (var i = 0; i < 6; i++)
        {
            messages.AddRange(outbox.TakeDue(_connections));
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        Assert.Equal(["journeyMoved", "stats", "stats", "providerState", "sendRate"], messages.Select(m => m.Method));
        Assert.Equal(6 / LiveOutbox.RateWindow.TotalSeconds, Assert.IsType<SendRateMessage>(messages[4].Payload).ByProvider["sendgrid"]);
        Assert.Equal(6, Assert.IsType<JourneyMovedMessage[]>(messages[0].Payload).Length);
        var stats = Assert.IsType<StatsMessage>(messages[1].Payload);
        Assert.Equal(new StepCounts(6, 0), stats.Steps["to"]);
        Assert.Equal(new StepCounts(-6, 6), stats.Steps["from"]);
    }

    [Fact]
    public void Organizations_with_no_connection_here_get_nothing()
    {
        var outbox = new LiveOutbox(_time);
        var elsewhere = Guid.NewGuid();
        var batch = Batch(workflows: 1, moves: 1);
        batch.Organizations[0].OrganizationId = elsewhere;

        outbox.Accept(batch, _connections);

        Assert.Empty(outbox.TakeDue(_connections));
    }

    private LiveBatch Batch(int workflows, int moves) => new()
    {
        At = _time.GetUtcNow(),
        Organizations =
        [
            new OrganizationLiveBatch
            {
                OrganizationId = _organization,
                Moves = Enumerable.Range(0, moves).Select(i => new JourneyMove { WorkflowId = WorkflowId(i % workflows), JourneyId = "j" + i, FromStep = "from", ToStep = "to" }).ToList(),
                Steps = Enumerable.Range(0, workflows).SelectMany(w => new[]
                {
                    new StepDelta { WorkflowId = WorkflowId(w), StepId = "from", Waiting = -moves, Passed = moves },
                    new StepDelta { WorkflowId = WorkflowId(w), StepId = "to", Waiting = moves, Passed = 0 },
                }).ToList(),
                Sends = new Dictionary<string, int> { ["sendgrid"] = moves },
            },
        ],
    };

    private static Guid WorkflowId(int index) => new(index + 1, 0, 0, new byte[8]);
}
