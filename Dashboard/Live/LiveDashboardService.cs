using Automator.Live;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Automator.Dashboard.Live;

/// <summary>Settings under <c>Automator:Dashboard</c>.</summary>
public sealed class DashboardOptions
{
    public const string Section = "Automator:Dashboard";

    /// <summary>How often each organization's group may receive one message (100 ms: at most 10 a second).</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How often this dashboard renews its live subscription: well inside the registry's subscription lifetime.</summary>
    public TimeSpan SubscriptionRenewal { get; set; } = LiveRegistry.SubscriptionLifetime / 3;

    /// <summary>Folder of the built web UI; found next to the binaries or in the source tree when unset.</summary>
    public string? AppPath { get; set; }
}

/// <summary>
/// Keeps this dashboard subscribed to the live registry (renewing well inside the subscription lifetime, so a
/// reactivated registry or a restarted dashboard is back within seconds) and sends the outbox's due messages
/// to the hub on every tick.
/// </summary>
public sealed partial class LiveDashboardService(
    IGrainFactory grains,
    LiveRelay relay,
    LiveOutbox outbox,
    LiveConnections connections,
    IHubContext<LiveHub> hub,
    IOptions<DashboardOptions> options,
    TimeProvider time,
    ILogger<LiveDashboardService> log) : BackgroundService
{
    private ILiveObserver? _reference;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriptions = KeepSubscribedAsync(stoppingToken);
        using var timer = new PeriodicTimer(options.Value.Tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var message in outbox.TakeDue(connections))
                {
                    await hub.Clients.Group(LiveHub.GroupOf(message.OrganizationId)).SendAsync(message.Method, message.Payload, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await subscriptions;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_reference is not null)
        {
            try
            {
                await grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key).UnsubscribeAsync(_reference).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
                grains.DeleteObjectReference<ILiveObserver>(_reference);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogUnsubscribeFailed(log, ex.Message);
            }
        }
    }

    private async Task KeepSubscribedAsync(CancellationToken stoppingToken)
    {
        var renewal = options.Value.SubscriptionRenewal;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = renewal;
            try
            {
                _reference ??= grains.CreateObjectReference<ILiveObserver>(relay);
                await grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key).SubscribeAsync(_reference);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                LogSubscribeFailed(log, ex.Message);
                wait = TimeSpan.FromSeconds(1);
            }

            try
            {
                await Task.Delay(wait, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Live registry subscription failed, retrying: {Error}")]
    private static partial void LogSubscribeFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Live registry unsubscribe failed: {Error}")]
    private static partial void LogUnsubscribeFailed(ILogger logger, string error);
}
