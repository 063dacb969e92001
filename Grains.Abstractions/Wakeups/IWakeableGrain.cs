namespace Automator.Wakeups;

/// <summary>A grain that waits for durable wake-ups: the wake shards call it when its stored wake time is due.</summary>
public interface IWakeableGrain : IGrain
{
    /// <summary>Catch up whatever is due. Idempotent: an early, late or repeated wake decides from stored state.</summary>
    Task WakeAsync();
}
