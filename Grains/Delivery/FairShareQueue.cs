namespace Automator.Delivery;

/// <summary>
/// The order sends leave a worker in: transactional before bulk, and within each class round-robin across
/// organizations so one organization's campaign of a million cannot starve another's welcome email.
/// Entries not yet due (retry back-off) wait in place. Not thread-safe.
/// </summary>
public sealed class FairShareQueue<T>
{
    private readonly Lane _transactional = new();
    private readonly Lane _bulk = new();

    public int Count => _transactional.Count + _bulk.Count;

    public void Enqueue(Guid organizationId, bool transactional, T item, DateTimeOffset notBefore = default) =>
        (transactional ? _transactional : _bulk).Add(organizationId, item, notBefore);

    /// <summary>Number of entries due at <paramref name="now"/>.</summary>
    public int CountDue(DateTimeOffset now) => _transactional.CountDue(now) + _bulk.CountDue(now);

    /// <summary>The next earliest time an entry becomes due, if any entry is waiting.</summary>
    public DateTimeOffset? NextDue => Earliest(_transactional.NextDue, _bulk.NextDue);

    public List<T> Take(int max, DateTimeOffset now)
    {
        var taken = new List<T>(Math.Min(max, Count));
        _transactional.Take(taken, max, now);
        _bulk.Take(taken, max, now);
        return taken;
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private sealed class Lane
    {
        private readonly Dictionary<Guid, LinkedList<(T Item, DateTimeOffset NotBefore)>> _byOrganization = [];
        private readonly LinkedList<Guid> _rotation = new();

        public int Count { get; private set; }

        public DateTimeOffset? NextDue => Count == 0 ? null : _byOrganization.Values.SelectMany(q => q).Min(e => e.NotBefore);

        public void Add(Guid organizationId, T item, DateTimeOffset notBefore)
        {
            if (!_byOrganization.TryGetValue(organizationId, out var queue))
            {
                queue = new LinkedList<(T, DateTimeOffset)>();
                _byOrganization[organizationId] = queue;
                _rotation.AddLast(organizationId);
            }

            queue.AddLast((item, notBefore));
            Count++;
        }

        public int CountDue(DateTimeOffset now) => _byOrganization.Values.Sum(q => q.Count(e => e.NotBefore <= now));

        public void Take(List<T> into, int max, DateTimeOffset now)
        {
            // Rounds of one entry per organization until full or nothing due is left.
            var progress = true;
            while (into.Count < max && progress && _rotation.Count > 0)
            {
                progress = false;
                var node = _rotation.First;
                var organizations = _rotation.Count;
                for (var i = 0; i < organizations && into.Count < max && node is not null; i++)
                {
                    var next = node.Next;
                    var queue = _byOrganization[node.Value];
                    var due = FirstDue(queue, now);
                    if (due is not null)
                    {
                        into.Add(due.Value.Item);
                        queue.Remove(due);
                        Count--;
                        progress = true;
                        _rotation.Remove(node);
                        if (queue.Count == 0)
                        {
                            _byOrganization.Remove(node.Value);
                        }
                        else
                        {
                            // Served: to the back of the rotation.
                            _rotation.AddLast(node);
                        }
                    }

                    node = next;
                }
            }
        }

        private static LinkedListNode<(T Item, DateTimeOffset NotBefore)>? FirstDue(LinkedList<(T Item, DateTimeOffset NotBefore)> queue, DateTimeOffset now)
        {
            for (var node = queue.First; node is not null; node = node.Next)
            {
                if (node.Value.NotBefore <= now)
                {
                    return node;
                }
            }

            return null;
        }
    }
}
