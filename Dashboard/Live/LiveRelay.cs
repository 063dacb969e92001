using Automator.Live;

namespace Automator.Dashboard.Live;

/// <summary>The dashboard's observer: batches from the registry go into the outbox; the hub is fed on the tick.</summary>
public sealed class LiveRelay(LiveOutbox outbox, LiveConnections connections) : ILiveObserver
{
    public Task OnBatchAsync(LiveBatch batch)
    {
        outbox.Accept(batch, connections);
        return Task.CompletedTask;
    }
}
