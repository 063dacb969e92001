using Automator.Live;

namespace Automator.Dashboard.Live;

/// <summary>
/// Coalesces live batches per organization and releases at most one message per organization per tick, so a
/// dashboard's message rate is bounded by the tick rate however busy the engine is. Pending data merges while
/// it waits (moves into one array, step changes summed, provider states and send rates replaced), and the kinds
/// of message take turns so none starves.
/// </summary>
public sealed class LiveOutbox(TimeProvider time)
{
    /// <summary>Span over which send and event rates are averaged.</summary>
    public static readonly TimeSpan RateWindow = TimeSpan.FromSeconds(5);

    /// <summary>Hard cap per organization group within <see cref="CapWindow"/>, whatever the tick does.</summary>
    public const int MaxMessagesPerSecond = 10;

    /// <summary>A little over a second, so delivery jitter cannot put an eleventh message into a client's second.</summary>
    public static readonly TimeSpan CapWindow = TimeSpan.FromMilliseconds(1100);

    private static readonly TimeSpan RateInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, Organization> _organizations = [];

    public void Accept(LiveBatch batch, LiveConnections connections)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            foreach (var part in batch.Organizations)
            {
                if (connections.IsConnected(part.OrganizationId))
                {
                    For(part.OrganizationId).Accept(part, now);
                }
            }

            foreach (var provider in batch.Providers)
            {
                var targets = provider.OrganizationId is { } organizationId ? [organizationId] : connections.Organizations();
                foreach (var target in targets.Where(connections.IsConnected))
                {
                    For(target).Provider(provider);
                }
            }
        }
    }

    /// <summary>At most one message per organization with something pending.</summary>
    public List<OutgoingMessage> TakeDue(LiveConnections connections)
    {
        var now = time.GetUtcNow();
        var due = new List<OutgoingMessage>();
        lock (_lock)
        {
            foreach (var (organizationId, organization) in _organizations.ToList())
            {
                if (!connections.IsConnected(organizationId))
                {
                    _organizations.Remove(organizationId);
                    continue;
                }

                if (organization.Next(now) is { } message)
                {
                    due.Add(new OutgoingMessage(organizationId, message.Method, message.Payload));
                }
            }
        }

        return due;
    }

    private Organization For(Guid organizationId)
    {
        if (!_organizations.TryGetValue(organizationId, out var organization))
        {
            organization = new Organization();
            _organizations[organizationId] = organization;
        }

        return organization;
    }

    private enum Kind
    {
        Moves,
        Stats,
        Provider,
        Rate,
    }

    private readonly record struct Key(Kind Kind, Guid WorkflowId, string Name);

    private sealed class Organization
    {
        private readonly Queue<Key> _turns = new();
        private readonly Queue<DateTimeOffset> _sent = new();
        private readonly HashSet<Key> _queued = [];
        private readonly Queue<JourneyMovedMessage> _moves = new();
        private readonly Dictionary<Guid, Dictionary<string, StepCounts>> _stats = [];
        private readonly Dictionary<string, ProviderStateChange> _providers = [];
        private readonly Queue<(DateTimeOffset At, Dictionary<string, int> Sends, int Events)> _rates = new();
        private DateTimeOffset _lastRate = DateTimeOffset.MinValue;
        private bool _rateWasZero = true;

        public void Accept(OrganizationLiveBatch batch, DateTimeOffset now)
        {
            foreach (var move in batch.Moves)
            {
                if (_moves.Count == LiveLimits.MovesPerBatch)
                {
                    _moves.Dequeue();
                }

                _moves.Enqueue(new JourneyMovedMessage(move.WorkflowId, move.JourneyId, move.ContactId, move.FromStep, move.ToStep, move.At));
            }

            if (batch.Moves.Count > 0)
            {
                Enqueue(new Key(Kind.Moves, Guid.Empty, ""));
            }

            foreach (var step in batch.Steps)
            {
                if (!_stats.TryGetValue(step.WorkflowId, out var steps))
                {
                    steps = [];
                    _stats[step.WorkflowId] = steps;
                }

                var current = steps.GetValueOrDefault(step.StepId) ?? new StepCounts(0, 0);
                steps[step.StepId] = new StepCounts(current.Waiting + step.Waiting, current.Passed + step.Passed);
                Enqueue(new Key(Kind.Stats, step.WorkflowId, ""));
            }

            if (batch.Sends.Count > 0 || batch.Events > 0)
            {
                _rates.Enqueue((now, new Dictionary<string, int>(batch.Sends), batch.Events));
            }
        }

        public void Provider(ProviderStateChange change)
        {
            _providers[change.Name] = change;
            Enqueue(new Key(Kind.Provider, Guid.Empty, change.Name));
        }

        public (string Method, object Payload)? Next(DateTimeOffset now)
        {
            ScheduleRate(now);
            while (_sent.TryPeek(out var oldest) && now - oldest >= CapWindow)
            {
                _sent.Dequeue();
            }

            if (_sent.Count >= MaxMessagesPerSecond)
            {
                return null;
            }

            while (_turns.TryDequeue(out var key))
            {
                _queued.Remove(key);
                if (Build(key, now) is { } message)
                {
                    _sent.Enqueue(now);
                    return message;
                }
            }

            return null;
        }

        private void ScheduleRate(DateTimeOffset now)
        {
            while (_rates.TryPeek(out var oldest) && now - oldest.At > RateWindow)
            {
                _rates.Dequeue();
            }

            // Rates are refreshed once a second while there is traffic, plus once more to report the drop to zero.
            if (now - _lastRate >= RateInterval && (_rates.Count > 0 || !_rateWasZero))
            {
                _lastRate = now;
                Enqueue(new Key(Kind.Rate, Guid.Empty, ""));
            }
        }

        private (string Method, object Payload)? Build(Key key, DateTimeOffset now)
        {
            switch (key.Kind)
            {
                case Kind.Moves when _moves.Count > 0:
                    var moves = _moves.ToArray();
                    _moves.Clear();
                    return (LiveMessages.JourneyMoved, moves);
                case Kind.Stats when _stats.Remove(key.WorkflowId, out var steps):
                    return (LiveMessages.Stats, new StatsMessage(key.WorkflowId, steps));
                case Kind.Provider when _providers.Remove(key.Name, out var change):
                    return (LiveMessages.ProviderState, new ProviderStateMessage(change.Name, change.State, change.At));
                case Kind.Rate:
                    var seconds = RateWindow.TotalSeconds;
                    var byProvider = new Dictionary<string, double>();
                    var events = 0;
                    foreach (var sample in _rates)
                    {
                        events += sample.Events;
                        foreach (var (provider, count) in sample.Sends)
                        {
                            byProvider[provider] = byProvider.GetValueOrDefault(provider) + count;
                        }
                    }

                    foreach (var provider in byProvider.Keys.ToList())
                    {
                        byProvider[provider] /= seconds;
                    }

                    var total = byProvider.Values.Sum();
                    _rateWasZero = total == 0 && events == 0;
                    return (LiveMessages.SendRate, new SendRateMessage(total, byProvider, events / seconds));
                default:
                    return null;
            }
        }

        private void Enqueue(Key key)
        {
            if (_queued.Add(key))
            {
                _turns.Enqueue(key);
            }
        }
    }
}
