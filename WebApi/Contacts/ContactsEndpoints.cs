using System.Buffers.Text;
using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Automator.Infrastructure.Protection;
using Automator.Journeys;
using Automator.WebApi.Auditing;
using Automator.WebApi.Engagement;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Automator.WebApi.Lists;
using Automator.WebApi.Segments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Contacts;

public static class ContactsEndpoints
{
    public const int MaxBatch = 10_000;

    public static IEndpointRouteBuilder MapContactsApi(this IEndpointRouteBuilder routes)
    {
        var contacts = routes.MapGroup("/v1/contacts").WithTags("Contacts");
        // Contact bodies hold decrypted fields: the store keeps only the id, and a repeat reads the contact again.
        contacts.MapPost("/", UpsertAsync).RequireAuthorization(Scopes.ContactsWrite).WithIdempotency(new IdempotencyPolicy(IdempotentReplay.Reference,
            async (http, id) => await http.RequestServices.GetRequiredService<ContactStore>().GetAsync(http.User.GetOrganizationId(), id, http.RequestAborted)));
        contacts.MapPost("/batch", BatchAsync).RequireAuthorization(Scopes.ContactsWrite).WithIdempotency().AllowsLargeBody();
        contacts.MapGet("/", ListAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapPatch("/{id:guid}", PatchAsync).RequireAuthorization(Scopes.ContactsWrite);
        contacts.MapDelete("/{id:guid}", EraseAsync).RequireAuthorization(Scopes.ContactsWrite);
        contacts.MapGet("/{id:guid}/export", ExportAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapGet("/{id:guid}/timeline", TimelineAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapGet("/{id:guid}/lists", ListsOfAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapGet("/{id:guid}/journeys", JourneysOfAsync).RequireAuthorization(Scopes.ContactsRead);
        contacts.MapPost("/{id:guid}/unsubscribe", UnsubscribeAsync).RequireAuthorization(Scopes.ContactsWrite);
        return routes;
    }

    private static async Task<Results<Created<ContactResponse>, Ok<ContactResponse>, ValidationProblem>> UpsertAsync(
        ContactInput request, ClaimsPrincipal caller, ContactStore store, SegmentStore segments, IContactSync sync, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var row = ValidContact.From(request, validator, time.GetUtcNow());
        if (row is null)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        var upserted = (await store.UpsertAsync(organizationId, [row], cancellationToken))[0];
        await AfterWriteAsync(organizationId, [upserted.Contact], segments, sync, cancellationToken);
        await audit.WriteAsync(caller, upserted.Created ? "contact.created" : "contact.updated", "contact", [upserted.Contact.Id], cancellationToken: cancellationToken);
        return upserted.Created
            ? TypedResults.Created("/v1/contacts/" + upserted.Contact.Id, upserted.Contact)
            : TypedResults.Ok(upserted.Contact);
    }

    private static async Task<Results<Ok<ContactBatchResponse>, ValidationProblem>> BatchAsync(
        ContactBatchRequest request, ClaimsPrincipal caller, ContactStore store, SegmentStore segments, IContactSync sync, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (request.Contacts is null || request.Contacts.Count == 0)
        {
            return ApiResults.Invalid("contacts", "must be a non-empty array of contacts.");
        }

        if (request.Contacts.Count > MaxBatch)
        {
            return ApiResults.Invalid("contacts", $"must hold at most {MaxBatch} contacts (got {request.Contacts.Count}).");
        }

        // Per-row validation; a row repeating an earlier email is merged into it (later fields win) so that the
        // single statement never touches one row twice.
        var rejected = new List<RowError>();
        var byEmail = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var rows = new List<ValidContact>();
        var merged = 0;
        var now = time.GetUtcNow();
        for (var i = 0; i < request.Contacts.Count; i++)
        {
            var validator = new Validator();
            var row = ValidContact.From(request.Contacts[i], validator, now);
            if (row is null)
            {
                rejected.Add(new RowError(i, validator.Errors));
                continue;
            }

            if (byEmail.TryGetValue(row.Email, out var earlier))
            {
                rows[earlier] = Merge(rows[earlier], row);
                merged++;
                continue;
            }

            byEmail[row.Email] = rows.Count;
            rows.Add(row);
        }

        var organizationId = caller.GetOrganizationId();
        var upserted = await store.UpsertAsync(organizationId, rows, cancellationToken);
        var contacts = upserted.Select(u => u.Contact).ToList();
        await AfterWriteAsync(organizationId, contacts, segments, sync, cancellationToken);
        var created = upserted.Count(u => u.Created);
        if (contacts.Count > 0)
        {
            await audit.WriteAsync(caller, "contact.batch_upserted", "contact", contacts.Select(c => c.Id), new { created, updated = contacts.Count - created, rejected = rejected.Count }, cancellationToken);
        }

        return TypedResults.Ok(new ContactBatchResponse(created, upserted.Count - created + merged, rejected));
    }

    private static ValidContact Merge(ValidContact first, ValidContact later)
    {
        string? properties = first.PropertiesJson;
        if (later.PropertiesJson is not null)
        {
            if (properties is null)
            {
                properties = later.PropertiesJson;
            }
            else
            {
                var combined = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(properties)!;
                foreach (var (key, value) in JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(later.PropertiesJson)!)
                {
                    combined[key] = value;
                }

                properties = JsonSerializer.Serialize(combined);
            }
        }

        return new ValidContact(later.Email, later.FirstName ?? first.FirstName, later.LastName ?? first.LastName, later.TimeZone ?? first.TimeZone, properties,
            later.ConsentSource ?? first.ConsentSource, later.ConsentSource is null ? first.ConsentAt : later.ConsentAt);
    }

    private static async Task<Results<Ok<Page<ContactResponse>>, ValidationProblem, ProblemHttpResult>> ListAsync(
        string? email, string? property, string? value, Guid? segmentId, Guid? listId, int? limit, string? cursor, ClaimsPrincipal caller,
        ContactStore store, SegmentStore segments, ListStore lists, ContactFieldCipher cipher, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var take = Paging.Limit(validator, limit);
        var after = Paging.After(validator, cursor);
        validator.Optional("email", email, 254);
        var search = PropertySearch(validator, property, value, cipher);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        if (segmentId is { } segment && await segments.GetAsync(organizationId, segment, cancellationToken) is null)
        {
            return ApiResults.NotFound("Segment");
        }

        if (listId is { } list && await lists.GetAsync(organizationId, list, cancellationToken) is null)
        {
            return ApiResults.NotFound("List");
        }

        var rows = await store.ListAsync(organizationId, email?.Trim(), search, segmentId, listId, after, take + 1, cancellationToken);
        return TypedResults.Ok(Paging.ToPage(rows, take, c => c.Id));
    }

    /// <summary>
    /// <c>?property=plan&amp;value=pro</c>: contacts whose top-level property equals the value (as text; a number or a boolean
    /// matches its JSON spelling). Both or neither; a property stored encrypted cannot be searched.
    /// </summary>
    private static PropertyMatch? PropertySearch(Validator validator, string? property, string? value, ContactFieldCipher cipher)
    {
        if (property is null && value is null)
        {
            return null;
        }

        var key = validator.Required("property", property?.Trim(), Validator.MaxKeyLength);
        var text = validator.Required("value", value, Validator.MaxPropertyStringBytes);
        if (key is not null && cipher.SensitiveProperties.Contains(key))
        {
            validator.Add("property", "is stored encrypted and cannot be searched.");
        }

        return key is null || text is null || !validator.IsValid ? null : new PropertyMatch(key, text);
    }

    private static async Task<Results<Ok<Page<ContactListMembership>>, ProblemHttpResult>> ListsOfAsync(
        Guid id, ClaimsPrincipal caller, ContactStore store, CancellationToken cancellationToken)
    {
        var organizationId = caller.GetOrganizationId();
        if (await store.GetAsync(organizationId, id, cancellationToken) is null)
        {
            return ApiResults.NotFound("Contact");
        }

        return TypedResults.Ok(new Page<ContactListMembership>(await store.ListsOfAsync(organizationId, id, cancellationToken), null));
    }

    private static async Task<Results<Ok<Page<ContactJourney>>, ProblemHttpResult>> JourneysOfAsync(
        Guid id, ClaimsPrincipal caller, ContactStore store, IJourneyStore journeys, CancellationToken cancellationToken)
    {
        var organizationId = caller.GetOrganizationId();
        if (await store.GetAsync(organizationId, id, cancellationToken) is null)
        {
            return ApiResults.NotFound("Contact");
        }

        // The journeys table is a projection written in batches: what is recorded so far goes first.
        await journeys.FlushAsync();
        return TypedResults.Ok(new Page<ContactJourney>(await store.JourneysOfAsync(organizationId, id, cancellationToken), null));
    }

    private static async Task<Results<Ok<ContactResponse>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, ContactStore store, CancellationToken cancellationToken)
    {
        var contact = await store.GetAsync(caller.GetOrganizationId(), id, cancellationToken);
        return contact is null ? ApiResults.NotFound("Contact") : TypedResults.Ok(contact);
    }

    private static async Task<Results<Ok<ContactResponse>, ValidationProblem, ProblemHttpResult>> PatchAsync(
        Guid id, JsonElement body, ClaimsPrincipal caller, ContactStore store, SegmentStore segments, IContactSync sync, AuditLog audit, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var patch = ParsePatch(body, validator);
        if (patch is null || !validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        ContactResponse? contact;
        try
        {
            contact = await store.PatchAsync(organizationId, id, patch, cancellationToken);
        }
        catch (DuplicateEmailException)
        {
            return ApiResults.Conflict("Another contact has this email.", "email", "belongs to another contact.");
        }

        if (contact is null)
        {
            return ApiResults.NotFound("Contact");
        }

        await AfterWriteAsync(organizationId, [contact], segments, sync, cancellationToken);
        await audit.WriteAsync(caller, "contact.updated", "contact", [id], new { fields = body.EnumerateObject().Select(p => p.Name).ToArray() }, cancellationToken);
        return TypedResults.Ok(contact);
    }

    private static ContactPatch? ParsePatch(JsonElement body, Validator validator)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            validator.Add("body", "must be a JSON object.");
            return null;
        }

        string? Text(string field, int max)
        {
            if (!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                validator.Add(field, "must be a string or null.");
                return null;
            }

            return validator.Optional(field, value.GetString(), max);
        }

        string? email = null;
        if (body.TryGetProperty("email", out var emailElement))
        {
            if (emailElement.ValueKind == JsonValueKind.String)
            {
                email = validator.Email("email", emailElement.GetString());
            }
            else
            {
                validator.Add("email", "must be a string (an email cannot be removed).");
            }
        }

        var firstName = Text("firstName", ValidContact.MaxNameLength);
        var lastName = Text("lastName", ValidContact.MaxNameLength);
        var timeZone = validator.TimeZone("timeZone", Text("timeZone", 64));
        string? properties = null;
        if (body.TryGetProperty("properties", out var propertiesElement) && propertiesElement.ValueKind != JsonValueKind.Null)
        {
            properties = validator.Properties("properties", propertiesElement);
        }

        if (!body.EnumerateObject().Any(p => p.NameEquals("email") || p.NameEquals("firstName") || p.NameEquals("lastName") || p.NameEquals("timeZone") || p.NameEquals("properties")))
        {
            validator.Add("body", "must set at least one of email, firstName, lastName, timeZone, properties.");
            return null;
        }

        return new ContactPatch(email, body.TryGetProperty("firstName", out _), firstName, body.TryGetProperty("lastName", out _), lastName,
            body.TryGetProperty("timeZone", out _), timeZone, properties);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> EraseAsync(
        Guid id, ClaimsPrincipal caller, ContactStore store, IContactSync sync, AuditLog audit, CancellationToken cancellationToken)
    {
        var organizationId = caller.GetOrganizationId();
        if (!await store.EraseAsync(organizationId, id, cancellationToken))
        {
            return ApiResults.NotFound("Contact");
        }

        await sync.ErasedAsync(organizationId, id, cancellationToken);
        await audit.WriteAsync(caller, "contact.erased", "contact", [id], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<JsonElement>, ProblemHttpResult>> ExportAsync(
        Guid id, ClaimsPrincipal caller, ContactStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        using var document = await store.ExportAsync(caller.GetOrganizationId(), id, cancellationToken);
        if (document is null)
        {
            return ApiResults.NotFound("Contact");
        }

        // Reading everything held on a person is itself worth a trace.
        await audit.WriteAsync(caller, "contact.exported", "contact", [id], cancellationToken: cancellationToken);
        return TypedResults.Ok(document.RootElement.Clone());
    }

    private static async Task<Results<Ok<Page<TimelineItem>>, ValidationProblem, ProblemHttpResult>> TimelineAsync(
        Guid id, int? limit, string? cursor, ClaimsPrincipal caller, ContactStore store, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var take = Paging.Limit(validator, limit);
        TimelineCursor? before = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            before = DecodeTimeCursor(cursor);
            if (before is null)
            {
                validator.Add("cursor", "is not a cursor returned by this timeline.");
            }
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        if (await store.GetAsync(organizationId, id, cancellationToken) is null)
        {
            return ApiResults.NotFound("Contact");
        }

        var items = await store.TimelineAsync(organizationId, id, before, take + 1, cancellationToken);
        return TypedResults.Ok(items.Count > take
            ? new Page<TimelineItem>(items.GetRange(0, take), EncodeTimeCursor(items[take - 1]))
            : new Page<TimelineItem>(items, null));
    }

    private static async Task<Results<Ok<ContactResponse>, ProblemHttpResult>> UnsubscribeAsync(
        Guid id, ClaimsPrincipal caller, Unsubscriber unsubscriber, AuditLog audit, CancellationToken cancellationToken)
    {
        var contact = await unsubscriber.UnsubscribeAsync(caller.GetOrganizationId(), id, Unsubscriber.Api, sendId: null, cancellationToken);
        if (contact is null)
        {
            return ApiResults.NotFound("Contact");
        }

        await audit.WriteAsync(caller, "contact.unsubscribed", "contact", [id], cancellationToken: cancellationToken);
        return TypedResults.Ok(contact);
    }

    /// <summary>After a committed write: the grains learn the new profile, then segment membership follows it.</summary>
    internal static async Task AfterWriteAsync(Guid organizationId, IReadOnlyList<ContactResponse> contacts, SegmentStore segments, IContactSync sync, CancellationToken cancellationToken)
    {
        await sync.ProfileChangedAsync(contacts.Select(c => c.ToProfile(organizationId)).ToList(), cancellationToken);
        await segments.RefreshContactsAsync(organizationId, contacts.Select(c => c.Id).ToArray(), cancellationToken);
    }

    private static string EncodeTimeCursor(TimelineItem last) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Join('|', last.At.UtcTicks.ToString(CultureInfo.InvariantCulture), last.Type, last.Id)));

    private static TimelineCursor? DecodeTimeCursor(string cursor)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor)).Split('|');
            return parts.Length == 3 && parts[1] is "event" or "journey" or "send" && parts[2].Length is > 0 and <= 64 && Validator.IsStorable(parts[2])
                && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 && ticks <= DateTimeOffset.MaxValue.UtcTicks
                ? new TimelineCursor(new DateTimeOffset(ticks, TimeSpan.Zero), parts[1], parts[2])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
