using Automator.Contacts;

namespace Automator.UnitTests.Contacts;

public sealed class EventAudienceTests
{
    private static readonly Guid Shopper = Guid.NewGuid();
    private static readonly Guid Bystander = Guid.NewGuid();
    private static readonly Guid Newcomer = Guid.NewGuid();
    private static readonly Guid Signup = Guid.NewGuid();

    private static bool StartsJourney(string name) => name == "signed_up";

    private static (Guid, IEnumerable<string>)[] Batch() =>
    [
        (Shopper, ["page_viewed", "purchased"]),
        (Bystander, ["page_viewed"]),
        (Newcomer, ["page_viewed"]),
        (Signup, ["page_viewed", "signed_up"]),
    ];

    [Fact]
    public async Task Reaches_contacts_in_journeys_contacts_just_created_and_events_that_start_a_journey()
    {
        var asked = new List<Guid>();
        var reached = await EventAudience.ReachedAsync(Batch(), StartsJourney, new HashSet<Guid> { Newcomer }, contacts =>
        {
            asked.AddRange(contacts);
            return Task.FromResult<HashSet<Guid>?>([Shopper]);
        });

        Assert.Equal(new HashSet<Guid> { Shopper, Newcomer, Signup }, reached);
        Assert.DoesNotContain(Bystander, reached);

        // Presence is looked up only for contacts not already decided by the batch itself.
        Assert.Equal(new HashSet<Guid> { Shopper, Bystander }, asked.ToHashSet());
    }

    [Fact]
    public async Task Reaches_every_contact_when_presence_cannot_be_told()
    {
        var reached = await EventAudience.ReachedAsync(Batch(), StartsJourney, new HashSet<Guid>(), _ => Task.FromResult<HashSet<Guid>?>(null));

        Assert.Equal(new HashSet<Guid> { Shopper, Bystander, Newcomer, Signup }, reached);
    }

    [Fact]
    public async Task Does_not_look_up_presence_when_the_batch_decides_every_contact()
    {
        var lookups = 0;
        var reached = await EventAudience.ReachedAsync([(Signup, ["signed_up"]), (Newcomer, ["page_viewed"])], StartsJourney, new HashSet<Guid> { Newcomer }, _ =>
        {
            lookups++;
            return Task.FromResult<HashSet<Guid>?>([]);
        });

        Assert.Equal(0, lookups);
        Assert.Equal(2, reached.Count);
    }

    [Fact]
    public async Task Reaches_nobody_when_no_contact_is_in_a_journey_and_nothing_starts_one()
    {
        var reached = await EventAudience.ReachedAsync([(Bystander, ["page_viewed", "clicked"])], StartsJourney, new HashSet<Guid>(), _ => Task.FromResult<HashSet<Guid>?>([]));

        Assert.Empty(reached);
    }
}
