using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Utilities;

namespace Automator.Live;

/// <summary>
/// Fans each published batch out to the subscribed dashboards. Nothing here is persisted: subscriptions are
/// renewed by the dashboards, and a batch is worth nothing once the next one exists.
/// </summary>
public sealed class LiveRegistryGrain : Grain, ILiveRegistryGrain
{
    private readonly ObserverManager<ILiveObserver> _observers;

    public LiveRegistryGrain(IOptions<LiveOptions> options, ILogger<LiveRegistryGrain> log)
    {
        _observers = new ObserverManager<ILiveObserver>(options.Value.SubscriptionLifetime, log);
    }

    Task ILiveRegistryGrain.SubscribeAsync(ILiveObserver observer)
    {
        _observers.Subscribe(observer, observer);
        return Task.CompletedTask;
    }

    Task ILiveRegistryGrain.UnsubscribeAsync(ILiveObserver observer)
    {
        _observers.Unsubscribe(observer);
        return Task.CompletedTask;
    }

    Task ILiveRegistryGrain.PublishAsync(LiveBatch batch)
    {
        if (_observers.Count > 0)
        {
            _observers.Notify(o => o.OnBatchAsync(batch));
        }

        return Task.CompletedTask;
    }

    Task<int> ILiveRegistryGrain.GetSubscriberCountAsync()
    {
        _observers.ClearExpired();
        return Task.FromResult(_observers.Count);
    }
}
