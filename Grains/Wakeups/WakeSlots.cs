using System.Security.Cryptography;
using System.Text;

namespace Automator.Wakeups;

/// <summary>
/// State that waits for a time. Its grain storage writes that time beside the state, in the same write (see
/// <see cref="WakeColumns"/>), so the wake shards find what is due without a reminder per grain.
/// </summary>
public interface IHasWakeTime
{
    /// <summary>When the grain must next be woken; null when it waits for no time.</summary>
    DateTimeOffset? WakeAt { get; }
}

/// <summary>
/// Grains that wait are spread over <see cref="Count"/> fixed slots by a stable hash of their id; each wake shard owns the
/// slots congruent to its number, so the number of shards can change without rewriting a row.
/// </summary>
public static class WakeSlots
{
    public const int Count = 256;

    /// <summary>
    /// The first byte of SHA-256 of the grain id. Migration <c>0202_journeys_wake_index.sql</c> computes the same in SQL
    /// (<c>get_byte(sha256(convert_to(grain_id, 'UTF8')), 0)</c>) for rows stored before the index; a test on PostgreSQL
    /// checks that the two agree.
    /// </summary>
    public static short Of(string grainId)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(grainId), hash);
        return hash[0];
    }

    public static short[] OwnedBy(int shard, int shards) =>
        Enumerable.Range(0, Count).Where(slot => slot % shards == shard).Select(slot => (short)slot).ToArray();
}

/// <summary>
/// The wake index's two columns of a grain's state row (<c>due_at</c>, <c>wake_shard</c>), which durable storage writes in
/// the same statement as the state: no separate registration to order against the state write.
/// </summary>
public static class WakeColumns
{
    public static (DateTimeOffset? DueAt, short? Slot) Of(string grainId, object? state) =>
        (state as IHasWakeTime)?.WakeAt is { } at ? (at, WakeSlots.Of(grainId)) : (null, null);
}
