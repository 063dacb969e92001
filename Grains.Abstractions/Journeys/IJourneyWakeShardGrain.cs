using Orleans.Concurrency;

namespace Automator.Journeys;

/// <summary>
/// Wakes the waiting journeys of its slots (key: shard number, 0 to the configured count - 1). It polls the wake index
/// while active and holds one durable reminder, so a shard lost with its silo comes back on a survivor and catches up.
/// </summary>
public interface IJourneyWakeShardGrain : IGrainWithIntegerKey
{
    /// <summary>Activates the shard (its polling starts with the activation); idempotent.</summary>
    [AlwaysInterleave]
    Task StartAsync();
}
