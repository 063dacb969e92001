namespace Automator.Delivery;

/// <summary>
/// Groups leased sends into provider requests: sends with the same shared-content key travel together, up to
/// <c>maxBatch</c> per request, in slot order; a send without a key (content that cannot be shared) goes alone.
/// </summary>
public static class PersonalizationBatches
{
    public static IReadOnlyList<IReadOnlyList<T>> Group<T>(IReadOnlyList<T> sends, Func<T, string?> key, int maxBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        var groups = new List<List<T>>();
        var open = new Dictionary<string, List<T>>(StringComparer.Ordinal);
        foreach (var send in sends)
        {
            var k = maxBatch > 1 ? key(send) : null;
            if (k is null)
            {
                groups.Add([send]);
                continue;
            }

            if (!open.TryGetValue(k, out var group) || group.Count >= maxBatch)
            {
                group = [];
                open[k] = group;
                groups.Add(group);
            }

            group.Add(send);
        }

        return groups;
    }
}
