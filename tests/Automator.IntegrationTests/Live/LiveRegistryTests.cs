using Automator.IntegrationTests.Infrastructure;
using Automator.Live;

namespace Automator.IntegrationTests.Live;

public sealed class LiveRegistryTests
{
    [Fact]
    public async Task A_subscriber_that_stops_renewing_expires_while_the_live_dashboard_stays_subscribed()
    {
        await using var app = new AutomatorApp(connectionString: null, "registry-" + Guid.NewGuid().ToString("N")[..6], new Dictionary<string, string?>
        {
            ["Automator:Live:SubscriptionLifetime"] = "00:00:03",
            ["Automator:Dashboard:SubscriptionRenewal"] = "00:00:01",
        });
        _ = app.Server;
        var registry = app.Grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key);
        await Eventually.WaitAsync(registry.GetSubscriberCountAsync, n => n == 1, TimeSpan.FromSeconds(30), "the co-hosted dashboard to subscribe");
        var silent = new CountingObserver();
        var reference = app.Grains.CreateObjectReference<ILiveObserver>(silent);

        await registry.SubscribeAsync(reference);
        await registry.PublishAsync(new LiveBatch { At = DateTimeOffset.UtcNow });
        await Eventually.WaitAsync(() => Task.FromResult(silent.Batches), n => n >= 1, TimeSpan.FromSeconds(10), "the subscriber to receive a batch");
        var withSilent = await registry.GetSubscriberCountAsync();
        var afterExpiry = await Eventually.WaitAsync(registry.GetSubscriberCountAsync, n => n == 1, TimeSpan.FromSeconds(15), "the silent subscription to expire");

        Assert.Equal(2, withSilent);
        Assert.Equal(1, afterExpiry);
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(1, await registry.GetSubscriberCountAsync());
        GC.KeepAlive(silent);
    }

    private sealed class CountingObserver : ILiveObserver
    {
        private int _batches;

        public int Batches => Volatile.Read(ref _batches);

        public Task OnBatchAsync(LiveBatch batch)
        {
            Interlocked.Increment(ref _batches);
            return Task.CompletedTask;
        }
    }
}
