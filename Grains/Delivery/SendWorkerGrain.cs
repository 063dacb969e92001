using Automator.Live;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Automator.Infrastructure.Telemetry;
using Automator.Delivery.Intake;
using Automator.Delivery.Providers;
using Automator.Delivery.SendLog;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Automator.Delivery;

/// <summary>A send recorded in the log and ready for a provider.</summary>
[GenerateSerializer, Alias("delivery.dispatch"), Immutable]
public sealed class Dispatch
{
    [Id(0)] public OutboundEmail Email { get; init; } = new();
    [Id(1)] public DateTimeOffset CreatedAt { get; init; }
    [Id(2)] public AmbiguousPolicy AmbiguousPolicy { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the work that asked for the send, so the provider call joins its trace.</summary>
    [Id(3)] public string? TraceParent { get; init; }
}

/// <summary>Per-silo sending worker: queues sends fairly, leases slots from provider grains, calls the providers.</summary>
public interface ISendWorkerGrain : IGrainWithIntegerKey
{
    Task EnqueueAsync(Dispatch dispatch);

    /// <summary>A batch of sends from the front door in one call.</summary>
    Task EnqueueManyAsync(IReadOnlyList<Dispatch> dispatches);
}

/// <summary>
/// Each activation keeps a fair-share queue, leases batches of send slots from the provider grain it routes to,
/// sends each message at its slot, and reports outcomes in batches: to the send log and to the provider grains.
/// </summary>
// Idle-worker removal is off: an activation holding queued or in-flight sends receives no calls while it drains, and
// removing it then would drop its queue.
[StatelessWorker(maxLocalWorkers: 4, removeIdleWorkers: false), Reentrant]
public sealed class SendWorkerGrain(
    ProviderRegistry providers,
    ISendLog sendLog,
    TimeProvider time,
    ILiveEvents live,
    IMeasurements measurements,
    ILogger<SendWorkerGrain> logger) : Grain, ISendWorkerGrain
{
    private const int MaxLease = 1000;
    private const int MaxInFlight = 4000;
    private static readonly Counter<long> Sends = AutomatorMeters.Meter.CreateCounter<long>("automator.delivery.sends", description: "Provider calls by provider and outcome");
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ViewLifetime = TimeSpan.FromMilliseconds(250);

    // How long before its slot a paced request starts: its headers go out and its sends are marked in flight, then the
    // body waits for the slot (see RequestStart).
    private static readonly TimeSpan MarkLead = TimeSpan.FromMilliseconds(50);
    private const int MaxForfeits = 5;

    // Slots closer than this are beyond timer precision: such rates are paced by the lease as a whole, never forfeited.
    private static readonly TimeSpan MinimumPacedInterval = TimeSpan.FromMilliseconds(1);

    private readonly FairShareQueue<Job> _queue = new();
    private readonly Dictionary<string, View> _views = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProviderReport> _reports = new(StringComparer.Ordinal);
    private List<SendOutcomeRecord> _outcomes = [];
    private List<Job> _retries = [];
    private IGrainTimer? _timer;
    private Coalescer<MarkRequest, IReadOnlySet<Guid>> _marks = null!;
    private int _inFlight;
    private bool _pumping;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Requests starting at about the same time (several slots, several worker activations' sends are separate)
        // share one statement that marks their sends in flight.
        _marks = new Coalescer<MarkRequest, IReadOnlySet<Guid>>(MarkBatchAsync, 1000, logger);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await _marks.DisposeAsync();

    public Task EnqueueAsync(Dispatch dispatch) => EnqueueManyAsync([dispatch]);

    public Task EnqueueManyAsync(IReadOnlyList<Dispatch> dispatches)
    {
        foreach (var dispatch in dispatches)
        {
            var job = new Job(dispatch.Email, new SendRef(dispatch.Email.SendId, dispatch.CreatedAt), dispatch.AmbiguousPolicy, dispatch.Email.Transactional)
            {
                TraceParent = dispatch.TraceParent,
            };
            _queue.Enqueue(job.Email.OrganizationId, job.Transactional, job);
        }

        _timer ??= this.RegisterGrainTimer(PumpAsync, new GrainTimerCreationOptions(TimeSpan.Zero, Tick) { Interleave = true, KeepAlive = true });
        return Task.CompletedTask;
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        if (_pumping)
        {
            return;
        }

        _pumping = true;
        try
        {
            await FlushAsync();
            var now = time.GetUtcNow();
            var due = _queue.CountDue(now);
            if (due == 0)
            {
                if (_queue.Count == 0 && _inFlight == 0 && _outcomes.Count == 0 && _retries.Count == 0 && _reports.Count == 0)
                {
                    _timer?.Dispose();
                    _timer = null;
                }

                return;
            }

            foreach (var route in FailoverPolicy.Routes(ViewOf(providers.Primary, now), providers.Secondary is { } s ? ViewOf(s, now) : null))
            {
                var room = MaxInFlight - _inFlight;
                if (due == 0 || room <= 0)
                {
                    break;
                }

                var requested = route.Probe ? 1 : Math.Min(Math.Min(due, MaxLease), room);
                var lease = await GrainFactory.GetGrain<IProviderGrain>(route.Provider).LeaseAsync(requested, route.Probe);
                Remember(route.Provider, lease, now);
                if (lease.Count == 0)
                {
                    continue;
                }

                var jobs = _queue.Take(lease.Count, time.GetUtcNow());
                ReturnSlots(route.Provider, lease.Day, lease.Count - jobs.Count);
                var paced = lease.Interval >= MinimumPacedInterval;
                // Paced slots go one by one, so the rate holds per message; unpaced ones with shared content go together.
                // Nothing is marked 'sending' here: each request marks its own sends when it starts.
                var maxBatch = !paced && providers.Get(route.Provider) is IBatchingEmailProvider batching ? batching.MaxBatch : 1;
                var slotted = jobs.Select((job, i) => (Job: job, Slot: lease.FirstSlot + (lease.Interval * i))).ToList();
                foreach (var group in PersonalizationBatches.Group(slotted, r => r.Job.Email.Shared?.Key, maxBatch))
                {
                    _inFlight += group.Count;
                    if (group.Count == 1)
                    {
                        var (job, at) = group[0];
                        _ = SendAsync(job, route.Provider, at, lease.Day, LateToleranceFor(lease.Interval), mayForfeit: paced && job.Forfeits < MaxForfeits);
                    }
                    else
                    {
                        _ = SendBatchAsync(group.Select(r => r.Job).ToArray(), route.Provider, group[^1].Slot, lease.Day);
                    }
                }

                due -= jobs.Count;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Send worker pump failed; it retries on the next tick.");
        }
        finally
        {
            _pumping = false;
        }
    }

    private async Task SendAsync(Job job, string providerName, DateTimeOffset slot, DateOnly leaseDay, TimeSpan lateTolerance, bool mayForfeit)
    {
        using var span = StartSendSpan(job.TraceParent, providerName, 1);
        var start = new RequestStart(ct => MarkAsync([job.Ref], providerName, ct), slot, mayForfeit ? lateTolerance : TimeSpan.MaxValue, time);
        ProviderOutcome? outcome;
        try
        {
            var provider = providers.Get(providerName);
            // Waiting for the slot, building the wire format and the HTTP exchange all run on the thread pool, so a busy
            // activation turn cannot delay a send past its slot and bunch it up with the next ones.
            outcome = await Task.Run(async () =>
            {
                // The request starts a little before its slot, so that marking it in flight is done when the slot comes
                // and its body leaves on the slot.
                var wait = slot - MarkLead - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time);
                }

                // A slot missed by more than the tolerance (a stalled process) is forfeited rather than sent late:
                // sending it now would bunch it with the next slots and exceed the provider's rate.
                if (mayForfeit && time.GetUtcNow() - slot > lateTolerance)
                {
                    return null;
                }

                var started = Stopwatch.GetTimestamp();
                using var current = RequestStart.Begin(start);
                if (!provider.MarksAtRequestStart)
                {
                    try
                    {
                        await start.BeforeBodyAsync(CancellationToken.None);
                    }
                    catch (RequestAbandonedException)
                    {
                        return null;
                    }
                }

                var answer = await provider.SendAsync(job.Email);
                measurements.ProviderCalled(providerName, Name(answer.Kind), Stopwatch.GetElapsedTime(started));
                return answer;
            });
        }
        catch (Exception ex)
        {
            outcome = ProviderOutcome.Transient(ex.GetType().Name + ": " + ex.Message);
        }

        _inFlight--;
        switch (start.State)
        {
            case RequestStartState.Refused:
                // Already sent, failed or unknown (a duplicate delivery of the same dispatch), taken over by another silo,
                // or its organization paused: never send again; the worker drops it.
                ReturnSlots(providerName, leaseDay, 1);
                return;
            case RequestStartState.MarkFailed:
                // Nothing was sent and the row is still queued: try again a little later.
                logger.LogError("Marking send {SendKey} as sending failed; it stays queued.", job.Email.SendKey);
                ReturnSlots(providerName, leaseDay, 1);
                job.NotBefore = time.GetUtcNow() + TimeSpan.FromSeconds(1);
                _retries.Add(job);
                return;
            case RequestStartState.Late:
                // Marked, but its body never left: back to queued, and a later slot.
                job.Forfeits++;
                ReturnSlots(providerName, leaseDay, 1);
                _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Queued, null, null, null, time.GetUtcNow()));
                _retries.Add(job);
                return;
            case RequestStartState.NotStarted when outcome is null:
                // Forfeited before the request started: the row never left 'queued'.
                job.Forfeits++;
                ReturnSlots(providerName, leaseDay, 1);
                _retries.Add(job);
                return;
        }

