namespace Automator.Live;

/// <summary>
/// The in-memory side of <see cref="ILiveEvents"/>: a short critical section per call that only adds to
/// counters and a bounded list; <see cref="TakeBatch"/> swaps everything out for the flusher.
/// </summary>
public sealed class LiveEvents(TimeProvider time) : ILiveEvents
{
    private readonly Lock _lock = new();
    private Dictionary<Guid, Pending> _pending = [];
    private List<ProviderStateChange> _providers = [];
    private DateTimeOffset _windowStart = time.GetUtcNow();
    private long _moves;

    /// <summary>Moves recorded since this process started (for the benchmark).</summary>
    public long TotalMoves => Interlocked.Read(ref _moves);

    public void JourneyMoved(Guid organizationId, Guid workflowId, string journeyId, Guid contactId, string? fromStep, string? toStep, DateTimeOffset at)
    {
        Interlocked.Increment(ref _moves);
        lock (_lock)
        {
            var pending = For(organizationId);
            if (fromStep is not null)
            {
                pending.Step(workflowId, fromStep, waiting: -1, passed: 1);
            }

            if (toStep is not null)
            {
                pending.Step(workflowId, toStep, waiting: 1, passed: 0);
            }

            pending.AddMove(new Move(workflowId, journeyId, contactId, fromStep, toStep, at));
        }
    }

    public void ProviderStateChanged(Guid? organizationId, string provider, string state)
    {
        var change = new ProviderStateChange { OrganizationId = organizationId, Name = provider, State = state, At = time.GetUtcNow() };
        lock (_lock)
        {
            _providers.Add(change);
        }
    }

    public void SendRecorded(Guid organizationId, string provider)
    {
        lock (_lock)
        {
            var sends = For(organizationId).Sends;
            sends[provider] = sends.GetValueOrDefault(provider) + 1;
        }
    }

    public void EventsIngested(Guid organizationId, int count = 1)
    {
        lock (_lock)
        {
            For(organizationId).Events += count;
        }
    }

    /// <summary>Everything recorded since the previous call, or null when nothing was.</summary>
    public LiveBatch? TakeBatch()
    {
        Dictionary<Guid, Pending> pending;
        List<ProviderStateChange> providers;
        DateTimeOffset start;
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_pending.Count == 0 && _providers.Count == 0)
            {
                _windowStart = now;
                return null;
            }

            (pending, _pending) = (_pending, []);
            (providers, _providers) = (_providers, []);
            (start, _windowStart) = (_windowStart, now);
        }

        return new LiveBatch
        {
            At = now,
            Window = now - start,
            Providers = providers,
            Organizations = pending.Select(p => p.Value.ToBatch(p.Key)).ToList(),
        };
    }

    private Pending For(Guid organizationId)
    {
        if (!_pending.TryGetValue(organizationId, out var pending))
        {
            pending = new Pending();
            _pending[organizationId] = pending;
        }

        return pending;
    }

    private readonly record struct Move(Guid WorkflowId, string JourneyId, Guid ContactId, string? FromStep, string? ToStep, DateTimeOffset At);

    private sealed class Pending
    {
        // A ring of the latest moves: under load most moves are only counted, so they are never allocated as objects.
        private readonly Move[] _moves = new Move[LiveLimits.MovesPerBatch];
        private readonly Dictionary<(Guid Workflow, string Step), (int Waiting, int Passed)> _steps = [];
        private int _count;

        public Dictionary<string, int> Sends { get; } = [];

        public int Events { get; set; }

        public void AddMove(Move move) => _moves[_count++ % _moves.Length] = move;

        private List<JourneyMove> LatestMoves()
        {
            var kept = Math.Min(_count, _moves.Length);
            var list = new List<JourneyMove>(kept);
            for (var i = _count - kept; i < _count; i++)
            {
                var m = _moves[i % _moves.Length];
                list.Add(new JourneyMove { WorkflowId = m.WorkflowId, JourneyId = m.JourneyId, ContactId = m.ContactId, FromStep = m.FromStep, ToStep = m.ToStep, At = m.At });
            }

            return list;
        }

        public void Step(Guid workflowId, string stepId, int waiting, int passed)
        {
            var key = (workflowId, stepId);
            var (w, p) = _steps.GetValueOrDefault(key);
            _steps[key] = (w + waiting, p + passed);
        }

        public OrganizationLiveBatch ToBatch(Guid organizationId) => new()
        {
            OrganizationId = organizationId,
            Moves = LatestMoves(),
            DroppedMoves = Math.Max(0, _count - _moves.Length),
            Steps = _steps.Select(s => new StepDelta { WorkflowId = s.Key.Workflow, StepId = s.Key.Step, Waiting = s.Value.Waiting, Passed = s.Value.Passed }).ToList(),
            Sends = Sends,
            Events = Events,
        };
    }
}
