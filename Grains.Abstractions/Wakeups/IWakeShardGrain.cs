using Orleans.Concurrency;

namespace Automator.Wakeups;

/// <summary>
/// Wakes the grains due in its slots of the wake index (key: shard number, 0 to the configured count - 1). It polls the
/// index while active and holds one durable reminder, so a shard lost with its silo comes back on a survivor and catches up.
/// </summary>
public interface IWakeShardGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the shard (its polling starts with the activation); idempotent.</summary>
    [AlwaysInterleave]
    Task StartAsync();
}
