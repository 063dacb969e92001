using Automator.Live;
using Automator.WebApi.Segments;
using System.Globalization;
using System.Text.Json;
using Automator.Contacts;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Events;

/// <summary>
/// <c>POST /v1/events</c> and <c>/v1/events/batch</c>: validated rows go to their contact grain, which routes them to
/// waiting journeys and to triggers. Engagement events (<c>email.opened</c>, ...) take the same path.
/// </summary>
public static class EventEndpoints
{
    public const int MaxBatch = 1000;
    public const int MaxPropertiesBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/events").WithTags("Events").RequireAuthorization(Scopes.EventsWrite);
        group.MapPost("/", TrackOneAsync);
        group.MapPost("/batch", TrackBatchAsync);
        return routes;
    }

    private static async Task<Results<Accepted<EventAccepted>, ValidationProblem>> TrackOneAsync(
        JsonElement body, HttpContext http, IGrainFactory grains, IContactDirectory directory, IServiceProvider services)
    {
        var (parsed, errors) = Parse(body);
        if (parsed is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The event is invalid.");
        }

        var result = await AcceptAsync(http.User.GetOrganizationId(), [(0, parsed)], grains, directory, services);
        if (result.Rejected.Count > 0)
        {
            return TypedResults.ValidationProblem(result.Rejected[0].Errors, title: "The event is invalid.");
        }

        return TypedResults.Accepted((string?)null, new EventAccepted(parsed.Id, result.ContactIds.GetValueOrDefault(0)));
    }

    private static async Task<Results<Accepted<BatchResult>, ValidationProblem>> TrackBatchAsync(
        JsonElement body, HttpContext http, IGrainFactory grains, IContactDirectory directory, IServiceProvider services)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["events"] = ["An array of events is required."] });
        }

        if (events.GetArrayLength() > MaxBatch)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["events"] = [$"At most {MaxBatch} events per batch."] });
        }

        var rejected = new List<RejectedRow>();
        var good = new List<(int Index, ParsedEvent Event)>();
        var index = 0;
        foreach (var item in events.EnumerateArray())
        {
            var (parsed, errors) = Parse(item);
            if (parsed is null)
            {
                rejected.Add(new RejectedRow(index, errors));
            }
            else
            {
                good.Add((index, parsed));
            }

            index++;
        }

        var result = await AcceptAsync(http.User.GetOrganizationId(), good, grains, directory, services);
        rejected.AddRange(result.Rejected);
        return TypedResults.Accepted((string?)null, new BatchResult(result.Accepted, rejected.OrderBy(r => r.Index).ToList()));
    }

    private sealed record AcceptResult(int Accepted, List<RejectedRow> Rejected, Dictionary<int, Guid> ContactIds);

    private static async Task<AcceptResult> AcceptAsync(Guid organizationId, List<(int Index, ParsedEvent Event)> rows, IGrainFactory grains, IContactDirectory directory, IServiceProvider services)
    {
        var rejected = new List<RejectedRow>();
        var byEmail = await directory.ResolveEmailsAsync(organizationId, rows.Where(r => r.Event.Email is not null).Select(r => r.Event.Email!).ToList(), create: true);
        var known = await directory.FindIdsAsync(organizationId, rows.Where(r => r.Event.ContactId is not null).Select(r => r.Event.ContactId!.Value).ToList());
        var resolved = new List<(int Index, ParsedEvent Event, Guid ContactId, string? Email)>();
        foreach (var (index, e) in rows)
        {
            if (e.Email is not null && byEmail.TryGetValue(e.Email.Trim().ToLowerInvariant(), out var id))
            {
                resolved.Add((index, e, id, e.Email));
            }
            else if (e.ContactId is { } contactId && known.TryGetValue(contactId, out var email))
            {
                resolved.Add((index, e, contactId, email.Length > 0 ? email : null));
            }
            else
            {
                rejected.Add(new RejectedRow(index, new Dictionary<string, string[]> { [e.Email is null ? "contactId" : "email"] = ["No such contact in this organization."] }));
            }
        }

        var dataSource = string.IsNullOrWhiteSpace(services.GetRequiredService<IConfiguration>().GetConnectionString("Postgres")) ? null : services.GetService<NpgsqlDataSource>();
        if (dataSource is not null && resolved.Count > 0)
        {
            var fresh = await FreshIdempotencyKeysAsync(dataSource, organizationId, resolved.Where(r => r.Event.IdempotencyKey is not null).Select(r => r.Event.IdempotencyKey!).ToList());
            resolved = resolved.Where(r => r.Event.IdempotencyKey is null || fresh.Remove(r.Event.IdempotencyKey)).ToList();
            await InsertEventsAsync(dataSource, organizationId, resolved.Select(r => (r.ContactId, r.Event)).ToList());
        }

        // One contact's events stay in order; different contacts run in parallel.
        await Task.WhenAll(resolved.GroupBy(r => r.ContactId).Select(async group =>
        {
            var contact = grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, group.Key));
            foreach (var (_, e, _, email) in group)
            {
                await contact.TrackAsync(new ContactEvent
                {
                    Id = e.Id,
                    Name = e.Name,
                    PropertiesJson = e.PropertiesJson,
                    OccurredAt = e.Timestamp ?? DateTimeOffset.UtcNow,
                    IdempotencyKey = e.IdempotencyKey,
                    Email = email,
                });
            }
        }));

        if (resolved.Count > 0)
        {
            services.GetService<ILiveEvents>()?.EventsIngested(organizationId, resolved.Count);
            if (dataSource is not null && services.GetService<SegmentStore>() is { } segments)
            {
                // Event conditions ("purchased at least once in 30 days") change with the event just written.
                await segments.RefreshContactsAsync(organizationId, resolved.Select(r => r.ContactId).Distinct().ToList(), CancellationToken.None);
            }
        }

        return new AcceptResult(rows.Count - rejected.Count, rejected, resolved.ToDictionary(r => r.Index, r => r.ContactId));
    }

    /// <summary>Keys not seen in the last 24 hours (recorded now); a key older than that counts as new again.</summary>
    private static async Task<HashSet<string>> FreshIdempotencyKeysAsync(NpgsqlDataSource dataSource, Guid organizationId, List<string> keys)
    {
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        if (keys.Count == 0)
        {
            return fresh;
        }

        await using var command = dataSource.CreateCommand("""
            INSERT INTO idempotency_keys (organization_id, scope, key) SELECT $1, 'events', unnest($2::text[])
            ON CONFLICT (organization_id, scope, key) DO UPDATE SET created_at = now() WHERE idempotency_keys.created_at < now() - interval '24 hours'
            RETURNING key
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = keys.Distinct().ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            fresh.Add(reader.GetString(0));
        }

        return fresh;
    }

    private static async Task InsertEventsAsync(NpgsqlDataSource dataSource, Guid organizationId, List<(Guid ContactId, ParsedEvent Event)> rows)
    {
        if (rows.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand("""
            INSERT INTO events (id, organization_id, contact_id, name, properties, occurred_at, idempotency_key)
            SELECT id, $1, contact_id, name, properties::jsonb, occurred_at, key
            FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[]) AS t(id, contact_id, name, properties, occurred_at, key)
            ON CONFLICT (id) DO NOTHING
            """);
        var now = DateTime.UtcNow;
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.ContactId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.Name).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.PropertiesJson).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.Timestamp?.UtcDateTime ?? now).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.IdempotencyKey).ToArray() });
        await command.ExecuteNonQueryAsync();
    }

    internal sealed record ParsedEvent(Guid Id, string Name, string? Email, Guid? ContactId, string PropertiesJson, DateTimeOffset? Timestamp, string? IdempotencyKey);

    /// <summary>Validates one event; every problem is keyed by its field.</summary>
    internal static (ParsedEvent? Event, Dictionary<string, string[]> Errors) Parse(JsonElement e)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (e.ValueKind != JsonValueKind.Object)
        {
            errors["event"] = ["An event must be a JSON object."];
            return (null, errors);
        }

        string? name = null;
        if (!e.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(nameElement.GetString()))
        {
            errors["name"] = ["The event name is required."];
        }
        else if (nameElement.GetString()!.Length > 200)
        {
            errors["name"] = ["The event name is longer than 200 characters."];
        }
        else
        {
            name = nameElement.GetString()!.Trim();
        }

        string? email = null;
        Guid? contactId = null;
        if (e.TryGetProperty("email", out var emailElement) && emailElement.ValueKind != JsonValueKind.Null)
        {
            var text = emailElement.ValueKind == JsonValueKind.String ? emailElement.GetString()!.Trim() : "";
            if (text.Length is 0 or > 320 || text.IndexOf('@', StringComparison.Ordinal) is <= 0 || text.EndsWith('@'))
            {
                errors["email"] = ["Not a valid email address."];
            }
            else
            {
                email = text;
            }
        }

        if (e.TryGetProperty("contactId", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
        {
            if (idElement.ValueKind == JsonValueKind.String && Guid.TryParse(idElement.GetString(), out var id))
            {
                contactId = id;
            }
            else
            {
                errors["contactId"] = ["Not a valid contact id."];
            }
        }

        if (email is null && contactId is null && !errors.ContainsKey("email") && !errors.ContainsKey("contactId"))
        {
            errors["email"] = ["Either email or contactId is required."];
        }

        var properties = "{}";
        if (e.TryGetProperty("properties", out var propertiesElement) && propertiesElement.ValueKind != JsonValueKind.Null)
        {
            if (propertiesElement.ValueKind != JsonValueKind.Object)
            {
                errors["properties"] = ["Properties must be a JSON object."];
            }
            else
            {
                properties = propertiesElement.GetRawText();
                if (System.Text.Encoding.UTF8.GetByteCount(properties) > MaxPropertiesBytes)
                {
                    errors["properties"] = [$"Properties are larger than {MaxPropertiesBytes / 1024} KB."];
                }
            }
        }

        DateTimeOffset? timestamp = null;
        if (e.TryGetProperty("timestamp", out var timestampElement) && timestampElement.ValueKind != JsonValueKind.Null)
        {
            if (timestampElement.ValueKind == JsonValueKind.String &&
                DateTimeOffset.TryParse(timestampElement.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) &&
                timestampElement.GetString()!.Length >= 10)
            {
                timestamp = t;
            }
            else
            {
                errors["timestamp"] = ["Not an ISO 8601 date/time."];
            }
        }

        string? key = null;
        if (e.TryGetProperty("idempotencyKey", out var keyElement) && keyElement.ValueKind != JsonValueKind.Null)
        {
            if (keyElement.ValueKind != JsonValueKind.String || keyElement.GetString()!.Length is 0 or > 255)
            {
                errors["idempotencyKey"] = ["The idempotency key must be a string of 1 to 255 characters."];
            }
            else
            {
                key = keyElement.GetString();
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new ParsedEvent(Guid.NewGuid(), name!, email, contactId, properties, timestamp, key), errors);
    }
}

public sealed record EventAccepted(Guid Id, Guid ContactId);

public sealed record RejectedRow(int Index, Dictionary<string, string[]> Errors);

public sealed record BatchResult(int Accepted, List<RejectedRow> Rejected);
