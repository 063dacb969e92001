using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Automator.Contacts;
using Automator.WebApi.Events;
using Automator.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Workflows;

/// <summary>
/// Inbound webhook triggers: <c>POST /hooks/workflows/{organizationId}/{workflowId}</c> with
/// <c>X-Automator-Signature: sha256=&lt;hex HMAC-SHA256 of the raw body with the trigger's secret&gt;</c> and a body
/// <c>{ email | contactId, properties? }</c>. The signature is the caller's identity; a bad one records nothing.
/// </summary>
public static class WorkflowWebhookEndpoints
{
    public const string SignatureHeader = "X-Automator-Signature";

    public static IEndpointRouteBuilder MapWorkflowWebhooks(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/hooks/workflows/{organizationId:guid}/{workflowId:guid}", ReceiveAsync).WithTags("Workflows").AllowAnonymous();
        return routes;
    }

    public static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    private static async Task<Results<Accepted, ValidationProblem, ProblemHttpResult, UnauthorizedHttpResult>> ReceiveAsync(
        Guid organizationId, Guid workflowId, HttpRequest request, IGrainFactory grains, IContactDirectory directory)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var info = await grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId)).GetAsync();
        var trigger = info?.ActiveTriggerJson is { } json ? JsonSerializer.Deserialize<WorkflowTrigger>(json, WorkflowJson.Options) : null;
        if (info is null || trigger is not { Type: TriggerTypes.Webhook, Secret: { Length: > 0 } secret })
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No webhook-triggered workflow here.");
        }

        var signature = request.Headers[SignatureHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(signature), Encoding.UTF8.GetBytes(Sign(secret, body))))
        {
            return TypedResults.Unauthorized();
        }

        JsonElement payload;
        try
        {
            using var document = JsonDocument.Parse(body);
            payload = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] });
        }

        Guid? contactId = null;
        if (payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("email", out var email) && email.ValueKind == JsonValueKind.String && email.GetString()!.Contains('@', StringComparison.Ordinal))
        {
            var resolved = await directory.ResolveEmailsAsync(organizationId, [email.GetString()!], create: true);
            contactId = resolved.Values.FirstOrDefault();
        }
        else if (payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty("contactId", out var id) && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var parsed))
        {
            contactId = (await directory.FindIdsAsync(organizationId, [parsed])).Keys.Cast<Guid?>().FirstOrDefault();
        }

        if (contactId is not { } contact || contact == Guid.Empty)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["email"] = ["A known contactId or an email is required."] });
        }

        var properties = payload.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p.GetRawText() : "{}";
        var outcome = await grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contact)).EnrollAsync(workflowId, "webhook", properties);
        return outcome.Rejected is null || outcome.Rejected.Contains("already", StringComparison.Ordinal) || outcome.Rejected.Contains("re-entry", StringComparison.Ordinal)
            ? TypedResults.Accepted((string?)null)
            : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: outcome.Rejected);
    }
}
