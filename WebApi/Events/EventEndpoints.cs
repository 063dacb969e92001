using Automator.Infrastructure.Telemetry;
using System.Globalization;
using System.Text.Json;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Events;

/// <summary>
/// <c>POST /v1/events</c> and <c>/v1/events/batch</c>: validated rows go to their contact grain, which routes them to
/// waiting journeys and to triggers. Engagement events (<c>email.opened</c>, ...) take the same path.
/// </summary>
public static class EventEndpoints
{
    public const int MaxBatch = 1000;
    public const int MaxPropertiesBytes = 64 * 1024;

    private static readonly JsonDocumentOptions BodyOptions = new() { MaxDepth = 32 };

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/events").WithTags("Events").RequireAuthorization(Scopes.EventsWrite);
        group.MapPost("/", TrackOneAsync);
        group.MapPost("/batch", TrackBatchAsync).Accepts<JsonElement>("application/json");
        return routes;
    }

    private static async Task<Results<Accepted<EventAccepted>, ValidationProblem>> TrackOneAsync(
        JsonElement body, HttpContext http, SingleEventBatcher batcher)
    {
        var (parsed, errors) = Parse(body);
        if (parsed is null)
        {
            return TypedResults.ValidationProblem(errors, title: "The event is invalid.");
        }

        var outcome = await batcher.TrackAsync(http.User.GetOrganizationId(), parsed with { TraceParent = AutomatorTracing.CurrentParent() });
        if (outcome.Errors is not null)
        {
            return TypedResults.ValidationProblem(outcome.Errors, title: "The event is invalid.");
        }

        return TypedResults.Accepted((string?)null, new EventAccepted(parsed.Id, outcome.ContactId));
    }

    /// <summary>
    /// Parses the body itself into a pooled document, released when the batch is accepted: a 1,000-event body would
    /// otherwise be copied into large-object-heap arrays on every call. Malformed JSON is a 400 like on every route.
    /// </summary>
    private static async Task<Results<Accepted<BatchResult>, ValidationProblem>> TrackBatchAsync(HttpContext http, EventIngest ingest)
    {
        using var document = await JsonDocument.ParseAsync(http.Request.Body, BodyOptions, http.RequestAborted);
        return await AcceptBatchAsync(document.RootElement, http, ingest);
    }

    private static async Task<Results<Accepted<BatchResult>, ValidationProblem>> AcceptBatchAsync(JsonElement body, HttpContext http, EventIngest ingest)
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

        var result = await ingest.AcceptAsync(http.User.GetOrganizationId(), good);
        rejected.AddRange(result.Rejected);
        return TypedResults.Accepted((string?)null, new BatchResult(result.Accepted, rejected.OrderBy(r => r.Index).ToList()));
    }

    internal sealed record ParsedEvent(Guid Id, string Name, string? Email, Guid? ContactId, string PropertiesJson, DateTimeOffset? Timestamp, string? IdempotencyKey)
    {
        /// <summary>The request's trace, for an event that waits in a batch before its contact is called.</summary>
        public string? TraceParent { get; init; }
    }

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

        return (new ParsedEvent(Guid.CreateVersion7(), name!, email, contactId, properties, timestamp, key), errors);
    }
}

public sealed record EventAccepted(Guid Id, Guid ContactId);

public sealed record RejectedRow(int Index, Dictionary<string, string[]> Errors);

public sealed record BatchResult(int Accepted, List<RejectedRow> Rejected);
