using System.Security.Cryptography;
using System.Text;

namespace Automator.Infrastructure.Storage;

/// <summary>
/// State that waits for a time. <see cref="BatchedGrainStorage"/> stores that time beside the state, in the same write,
/// so the wake shards find what is due without a reminder per grain.
/// </summary>
public interface IHasWakeTime
{
    /// <summary>When the grain must next be woken; null when it waits for no time.</summary>
    DateTimeOffset? WakeAt { get; }
}

/// <summary>
/// State of a contact that may be in journeys. <see cref="BatchedGrainStorage"/> stores the flag beside the state, in the
/// same write, so the API can tell which contacts' grains must see an event without activating the others.
/// </summary>
public interface IHasActiveJourneys
{
    bool HasActiveJourneys { get; }
}

/// <summary>
/// Grains that wait are spread over <see cref="Count"/> fixed slots by a stable hash of their id; each wake shard owns the
/// slots congruent to its number, so the number of shards can change without rewriting a row.
/// </summary>
public static class WakeSlots
{
    public const int Count = 256;

    /// <summary>The first byte of SHA-256 of the grain id (the migration computes the same in SQL).</summary>
    public static short Of(string grainId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(grainId), hash);
        return hash[0];
    }

    public static short[] OwnedBy(int shard, int shards) =>
        Enumerable.Range(0, Count).Where(slot => slot % shards == shard).Select(slot => (short)slot).ToArray();
}
