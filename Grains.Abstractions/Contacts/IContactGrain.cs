using Automator.Journeys;

namespace Automator.Contacts;

/// <summary>
/// One contact of one organization (key: <see cref="ContactKey.Of"/>). Holds the profile the journey engine
/// decides on and the contact's active journeys; routes events to waiting journeys and to triggers.
/// The relational <c>contacts</c> row is the queryable copy written by the API.
/// </summary>
public interface IContactGrain : IGrainWithStringKey
{
    /// <summary>The API wrote the profile (upsert or patch); property-based triggers and segments re-evaluate.</summary>
    Task UpdateProfileAsync(ContactProfile profile);

    Task<ContactProfile?> GetProfileAsync();

    /// <summary>An event happened to this contact (tracked by the API or an engagement event).</summary>
    Task TrackAsync(ContactEvent contactEvent);

    /// <summary>Several events of this contact in the order they happened, in one call (a batch of the API).</summary>
    Task TrackManyAsync(List<ContactEvent> events);

    Task OnListJoinedAsync(Guid listId);

    Task OnSegmentChangedAsync(Guid segmentId, bool entered);

    /// <summary>GDPR erasure: every journey exits and the grain forgets the profile.</summary>
    Task EraseAsync();

    /// <summary>Manual or API enrollment into a workflow (its active version); returns why not when refused.</summary>
    Task<JourneyOutcome> EnrollAsync(Guid workflowId, string source, string? eventJson = null);

    /// <summary>What journeys decide on: profile, time zone and recent sends across workflows.</summary>
    Task<ContactSnapshot> GetSnapshotAsync();

    /// <summary>A journey of this contact moved on its own (a wake): its sends, property updates and whether it is still active.</summary>
    Task OnJourneyActivityAsync(Guid workflowId, JourneyOutcome outcome);

    /// <summary>Workflows this contact is in right now.</summary>
    Task<List<Guid>> GetActiveJourneysAsync();
}

public static class ContactKey
{
    public static string Of(Guid organizationId, Guid contactId) => $"{organizationId:N}/{contactId:N}";

    public static (Guid OrganizationId, Guid ContactId) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (Guid.ParseExact(key[..slash], "N"), Guid.ParseExact(key[(slash + 1)..], "N"));
    }
}

[GenerateSerializer, Alias("contacts.profile")]
public sealed class ContactProfile
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public Guid OrganizationId { get; set; }
    [Id(2)] public string Email { get; set; } = "";
    [Id(3)] public string? FirstName { get; set; }
    [Id(4)] public string? LastName { get; set; }
    [Id(5)] public string? TimeZone { get; set; }

    /// <summary>active | unsubscribed | bounced | complained | erased.</summary>
    [Id(6)] public string Status { get; set; } = "active";

    /// <summary>The contact's custom properties as a JSON object.</summary>
    [Id(7)] public string PropertiesJson { get; set; } = "{}";
    [Id(8)] public DateTimeOffset UpdatedAt { get; set; }
}

[GenerateSerializer, Alias("contacts.event")]
public sealed class ContactEvent
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public string Name { get; set; } = "";

    /// <summary>The event's properties as a JSON object.</summary>
    [Id(2)] public string PropertiesJson { get; set; } = "{}";
    [Id(3)] public DateTimeOffset OccurredAt { get; set; }
    [Id(4)] public string? IdempotencyKey { get; set; }

    /// <summary>The contact's email when the API knows it (lets a contact created by an event get a profile).</summary>
    [Id(5)] public string? Email { get; set; }
}
