using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Live;

/// <summary>Settings under <c>Automator:Live</c>.</summary>
public sealed class LiveOptions
{
    public const string Section = "Automator:Live";

    /// <summary>How often each process ships its coalesced live events to the registry.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the registry keeps a dashboard's subscription without renewal.</summary>
    public TimeSpan SubscriptionLifetime { get; set; } = LiveRegistry.SubscriptionLifetime;
}

/// <summary>Ships this process's <see cref="LiveEvents"/> to the live registry grain once per flush window.</summary>
public sealed partial class LiveEventsFlusher(LiveEvents events, IGrainFactory grains, IOptions<LiveOptions> options, TimeProvider time, ILogger<LiveEventsFlusher> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Ships what is pending now; a batch that cannot be delivered is dropped: live data is best effort.</summary>
    public async Task FlushAsync()
    {
        var batch = events.TakeBatch();
        if (batch is null)
        {
            return;
        }

        try
        {
            await grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key).PublishAsync(batch);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogDropped(log, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Live batch dropped: {Error}: {Message}")]
    private static partial void LogDropped(ILogger logger, string error, string message);
}
