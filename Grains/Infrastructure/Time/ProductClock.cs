namespace Automator.Infrastructure.Time;

/// <summary>
/// The engine's own clock: what journeys, wake shards, workflows, contacts and winners call "now" (due times, waits,
/// send windows, frequency caps, refresh intervals). Orleans keeps the silo's <see cref="TimeProvider"/> for its own
/// timers, response timeouts, membership and reminders. In production both are the system clock; the grain tests give
/// the engine a fake clock they advance, while Orleans runs on real time.
/// </summary>
public sealed class ProductClock(TimeProvider source) : TimeProvider
{
    /// <summary>How often a due timer looks at a clock that is not the silo's (a fake clock only moves when advanced).</summary>
    private static readonly TimeSpan OtherClockPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>The clock this one reads.</summary>
    public TimeProvider Source { get; } = source;

    public override DateTimeOffset GetUtcNow() => Source.GetUtcNow();

    public override long GetTimestamp() => Source.GetTimestamp();

    public override long TimestampFrequency => Source.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => Source.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        Source.CreateTimer(callback, state, dueTime, period);

    /// <summary>
    /// A grain timer that fires once when this clock reaches <paramref name="due"/>, in the grain's own context. On the
    /// silo's clock it is one plain grain timer; on another clock it looks at this one every few milliseconds, so that
    /// advancing a fake clock fires it.
    /// </summary>
    public IGrainTimer RegisterDueTimer(IGrainBase grain, Func<CancellationToken, Task> callback, DateTimeOffset due, bool keepAlive)
    {
        var delay = due - GetUtcNow();
        if (delay < TimeSpan.Zero)
        {
            delay = TimeSpan.Zero;
        }

        var siloClock = grain.GrainContext.ActivationServices.GetService(typeof(TimeProvider)) as TimeProvider ?? TimeProvider.System;
        if (ReferenceEquals(siloClock, Source))
        {
            return grain.RegisterGrainTimer(callback, new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { KeepAlive = keepAlive });
        }

        IGrainTimer? timer = null;
        var fired = false;
        timer = grain.RegisterGrainTimer(
            async cancellationToken =>
            {
                if (fired || GetUtcNow() < due)
                {
                    return;
                }

                fired = true;
                timer?.Dispose();
                await callback(cancellationToken);
            },
            new GrainTimerCreationOptions(TimeSpan.Zero, OtherClockPoll) { KeepAlive = keepAlive });
        return timer;
    }
}
