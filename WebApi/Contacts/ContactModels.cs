using System.Text.Json;
using Automator.Contacts;
using Automator.WebApi.Http;

namespace Automator.WebApi.Contacts;

/// <summary>The writable fields of a contact; <c>id</c>, <c>status</c>, <c>organizationId</c>... in a body are ignored.</summary>
public sealed record ContactInput(string? Email, string? FirstName, string? LastName, string? TimeZone, JsonElement? Properties, ConsentInput? Consent = null);

/// <summary>Marketing consent (CASL): where it was given and when (default: now).</summary>
public sealed record ConsentInput(string? Source, DateTimeOffset? At);

public sealed record ContactConsent(string Source, DateTimeOffset At);

public sealed record ContactBatchRequest(List<ContactInput?>? Contacts);

public sealed record RowError(int Index, Dictionary<string, string[]> Errors);

public sealed record ContactBatchResponse(int Created, int Updated, IReadOnlyList<RowError> Rejected);

public sealed record ContactResponse(
    Guid Id, string Email, string? FirstName, string? LastName, string? TimeZone, JsonElement Properties, string Status,
    int EngagementScore, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, ContactConsent? Consent = null)
{
    public ContactProfile ToProfile(Guid organizationId) => new()
    {
        Id = Id,
        OrganizationId = organizationId,
        Email = Email,
        FirstName = FirstName,
        LastName = LastName,
        TimeZone = TimeZone,
        Status = Status,
        PropertiesJson = Properties.GetRawText(),
        UpdatedAt = UpdatedAt,
    };
}

/// <summary>A validated contact row ready to upsert.</summary>
public sealed record ValidContact(string Email, string? FirstName, string? LastName, string? TimeZone, string? PropertiesJson, string? ConsentSource = null, DateTimeOffset? ConsentAt = null)
{
    public const int MaxNameLength = 200;

    public static ValidContact? From(ContactInput? input, Validator validator, DateTimeOffset now, string prefix = "")
    {
        if (input is null)
        {
            validator.Add(prefix.Length == 0 ? "body" : prefix.TrimEnd('.'), "must be a contact object.");
            return null;
        }

        var email = validator.Email(prefix + "email", input.Email);
        var firstName = validator.Optional(prefix + "firstName", input.FirstName, MaxNameLength);
        var lastName = validator.Optional(prefix + "lastName", input.LastName, MaxNameLength);
        var timeZone = validator.TimeZone(prefix + "timeZone", input.TimeZone);
        var properties = validator.Properties(prefix + "properties", input.Properties);
        string? consentSource = null;
        DateTimeOffset? consentAt = null;
        if (input.Consent is { } consent)
        {
            consentSource = validator.Required(prefix + "consent.source", consent.Source?.Trim(), 100);
            consentAt = (consent.At ?? now).ToUniversalTime();
            if (consentAt > now + TimeSpan.FromMinutes(5) || consentAt < new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero))
            {
                validator.Add(prefix + "consent.at", "must be a past time (ISO 8601).");
            }
        }

        return validator.IsValid ? new ValidContact(email!, firstName, lastName, timeZone, properties, consentSource, consentSource is null ? null : consentAt) : null;
    }
}

public sealed record SuppressionRequest(string? Email, string? Reason);

/// <summary>A suppression as the API shows it; the address's hash is the server's key and is never shown.</summary>
public sealed record SuppressionResponse(string? Email, string Reason, string? Source, DateTimeOffset CreatedAt);

public sealed record TimelineItem(string Type, string Id, DateTimeOffset At, string Name, JsonElement? Detail);

/// <summary>Position in a timeline: items strictly after (older than, or tied and ordered after) this one.</summary>
public sealed record TimelineCursor(DateTimeOffset At, string Type, string Id);

/// <summary>A list the contact belongs to (<c>GET /v1/contacts/{id}/lists</c>).</summary>
public sealed record ContactListMembership(Guid ListId, string Name, DateTimeOffset JoinedAt);

/// <summary>The contact's journey in one workflow (<c>GET /v1/contacts/{id}/journeys</c>); <c>endedAt</c> null while it runs.</summary>
public sealed record ContactJourney(string JourneyId, Guid WorkflowId, string WorkflowName, int Version, string Status, string? StepId,
    DateTimeOffset? EnteredAt, DateTimeOffset? EndedAt, DateTimeOffset UpdatedAt);

/// <summary><c>POST /v1/suppressions/batch</c>: addresses to suppress, all with one reason.</summary>
public sealed record SuppressionImportRequest(IReadOnlyList<string?>? Emails, string? Reason);

/// <summary>Newly suppressed, already on the list, and rejected addresses by index.</summary>
public sealed record SuppressionImportResponse(int Added, int Existing, IReadOnlyList<RowError> Rejected);
