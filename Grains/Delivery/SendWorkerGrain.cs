using Automator.Live;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Automator.Infrastructure.Telemetry;
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
    private static readonly TimeSpan LateTolerance = TimeSpan.FromMilliseconds(10);
    private const int MaxForfeits = 5;

    // Slots closer than this are beyond timer precision: such rates are paced by the lease as a whole, never forfeited.
    private static readonly TimeSpan MinimumPacedInterval = TimeSpan.FromMilliseconds(1);

    private readonly FairShareQueue<Job> _queue = new();
    private readonly Dictionary<string, View> _views = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProviderReport> _reports = new(StringComparer.Ordinal);
    private List<SendOutcomeRecord> _outcomes = [];
    private List<Job> _retries = [];
    private IGrainTimer? _timer;
    private int _inFlight;
    private bool _pumping;

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
                if (jobs.Count < lease.Count)
                {
                    Report(route.Provider).Unused += lease.Count - jobs.Count;
                }

                IReadOnlySet<Guid> moved;
                try
                {
                    moved = await sendLog.MarkSendingAsync(jobs.Select(j => j.Ref).ToArray(), route.Provider);
                }
                catch (Exception ex)
                {
                    // Nothing was sent: put the batch back and give the slots back.
                    logger.LogError(ex, "Marking {Count} sends as sending failed; they stay queued.", jobs.Count);
                    var later = time.GetUtcNow() + TimeSpan.FromSeconds(1);
                    foreach (var job in jobs)
                    {
                        _queue.Enqueue(job.Email.OrganizationId, job.Transactional, job, later);
                    }

                    Report(route.Provider).Unused += jobs.Count;
                    break;
                }

                var slot = 0;
                var ready = new List<(Job Job, DateTimeOffset Slot)>(jobs.Count);
                foreach (var job in jobs)
                {
                    if (moved.Contains(job.Ref.Id))
                    {
                        ready.Add((job, lease.FirstSlot + (lease.Interval * slot++)));
                    }
                    else
                    {
                        // Already sent, failed or unknown (a duplicate delivery of the same dispatch): never send again.
                        Report(route.Provider).Unused++;
                    }
                }

                var paced = lease.Interval >= MinimumPacedInterval;
                // Paced slots go one by one, so the rate holds per message; unpaced ones with shared content go together.
                var maxBatch = !paced && providers.Get(route.Provider) is IBatchingEmailProvider batching ? batching.MaxBatch : 1;
                foreach (var group in PersonalizationBatches.Group(ready, r => r.Job.Email.Shared?.Key, maxBatch))
                {
                    _inFlight += group.Count;
                    if (group.Count == 1)
                    {
                        var (job, at) = group[0];
                        _ = SendAsync(job, route.Provider, at, mayForfeit: paced && job.Forfeits < MaxForfeits);
                    }
                    else
                    {
                        _ = SendBatchAsync(group.Select(r => r.Job).ToArray(), route.Provider, group[^1].Slot);
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

    private async Task SendAsync(Job job, string providerName, DateTimeOffset slot, bool mayForfeit)
    {
        using var span = StartSendSpan(job.TraceParent, providerName, 1);
        ProviderOutcome? outcome;
        try
        {
            var provider = providers.Get(providerName);
            // Waiting for the slot, building the wire format and the HTTP exchange all run on the thread pool, so a busy
            // activation turn cannot delay a send past its slot and bunch it up with the next ones.
            outcome = await Task.Run(async () =>
            {
                var wait = slot - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time);
                }

                // A slot missed by more than the tolerance (a stalled process) is forfeited rather than sent late:
                // sending it now would bunch it with the next slots and exceed the provider's rate.
                if (mayForfeit && time.GetUtcNow() - slot > LateTolerance)
                {
                    return null;
                }

                var started = Stopwatch.GetTimestamp();
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
        if (outcome is null)
        {
            job.Forfeits++;
            Report(providerName).Unused++;
            _outcomes.Add(new SendOutcomeRecord(job.Ref, SendStatus.Queued, null, null, null, time.GetUtcNow()));
            _retries.Add(job);
            return;
        }

        Settle(job, providerName, outcome);
    }

    /// <summary>One request for messages sharing their content; its one answer settles every send in it.</summary>
    private async Task SendBatchAsync(IReadOnlyList<Job> jobs, string providerName, DateTimeOffset slot)
    {
        using var span = StartSendSpan(jobs[0].TraceParent, providerName, jobs.Count);
        ProviderOutcome outcome;
        try
        {
            var provider = (IBatchingEmailProvider)providers.Get(providerName);
            var emails = jobs.Select(j => j.Email).ToArray();
            outcome = await Task.Run(async () =>
            {
                var wait = slot - time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time);
                }

                var started = Stopwatch.GetTimestamp();
                var answer = await provider.SendBatchAsync(emails);
                measurements.ProviderCalled(providerName, Name(answer.Kind), Stopwatch.GetElapsedTime(started));
                return answer;
            });
        }
        catch (Exception ex)
        {
            outcome = ProviderOutcome.Transient(ex.GetType().Name + ": " + ex.Message);
        }

        _inFlight -= jobs.Count;
        foreach (var job in jobs)
        {
            Settle(job, providerName, outcome);
        }
    }

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
