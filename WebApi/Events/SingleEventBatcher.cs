using System.Threading.Channels;

namespace Automator.WebApi.Events;

/// <summary>
/// Single <c>POST /v1/events</c> requests that arrive together share one pass of <see cref="EventIngest"/>: one
/// contact lookup, one insert of keys and events, one segment pass, instead of one of each per request. A request alone
/// goes straight through; while passes are in flight, newcomers gather for the next one. Each request still gets its own
/// answer (its contact, or its own errors).
/// </summary>
internal sealed class SingleEventBatcher : IAsyncDisposable
{
    private const int MaxBatch = EventEndpoints.MaxBatch;
    private const int PassesInFlight = 4;
    private readonly EventIngest _ingest;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _passes = new(PassesInFlight, PassesInFlight);
    private readonly Task _loop;

    public SingleEventBatcher(EventIngest ingest)
    {
        _ingest = ingest;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The event's contact when accepted (including a repeated key, accepted and ignored), else the errors by field.</summary>
    public sealed record Outcome(Guid ContactId, Dictionary<string, string[]>? Errors);

    private sealed record Pending(Guid OrganizationId, EventEndpoints.ParsedEvent Event, TaskCompletionSource<Outcome> Done);

    public Task<Outcome> TrackAsync(Guid organizationId, EventEndpoints.ParsedEvent parsed)
    {
        var pending = new Pending(organizationId, parsed, new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new ObjectDisposedException(nameof(SingleEventBatcher));
        }

        return pending.Done.Task;
    }

    private async Task LoopAsync()
    {
        while (await _queue.Reader.WaitToReadAsync())
        {
            await _passes.WaitAsync();
            var batch = new List<Pending>();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            _ = PassAsync(batch);
        }
    }

    private async Task PassAsync(List<Pending> batch)
    {
        try
        {
            await Task.WhenAll(batch.GroupBy(p => p.OrganizationId).Select(async organization =>
            {
                var items = organization.ToList();
                try
                {
                    var result = await _ingest.AcceptAsync(organization.Key, items.Select((p, index) => (index, p.Event)).ToList());
                    var rejected = result.Rejected.ToDictionary(r => r.Index, r => r.Errors);
                    for (var i = 0; i < items.Count; i++)
                    {
                        items[i].Done.TrySetResult(rejected.TryGetValue(i, out var errors) ? new Outcome(Guid.Empty, errors) : new Outcome(result.ContactIds[i], null));
                    }
                }
                catch (Exception ex)
                {
                    foreach (var item in items)
                    {
                        item.Done.TrySetException(ex);
                    }
                }
            }));
        }
        finally
        {
            _passes.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
