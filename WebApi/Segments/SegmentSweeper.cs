namespace Automator.WebApi.Segments;

/// <summary>Settings under <c>Automator:Segments</c>.</summary>
public sealed class SegmentOptions
{
    public const string Section = "Automator:Segments";

    /// <summary>How often segments with time-windowed event conditions are re-evaluated.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// Writes and events keep membership current for the contacts they touch; this sweep covers what only time changes
/// (an event leaving a <c>within</c> window). Concurrent sweeps from several front ends are harmless: entry and exit
/// are recorded by the statement that inserts or deletes the membership row, so each is reported once.
/// </summary>
public sealed class SegmentSweeper(SegmentStore store, Microsoft.Extensions.Options.IOptions<SegmentOptions> options, TimeProvider time, ILogger<SegmentSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var swept = await store.SweepTimeWindowedAsync(stoppingToken);
                log.LogDebug("Swept {Count} time-windowed segment(s)", swept);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogWarning(ex, "Segment sweep failed; retrying at the next interval");
            }
        }
    }
}
