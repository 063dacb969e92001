using System.Collections.Concurrent;
using Automator.Journeys;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Workflows;

/// <summary>
/// Each silo sums its journeys' counter changes per workflow and flushes them in one call per workflow every few hundred
/// milliseconds, so no workflow grain sits on the path of every journey step.
/// </summary>
public sealed class CounterBuffer : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ILogger<CounterBuffer> _logger;
    private readonly TimeSpan _interval;
    private readonly ConcurrentDictionary<(Guid Org, Guid Workflow), ConcurrentDictionary<string, long>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _flushLock = new(1, 1);
    private Task? _loop;

    public CounterBuffer(IGrainFactory grains, ILogger<CounterBuffer> logger, IOptions<JourneyOptions> options)
    {
        _grains = grains;
        _logger = logger;
        _interval = options.Value.CounterFlushInterval;
    }

    public static string Key(string name, string? stepId, string? variant) => $"{name}|{stepId}|{variant}";

    public void Add(Guid organizationId, Guid workflowId, IEnumerable<CounterDelta> deltas)
    {
        var counters = _pending.GetOrAdd((organizationId, workflowId), _ => new(StringComparer.Ordinal));
        foreach (var d in deltas)
        {
            counters.AddOrUpdate(Key(d.Name, d.StepId, d.Variant), d.Delta, (_, v) => v + d.Delta);
        }

        _loop ??= Task.Run(LoopAsync);
    }

    public async Task FlushAsync()
    {
        await _flushLock.WaitAsync();
        try
        {
            foreach (var key in _pending.Keys.ToList())
            {
                if (!_pending.TryRemove(key, out var counters))
                {
                    continue;
                }

                var deltas = new Dictionary<string, long>(StringComparer.Ordinal);
                foreach (var name in counters.Keys.ToList())
                {
                    if (counters.TryRemove(name, out var value) && value != 0)
                    {
                        deltas[name] = value;
                    }
                }

                if (deltas.Count == 0)
                {
                    continue;
                }

                try
                {
                    await _grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(key.Org, key.Workflow)).ApplyCountersAsync(deltas);
                }
                catch (Exception ex)
                {
                    _logger.LogWarning(ex, "Counter flush for workflow {WorkflowId} failed; will retry.", key.Workflow);
                    var back = _pending.GetOrAdd(key, _ => new(StringComparer.Ordinal));
                    foreach (var (name, value) in deltas)
                    {
                        back.AddOrUpdate(name, value, (_, v) => v + value);
                    }
                }
            }
        }
        finally
        {
            _flushLock.Release();
        }
    }

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
        await _stop.CancelAsync();
        _stop.Dispose();
    }
}
