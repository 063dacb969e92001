using Orleans.Concurrency;

namespace Automator.Live;

/// <summary>
/// Receives a live observer's batches: implemented by each dashboard process around its SignalR hub. Calls are
/// one-way so a slow or dead dashboard never holds up the registry.
/// </summary>
public interface ILiveObserver : IGrainObserver
{
    [OneWay]
    Task OnBatchAsync(LiveBatch batch);
}

/// <summary>
/// The one place the cluster's live batches meet the dashboards subscribed to them. Each silo calls
/// <see cref="PublishAsync"/> at most once per flush window, so traffic here is bounded by silos, not by journeys.
/// Subscriptions expire unless renewed, so a dashboard that died stops being called and one that restarted
/// (or outlived a registry reactivation) is back within one renewal period.
/// </summary>
public interface ILiveRegistryGrain : IGrainWithIntegerKey
{
    Task SubscribeAsync(ILiveObserver observer);

    Task UnsubscribeAsync(ILiveObserver observer);

    Task PublishAsync(LiveBatch batch);

    Task<int> GetSubscriberCountAsync();
}

public static class LiveRegistry
{
    public const long Key = 0;

    /// <summary>Default time a subscription lives without renewal; dashboards renew at a third of it.</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromSeconds(30);
}
