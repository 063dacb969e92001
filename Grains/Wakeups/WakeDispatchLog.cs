namespace Automator.Wakeups;

/// <summary>
/// A wake shard's memory of what it already woke. The index still lists a grain between its wake and the write that moves
/// its due time (and a grain woken early keeps its due time while its own timer runs), so without this every poll would
/// wake it again: a grain is woken once per due time, and again for the same due time only after
/// <see cref="RedispatchAfter"/> (or sooner after a failed wake). A new due time is woken at once.
/// </summary>
public sealed class WakeDispatchLog(TimeSpan redispatchAfter)
{
    private readonly Dictionary<GrainId, (DateTimeOffset Due, DateTimeOffset RetryAfter)> _dispatched = [];

    public static readonly TimeSpan DefaultRedispatchAfter = TimeSpan.FromSeconds(10);

    public TimeSpan RedispatchAfter { get; } = redispatchAfter;

    /// <summary>Grains the log remembers (each forgotten once its retry time passes).</summary>
    public int Count => _dispatched.Count;

    /// <summary>Of what the index says is due, what to wake now; those are remembered as woken.</summary>
    public List<DueWakeup> Take(IReadOnlyList<DueWakeup> due, DateTimeOffset now)
    {
        foreach (var expired in _dispatched.Where(d => d.Value.RetryAfter <= now).Select(d => d.Key).ToList())
        {
            _dispatched.Remove(expired);
        }

        var wakes = due.Where(d => !(_dispatched.TryGetValue(d.Grain, out var seen) && seen.Due == d.DueAt)).ToList();
        foreach (var wake in wakes)
        {
            _dispatched[wake.Grain] = (wake.DueAt, (wake.DueAt > now ? wake.DueAt : now) + RedispatchAfter);
        }

        return wakes;
    }

    /// <summary>The wake did not reach the grain: try again from <paramref name="retryAt"/>.</summary>
    public void Failed(DueWakeup wake, DateTimeOffset retryAt) => _dispatched[wake.Grain] = (wake.DueAt, retryAt);
}