        Settle(job, providerName, NeverAmbiguousUnlessStarted(outcome!, start.State));
    }

    /// <summary>One request for messages sharing their content; its one answer settles every send in it.</summary>
    private async Task SendBatchAsync(IReadOnlyList<Job> jobs, string providerName, DateTimeOffset slot, DateOnly leaseDay)
    {
        using var span = StartSendSpan(jobs[0].TraceParent, providerName, jobs.Count);
        ProviderOutcome outcome;
        IReadOnlyList<Job> moved = [];
        var markFailed = false;
        try
        {
            var provider = (IBatchingEmailProvider)providers.Get(providerName);
            (outcome, moved, markFailed) = await Task.Run(async () =>
            {
                var wait = slot - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time);
                }

                // Marked in flight just before the request, all in one statement; only the sends that moved go in it.
                IReadOnlySet<Guid> marked;
                try
                {
                    marked = await _marks.SubmitAsync(new MarkRequest(jobs.Select(j => j.Ref).ToArray(), providerName));
                }
                catch (Exception)
                {
                    return (ProviderOutcome.Transient("marking failed"), (IReadOnlyList<Job>)[], true);
                }

                var going = jobs.Where(j => marked.Contains(j.Ref.Id)).ToArray();
                if (going.Length == 0)
                {
                    return (ProviderOutcome.Transient("nothing to send"), going, false);
                }

                var started = Stopwatch.GetTimestamp();
                var answer = await provider.SendBatchAsync(going.Select(j => j.Email).ToArray());
                measurements.ProviderCalled(providerName, Name(answer.Kind), Stopwatch.GetElapsedTime(started));
                return (answer, going, false);
            });
        }
        catch (Exception ex)
        {
            outcome = ProviderOutcome.Transient(ex.GetType().Name + ": " + ex.Message);
            moved = jobs;
        }

        _inFlight -= jobs.Count;
        ReturnSlots(providerName, leaseDay, jobs.Count - moved.Count);
        if (markFailed)
        {
            logger.LogError("Marking {Count} sends as sending failed; they stay queued.", jobs.Count);
            var later = time.GetUtcNow() + TimeSpan.FromSeconds(1);
            foreach (var job in jobs)
            {
                job.NotBefore = later;
                _retries.Add(job);
            }

            return;
        }

        foreach (var job in moved)
        {
            Settle(job, providerName, outcome);
        }
    }

    /// <summary>Marks sends in flight for a starting request; concurrent requests share one statement.</summary>
    private async Task<bool> MarkAsync(SendRef[] refs, string provider, CancellationToken cancellationToken)
    {
        var moved = await _marks.SubmitAsync(new MarkRequest(refs, provider)).WaitAsync(cancellationToken);
        return refs.All(r => moved.Contains(r.Id));
    }

    private async Task<IReadOnlyList<IReadOnlySet<Guid>>> MarkBatchAsync(IReadOnlyList<MarkRequest> requests)
    {
        var moved = new HashSet<Guid>();
        foreach (var byProvider in requests.GroupBy(r => r.Provider, StringComparer.Ordinal))
        {
            moved.UnionWith(await sendLog.MarkSendingAsync(byProvider.SelectMany(r => r.Refs).ToArray(), byProvider.Key));
        }

        return requests.Select(_ => (IReadOnlySet<Guid>)moved).ToArray();
    }

    /// <summary>
    /// A request whose body never left cannot have been accepted, whatever the client reports (a timeout while the
    /// mark was waiting, an abandoned body): it is retried as a transient failure, never settled as unknown.
    /// </summary>
    private static ProviderOutcome NeverAmbiguousUnlessStarted(ProviderOutcome outcome, RequestStartState state) =>
        outcome.Kind == OutcomeKind.Ambiguous && state != RequestStartState.InFlight
            ? ProviderOutcome.Transient(outcome.Error ?? "the request did not start")
            : outcome;

    /// <summary>
    /// How late a paced send may leave its slot: what keeps any one-second window at the provider within 1% over the rate
    /// (slots of the last <c>tolerance</c> before a window can land in it), between 1 ms and 10 ms.
    /// </summary>
    internal static TimeSpan LateToleranceFor(TimeSpan interval)
    {
        var tolerance = TimeSpan.FromMilliseconds(10) - interval;
        return tolerance < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : tolerance > TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : tolerance;
    }

    private void ReturnSlots(string provider, DateOnly leaseDay, int count) => Report(provider).Return(count, leaseDay);

    private void Settle(Job job, string providerName, ProviderOutcome outcome)
    {
        job.Attempts++;
        Sends.Add(1, new KeyValuePair<string, object?>("provider", providerName), new KeyValuePair<string, object?>("outcome", Name(outcome.Kind)));
        if (outcome.Kind == OutcomeKind.Accepted)
        {
            live.SendRecorded(job.Email.OrganizationId, providerName);
        }

        var report = Report(providerName);
        report.Outcomes.Add((int)outcome.Kind);
        if (outcome.Kind == OutcomeKind.Throttled)
        {
            report.Throttled++;
            if (outcome.RetryAfter is { } wait && (report.ThrottleRetryAfter is null || wait > report.ThrottleRetryAfter))
            {
                report.ThrottleRetryAfter = wait;
            }
        }

        var now = time.GetUtcNow();
        switch (FailoverPolicy.Decide(outcome, job.Attempts, job.Policy))
        {
            case SendDisposition.Done:
                measurements.SendSettled(job.Email.OrganizationId, providerName, "sent");
                _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Sent, providerName, outcome.MessageId, null, now));
                break;
            case SendDisposition.Fail:
                measurements.SendSettled(job.Email.OrganizationId, providerName, "failed");
                _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Failed, providerName, null, $"{providerName}: {outcome.Error}", now));
                break;
            case SendDisposition.Unknown:
                measurements.SendSettled(job.Email.OrganizationId, providerName, "unknown");
                logger.LogWarning("Send {SendKey} through {Provider} is ambiguous ({Error}); at-most-once: not resent.", job.Email.SendKey, providerName, outcome.Error);
                _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Unknown, providerName, null, $"{providerName}: {outcome.Error}", now));
                break;
            default:
                measurements.SendSettled(job.Email.OrganizationId, providerName, "retry");
                job.NotBefore = now + FailoverPolicy.RetryDelay(outcome, job.Attempts);
                _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Queued, providerName, null, $"{providerName}: {outcome.Error}", now));
                _retries.Add(job);
                break;
        }
    }

    /// <summary>Writes outcomes to the send log, then requeues retries (only once their row is back to queued), then reports.</summary>
    private async Task FlushAsync()
    {
        // Take both together: a retry may only be queued again once its row is back to 'queued', and sends completing
        // while this flush awaits add to the next batch, not to this one.
        var batch = _outcomes;
        var retries = _retries;
        _outcomes = [];
        _retries = [];
        if (batch.Count > 0)
        {
            try
            {
                await sendLog.RecordOutcomesAsync(batch);
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Recording {Count} send outcomes failed; retrying.", batch.Count);
                _outcomes.AddRange(batch);
                _retries.AddRange(retries);
                return;
            }
        }

        foreach (var job in retries)
        {
            _queue.Enqueue(job.Email.OrganizationId, job.Transactional, job, job.NotBefore);
        }

        foreach (var (name, report) in _reports.ToArray())
        {
            _reports.Remove(name);
            if (!report.IsEmpty)
            {
                await GrainFactory.GetGrain<IProviderGrain>(name).ReportAsync(report);
            }
        }
    }

    private ProviderReport Report(string provider)
    {
        if (!_reports.TryGetValue(provider, out var report))
        {
            report = new ProviderReport();
            _reports[provider] = report;
        }

        return report;
    }

    private ProviderView ViewOf(string provider, DateTimeOffset now)
    {
        if (!_views.TryGetValue(provider, out var view) || view.Until <= now)
        {
            // Stale: an open circuit has probably reached its half-open point; anything else, ask again.
            var assumed = view?.Circuit == CircuitPosition.Open ? CircuitPosition.HalfOpen : view?.Circuit == CircuitPosition.HalfOpen ? CircuitPosition.HalfOpen : CircuitPosition.Closed;
            return new ProviderView(provider, assumed, false);
        }

        return new ProviderView(provider, view.Circuit, view.Paused);
    }

    private void Remember(string provider, ProviderLease lease, DateTimeOffset now)
    {
        var circuit = lease.Circuit switch
        {
            ProviderCircuitState.Open => CircuitPosition.Open,
            ProviderCircuitState.HalfOpen => CircuitPosition.HalfOpen,
            _ => CircuitPosition.Closed,
        };
        var lifetime = circuit == CircuitPosition.Open && lease.RetryAfter > TimeSpan.Zero ? lease.RetryAfter : ViewLifetime;
        _views[provider] = new View(circuit, lease.Paused, now + lifetime);
    }

    private sealed record View(CircuitPosition Circuit, bool Paused, DateTimeOffset Until);

    private sealed record MarkRequest(SendRef[] Refs, string Provider);

    private static readonly string[] OutcomeNames = Enum.GetNames<OutcomeKind>().Select(n => n.ToLowerInvariant()).ToArray();

    private static string Name(OutcomeKind kind) => OutcomeNames[(int)kind];

    /// <summary>The provider call's span, in the trace of the request that asked for the send (queued work has lost it).</summary>
    private static Activity? StartSendSpan(string? traceParent, string providerName, int messages)
    {
        var span = AutomatorTracing.Resume("send email", traceParent);
        span?.SetTag("automator.provider", providerName);
        span?.SetTag("automator.messages", messages);
        return span;
    }

    private sealed class Job(OutboundEmail email, SendRef sendRef, AmbiguousPolicy policy, bool transactional)
    {
        public OutboundEmail Email { get; } = email;
        public SendRef Ref { get; } = sendRef;
        public AmbiguousPolicy Policy { get; } = policy;
        public bool Transactional { get; } = transactional;
        public int Attempts { get; set; }
        public DateTimeOffset NotBefore { get; set; }
        public string? TraceParent { get; init; }

        /// <summary>A send forfeits a slot only a few times, so a slow machine cannot starve it.</summary>
        public int Forfeits { get; set; }
    }
}
