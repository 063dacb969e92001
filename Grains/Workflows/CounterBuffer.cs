using System.Collections.Concurrent;
using Automator.Journeys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Workflows;

/// <summary>
/// Each silo sums its journeys' counter changes per workflow and flushes them in one call per workflow every few hundred
/// milliseconds, so no workflow grain sits on the path of every journey step. The sums live in a
/// <see cref="CounterTally"/>, which never drops an increment that races with a flush; what is still pending when the silo
/// (or the client process) stops is flushed before its grain calls stop.
/// </summary>
public sealed class CounterBuffer : ILifecycleParticipant<ISiloLifecycle>, ILifecycleParticipant<IClusterClientLifecycle>, IAsyncDisposable
{
    private readonly ICounterSink _sink;
    private readonly ILogger<CounterBuffer> _logger;
    private readonly TimeSpan _interval;
    private readonly CounterTally _tally = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private Task? _loop;

    public CounterBuffer(ICounterSink sink, ILogger<CounterBuffer> logger, IOptions<JourneyOptions> options)
    {
        _sink = sink;
        _logger = logger;
        _interval = options.Value.CounterFlushInterval;
    }

    public static string Key(string name, string? stepId, string? variant) => $"{name}|{stepId}|{variant}";

    public void Add(Guid organizationId, Guid workflowId, IEnumerable<CounterDelta> deltas)
    {
        foreach (var d in deltas)
        {
            _tally.Add(new CounterTally.Key(organizationId, workflowId, Key(d.Name, d.StepId, d.Variant)), d.Delta);
        }

        if (_loop is null && !_stop.IsCancellationRequested)
        {
            var loop = new Task<Task>(LoopAsync);
            if (Interlocked.CompareExchange(ref _loop, loop.Unwrap(), null) is null)
            {
                loop.Start(TaskScheduler.Default);
            }
        }
    }

    /// <summary>Applies everything added before the call (one call per workflow); a workflow whose call fails keeps its changes for the next flush.</summary>
    public async Task FlushAsync()
    {
        await _flushLock.WaitAsync();
        try
        {
            foreach (var ((organizationId, workflowId), deltas) in _tally.Drain())
            {
                try
                {
                    await _sink.ApplyAsync(organizationId, workflowId, deltas);
                }
                catch (Exception ex)
                {
                    _logger.LogWarning(ex, "Counter flush for workflow {WorkflowId} failed; will retry.", workflowId);
                    foreach (var (name, value) in deltas)
                    {
                        _tally.Add(new CounterTally.Key(organizationId, workflowId, name), value);
                    }
                }
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

    /// <summary>Stops the periodic flush and flushes what is pending; called when the silo or client stops, while grains still answer.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        if (_loop is { } loop)
        {
            await loop;
        }

        await FlushAsync();
    }

    void ILifecycleParticipant<ISiloLifecycle>.Participate(ISiloLifecycle lifecycle) => Participate(lifecycle);

    void ILifecycleParticipant<IClusterClientLifecycle>.Participate(IClusterClientLifecycle lifecycle) => Participate(lifecycle);

    // Stopped first on shutdown (Active is the last stage started), before the runtime stops answering grain calls.
    private void Participate(ILifecycleObservable lifecycle) =>
        lifecycle.Subscribe(nameof(CounterBuffer), ServiceLifecycleStage.Active, _ => Task.CompletedTask, StopAsync);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }

        if (_loop is { } loop)
        {
            await loop;
        }
    }
}

/// <summary>
/// Counter sums that many threads add to while a flush drains them, without a lock and without losing an increment.
/// Each counter is a cell that adders change with one atomic operation; a drain swaps each cell's value for zero
/// (compare-and-swap), so an increment lands either in this drain or in the next. A cell
/// found at zero by a drain is retired (swapped for a sentinel by a compare-and-swap from zero) and removed; an adder that meets
/// a retired cell removes it and retries on a fresh one, so no increment is ever added to a cell no drain will see.
/// </summary>
public sealed class CounterTally
{
    public readonly record struct Key(Guid OrganizationId, Guid WorkflowId, string Counter);

    private const long Retired = long.MinValue;

    private sealed class Cell
    {
        public long Value;
    }

    private readonly ConcurrentDictionary<Key, Cell> _cells = new();

    public void Add(Key key, long delta)
    {
        while (true)
        {
            var cell = _cells.GetOrAdd(key, static _ => new Cell());
            var value = Volatile.Read(ref cell.Value);
            while (value != Retired)
            {
                var seen = Interlocked.CompareExchange(ref cell.Value, value + delta, value);
                if (seen == value)
                {
                    return;
                }

                value = seen;
            }

            _cells.TryRemove(KeyValuePair.Create(key, cell));
        }
    }

    /// <summary>Takes every non-zero sum, grouped by workflow, leaving zero in its place.</summary>
    public IReadOnlyDictionary<(Guid OrganizationId, Guid WorkflowId), Dictionary<string, long>> Drain()
    {
        var drained = new Dictionary<(Guid, Guid), Dictionary<string, long>>();
        foreach (var (key, cell) in _cells)
        {
            var value = Volatile.Read(ref cell.Value);
            while (value != Retired)
            {
                var seen = Interlocked.CompareExchange(ref cell.Value, 0, value);
                if (seen == value)
                {
                    break;
                }

                value = seen;
            }

            if (value == Retired)
            {
                continue;
            }

            if (value == 0)
            {
                if (Interlocked.CompareExchange(ref cell.Value, Retired, 0) == 0)
                {
                    _cells.TryRemove(KeyValuePair.Create(key, cell));
                }

                continue;
            }

            if (!drained.TryGetValue((key.OrganizationId, key.WorkflowId), out var counters))
            {
                counters = new Dictionary<string, long>(StringComparer.Ordinal);
                drained[(key.OrganizationId, key.WorkflowId)] = counters;
            }

            counters[key.Counter] = value;
        }

        return drained;
    }
}

/// <summary>Where a workflow's summed counter changes go: its <see cref="IWorkflowGrain"/>.</summary>
public interface ICounterSink
{
    Task ApplyAsync(Guid organizationId, Guid workflowId, Dictionary<string, long> deltas);
}

/// <inheritdoc cref="ICounterSink"/>
public sealed class WorkflowCounterSink(IGrainFactory grains) : ICounterSink
{
    public Task ApplyAsync(Guid organizationId, Guid workflowId, Dictionary<string, long> deltas) =>
        grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId)).ApplyCountersAsync(deltas);
}
