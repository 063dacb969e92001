using Automator.Contacts;

namespace Automator.WebApi.Contacts;

/// <summary>
/// Tells the contact grains what the API wrote to the relational tables. The rows are the durable record; the
/// grain calls let triggers (list join, segment entry) and journeys react.
/// </summary>
public interface IContactSync
{
    Task ProfileChangedAsync(IReadOnlyList<ContactProfile> profiles, CancellationToken cancellationToken = default);

    Task ListJoinedAsync(Guid organizationId, Guid listId, IReadOnlyList<Guid> contactIds, CancellationToken cancellationToken = default);

    Task SegmentChangedAsync(Guid organizationId, Guid segmentId, IReadOnlyList<(Guid ContactId, bool Entered)> changes, CancellationToken cancellationToken = default);

    Task ErasedAsync(Guid organizationId, Guid contactId, CancellationToken cancellationToken = default);
}

/// <summary>Calls <see cref="IContactGrain"/> through the cluster, a bounded number at a time.</summary>
public sealed class OrleansContactSync(IGrainFactory grains, ILogger<OrleansContactSync> log) : IContactSync
{
    private const int Parallelism = 64;

    public Task ProfileChangedAsync(IReadOnlyList<ContactProfile> profiles, CancellationToken cancellationToken = default) =>
        ForEachAsync(profiles, p => Grain(p.OrganizationId, p.Id).UpdateProfileAsync(p), "profile update", cancellationToken);

    public Task ListJoinedAsync(Guid organizationId, Guid listId, IReadOnlyList<Guid> contactIds, CancellationToken cancellationToken = default) =>
        ForEachAsync(contactIds, id => Grain(organizationId, id).OnListJoinedAsync(listId), "list join", cancellationToken);

    public Task SegmentChangedAsync(Guid organizationId, Guid segmentId, IReadOnlyList<(Guid ContactId, bool Entered)> changes, CancellationToken cancellationToken = default) =>
        ForEachAsync(changes, c => Grain(organizationId, c.ContactId).OnSegmentChangedAsync(segmentId, c.Entered), "segment change", cancellationToken);

    public Task ErasedAsync(Guid organizationId, Guid contactId, CancellationToken cancellationToken = default) =>
        ForEachAsync([contactId], id => Grain(organizationId, id).EraseAsync(), "erasure", cancellationToken);

    private IContactGrain Grain(Guid organizationId, Guid contactId) => grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId));

    // The relational row is already committed: a grain that cannot be reached now is logged, not failed back to
    // the caller, and catches up at the contact's next change.
    private async Task ForEachAsync<T>(IReadOnlyList<T> items, Func<T, Task> call, string what, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        var failures = 0;
        Exception? first = null;
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken }, async (item, _) =>
        {
            try
            {
                await call(item);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (Interlocked.Increment(ref failures) == 1)
                {
                    first = ex;
                }
            }
        });
        if (failures > 0)
        {
            log.LogWarning(first, "Contact grain {What} failed for {Failures} of {Count} contact(s)", what, failures, items.Count);
        }
    }
}
