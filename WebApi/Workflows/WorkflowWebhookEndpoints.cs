using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Automator.Contacts;
using Automator.WebApi.Events;
using Automator.WebApi.Http;
using Automator.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Workflows;

/// <summary>
/// Inbound webhook triggers: <c>POST /hooks/workflows/{organizationId}/{workflowId}</c> with
/// <c>X-Automator-Timestamp: &lt;unix seconds&gt;</c> and
/// <c>X-Automator-Signature: sha256=&lt;hex HMAC-SHA256 of "timestamp.body" with the trigger's secret&gt;</c>, and a body
/// <c>{ email | contactId, properties? }</c>. The signature is the caller's identity; a bad one, or a timestamp more
/// than <see cref="MaxAge"/> away from now, records nothing.
/// </summary>
public static class WorkflowWebhookEndpoints
{
    public const string SignatureHeader = "X-Automator-Signature";
    public const string TimestampHeader = "X-Automator-Timestamp";

    /// <summary>How far a request's signed timestamp may be from now (either way) before it is refused as a replay.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    public static IEndpointRouteBuilder MapWorkflowWebhooks(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/hooks/workflows/{organizationId:guid}/{workflowId:guid}", ReceiveAsync).WithTags("Workflows").AllowAnonymous();
        return routes;
    }

    /// <summary>The signature header's value for a body sent at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(string secret, long timestamp, string body) =>
        Sign(secret, timestamp.ToString(CultureInfo.InvariantCulture), body);

    private static string Sign(string secret, string timestamp, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(timestamp + "." + body)));

    private static async Task<Results<Accepted, ValidationProblem, ProblemHttpResult>> ReceiveAsync(
        Guid organizationId, Guid workflowId, HttpRequest request, IGrainFactory grains, IContactDirectory directory, IWebhookSecrets secrets, TimeProvider time)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        var info = await grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId)).GetAsync();
        var trigger = info?.ActiveTriggerJson is { } json ? JsonSerializer.Deserialize<WorkflowTrigger>(json, WorkflowJson.Options) : null;
        if (info is null || trigger is not { Type: TriggerTypes.Webhook })
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No webhook-triggered workflow here.");
        }

        // Versions frozen before secrets were kept apart carry theirs in the trigger.
        var secret = await secrets.GetAsync(organizationId, workflowId, request.HttpContext.RequestAborted) ?? trigger.Secret;
        if (string.IsNullOrEmpty(secret) || !Verified(request, secret, body, time.GetUtcNow()))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "The signature or its timestamp is missing, wrong or too old.",
                detail: $"Sign \"<{TimestampHeader}>.<body>\" with HMAC-SHA256; the timestamp must be within {MaxAge.TotalMinutes} minutes of now.");
        }

        JsonElement payload;
        try
        {
            using var document = JsonDocument.Parse(body);
            payload = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return ApiResults.Invalid("body", "must be a JSON object.");
        }

        if (payload.ValueKind != JsonValueKind.Object)
        {
            return ApiResults.Invalid("body", "must be a JSON object.");
        }

        // Everything is validated before the contact is looked up or created.
        var validator = new Validator();
        string? email = null;
        Guid? contactId = null;
        if (payload.TryGetProperty("email", out var emailValue))
        {
            email = validator.Email("email", emailValue.ValueKind == JsonValueKind.String ? emailValue.GetString() : null);
        }
        else if (payload.TryGetProperty("contactId", out var id) && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var parsed))
        {
            contactId = parsed;
        }
        else
        {
            validator.Add("email", "is required (or a known contactId).");
        }

        var properties = payload.TryGetProperty("properties", out var p) ? validator.Properties("properties", p) ?? "{}" : "{}";
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        if (email is not null)
        {
            contactId = (await directory.ResolveEmailsAsync(organizationId, [email], create: true)).Values.FirstOrDefault();
        }
        else if (contactId is { } known)
        {
            contactId = (await directory.FindIdsAsync(organizationId, [known])).Keys.Cast<Guid?>().FirstOrDefault();
        }

        if (contactId is not { } contact || contact == Guid.Empty)
        {
            return ApiResults.Invalid(email is null ? "contactId" : "email", email is null ? "is not a contact of this organization." : "does not name a contact.");
        }

        var outcome = await grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contact)).EnrollAsync(workflowId, "webhook", properties);
        return outcome.Rejected is null || outcome.Rejected.Contains("already", StringComparison.Ordinal) || outcome.Rejected.Contains("re-entry", StringComparison.Ordinal)
            ? TypedResults.Accepted((string?)null)
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: outcome.Rejected);
    }

    private static bool Verified(HttpRequest request, string secret, string body, DateTimeOffset now)
    {
        var stamp = request.Headers[TimestampHeader].ToString();
        if (!long.TryParse(stamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > MaxAge)
        {
            return false;
        }

        var signature = request.Headers[SignatureHeader].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(signature), Encoding.UTF8.GetBytes(Sign(secret, stamp, body)));
    }
}
