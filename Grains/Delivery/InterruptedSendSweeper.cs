using Automator.Delivery.SendLog;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Automator.Delivery;

/// <summary>
/// Periodically settles sends a stopped silo left <c>sending</c>: at-most-once, they become <c>unknown</c>. The age
/// threshold is far above the provider timeout, so a send still in flight on a live silo is never touched.
/// </summary>
public sealed class InterruptedSendSweeper(ISendLog sendLog, TimeProvider time, ILogger<InterruptedSendSweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Threshold = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        do
        {
            try
            {
                var settled = await sendLog.SettleInterruptedAsync(Threshold);
                if (settled > 0)
                {
                    logger.LogWarning("{Count} send(s) interrupted while sending were settled as unknown (not resent).", settled);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Settling interrupted sends failed; trying again later.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
