using Automator.Journeys;
using Automator.WebApi.Identity;

namespace Automator.WebApi.Workflows;

/// <summary>The organization's secret that signs its outbound webhook steps, for receivers to verify them.</summary>
public static class WebhookSigningEndpoints
{
    public static IEndpointRouteBuilder MapWebhookSigningApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/organization/webhook-signing-secret", GetAsync).WithTags("Workflows").RequireAuthorization(Scopes.WorkflowsWrite);
        return routes;
    }

    private static async Task<Microsoft.AspNetCore.Http.HttpResults.Ok<WebhookSigningSecret>> GetAsync(HttpContext http, IWebhookSigningSecrets secrets, CancellationToken cancellationToken)
    {
        var secret = await secrets.GetOrCreateAsync(http.User.GetOrganizationId(), cancellationToken);
        return TypedResults.Ok(new WebhookSigningSecret(secret, WebhookSignature.SignatureHeader, WebhookSignature.DeliveryHeader, "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">"));
    }
}

public sealed record WebhookSigningSecret(string Secret, string SignatureHeader, string DeliveryHeader, string Format);
