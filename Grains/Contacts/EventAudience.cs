namespace Automator.Contacts;

/// <summary>
/// Decides which contacts' grains an accepted batch must reach. A contact grain acts on an event only when the contact
/// is in a journey (waits, exits and goals see every event), when the event can start a journey, or when the contact
/// was just created by the event (its grain takes the profile). The events of every other contact are recorded and
/// counted but activate no grain. A contact that needs its grain gets all of its events, in order.
/// </summary>
public static class EventAudience
{
    /// <param name="eventNames">The names of each contact's recorded events.</param>
    /// <param name="startsJourney">Whether an active workflow starts on an event name.</param>
    /// <param name="created">Contacts created by this batch.</param>
    /// <param name="inJourneys">
    /// Looks up which of the remaining contacts are in a journey (asked only for those, and not at all when none
    /// remain); null when that cannot be told, and then every contact is reached.
    /// </param>
    public static async Task<HashSet<Guid>> ReachedAsync(
        IEnumerable<(Guid ContactId, IEnumerable<string> EventNames)> eventNames,
        Func<string, bool> startsJourney,
        IReadOnlySet<Guid> created,
        Func<IReadOnlyCollection<Guid>, Task<HashSet<Guid>?>> inJourneys)
    {
        var reached = new HashSet<Guid>();
        var undecided = new List<Guid>();
        foreach (var (contactId, names) in eventNames)
        {
            (created.Contains(contactId) || names.Any(startsJourney) ? reached : (ICollection<Guid>)undecided).Add(contactId);
        }

        if (undecided.Count == 0)
        {
            return reached;
        }

        var present = await inJourneys(undecided);
        reached.UnionWith(present is null ? undecided : undecided.Where(present.Contains));
        return reached;
    }
}
