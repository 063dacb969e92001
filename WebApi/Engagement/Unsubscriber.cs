using System.Text.Json;
using Automator.WebApi.Contacts;
using Automator.WebApi.Events;
using Automator.WebApi.Lists;
using Automator.WebApi.Segments;
using Npgsql;

namespace Automator.WebApi.Engagement;

/// <summary>
/// Unsubscribes a contact, the same way from every door (the one-click POST, the preference page, the API): status
/// <c>unsubscribed</c> with its source and time (the consent record), the address suppressed in the organization, the
/// grains and segments told, and an <c>unsubscribed</c> event into the contact's journeys (so exit events fire). When it
/// came from an email, the send and its step count it too.
/// </summary>
internal sealed class Unsubscriber(
    ContactStore contacts, ListStore lists, SegmentStore segments, IContactSync sync, IEngagementRecorder recorder, EventIngest ingest,
    NpgsqlDataSource dataSource, TimeProvider time)
{
    public const string OneClick = "one-click";
    public const string PreferencePage = "preference-page";
    public const string Api = "api";

    public async Task<ContactResponse?> UnsubscribeAsync(Guid organizationId, Guid contactId, string source, Guid? sendId, CancellationToken cancellationToken)
    {
        var before = await contacts.GetAsync(organizationId, contactId, cancellationToken);
        if (before is null)
        {
            return null;
        }

        var contact = await contacts.SetStatusAsync(organizationId, contactId, "unsubscribed", source, cancellationToken);
        if (contact is null)
        {
            return null;
        }

        await ContactsEndpoints.AfterWriteAsync(organizationId, [contact], segments, sync, cancellationToken);
        if (sendId is { } send)
        {
            // The recorder emits the event with the send's workflow, step and key, once per send.
            await recorder.RecordAsync([new EngagementSignal { Kind = EngagementKinds.Unsubscribed, SendId = send, At = time.GetUtcNow(), Source = source }], cancellationToken);
        }
        else if (before.Status != "unsubscribed")
        {
            var properties = JsonSerializer.Serialize(new Dictionary<string, string> { ["source"] = source });
            await ingest.AcceptAsync(organizationId, [(0, new EventEndpoints.ParsedEvent(Guid.CreateVersion7(), "unsubscribed", null, contactId, properties, time.GetUtcNow(), null))]);
        }

        return contact;
    }

    /// <summary>Takes the contact off one list, leaving its other subscriptions as they are.</summary>
    public Task<bool> LeaveListAsync(Guid organizationId, Guid contactId, Guid listId, CancellationToken cancellationToken) =>
        lists.RemoveMemberAsync(organizationId, listId, contactId, cancellationToken);

    /// <summary>What the preference page shows: the organization, the contact, and the lists it belongs to.</summary>
    public async Task<PreferencePage?> PreferencesAsync(Guid organizationId, Guid contactId, CancellationToken cancellationToken)
    {
        var contact = await contacts.GetAsync(organizationId, contactId, cancellationToken);
        if (contact is null)
        {
            return null;
        }

        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT name FROM organizations WHERE id = $1), l.id, l.name
            FROM (SELECT 1) AS one
            LEFT JOIN list_members m ON m.organization_id = $1 AND m.contact_id = $2
            LEFT JOIN email_lists l ON l.id = m.list_id
            ORDER BY l.name
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = contactId });
        var organization = "";
        var memberOf = new List<(Guid, string)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                organization = reader.IsDBNull(0) ? "" : reader.GetString(0);
                if (!reader.IsDBNull(1))
                {
                    memberOf.Add((reader.GetGuid(1), reader.GetString(2)));
                }
            }
        }

        return new PreferencePage(organization, contact.Email, contact.Status == "unsubscribed", memberOf);
    }
}

public sealed record PreferencePage(string OrganizationName, string Email, bool Unsubscribed, IReadOnlyList<(Guid Id, string Name)> Lists);
