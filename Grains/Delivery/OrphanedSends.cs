using Automator.Delivery.SendLog;

namespace Automator.Delivery;

/// <summary>
/// Decides whose unsettled sends a live silo must take over: those of silos the cluster membership declared dead, and
/// those of silos it no longer knows at all once their sends have waited longer than any live silo would leave them.
/// A silo missing from the view but with recent sends may just have joined, so it is left alone.
/// </summary>
public static class OrphanedSends
{
    /// <param name="owners">Silos holding queued or sending rows.</param>
    /// <param name="members">Every silo the membership knows, by address, and whether it is dead.</param>
    /// <param name="self">This silo's address: its own sends are never orphaned.</param>
    public static IReadOnlyList<string> Owners(
        IEnumerable<SendOwner> owners, IReadOnlyDictionary<string, bool> members, string self, DateTimeOffset now, TimeSpan unknownAfter)
    {
        var orphaned = new List<string>();
        foreach (var owner in owners)
        {
            if (string.Equals(owner.Owner, self, StringComparison.Ordinal))
            {
                continue;
            }

            var dead = members.TryGetValue(owner.Owner, out var isDead) ? isDead : now - owner.OldestUpdate > unknownAfter;
            if (dead)
            {
                orphaned.Add(owner.Owner);
            }
        }

        return orphaned;
    }
}
