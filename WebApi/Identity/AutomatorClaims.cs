using System.Security.Claims;

namespace Automator.WebApi.Identity;

/// <summary>Claim types carried by access tokens and API-key identities.</summary>
public static class AutomatorClaims
{
    public const string OrganizationId = "org";
    public const string UserId = "sub";
    public const string Role = "role";
    public const string Scope = "scope";

    /// <summary>"user" for an access token, "api_key" for an API key, "operator_key" for the operator key.</summary>
    public const string ActorType = "actor";

    /// <summary>"true" for a platform operator (see <see cref="OperatorOptions"/>).</summary>
    public const string Operator = "operator";

    /// <summary>The user's session stamp when the token was issued; a newer stamp (sessions revoked) refuses the token.</summary>
    public const string SessionStamp = "sstamp";
}

/// <summary>
/// Scopes name what a caller may do. API keys carry scopes explicitly; a user's role grants a fixed set
/// (viewer: every <c>:read</c>; marketer: every scope but user and key management; admin and owner: all).
/// Each scope is also the name of the authorization policy that requires it.
/// </summary>
public static class Scopes
{
    public const string ContactsRead = "contacts:read";
    public const string ContactsWrite = "contacts:write";
    public const string EventsWrite = "events:write";
    public const string ListsRead = "lists:read";
    public const string ListsWrite = "lists:write";
    public const string SegmentsRead = "segments:read";
    public const string SegmentsWrite = "segments:write";
    public const string TemplatesRead = "templates:read";
    public const string TemplatesWrite = "templates:write";
    public const string WorkflowsRead = "workflows:read";
    public const string WorkflowsWrite = "workflows:write";
    public const string SendsRead = "sends:read";
    public const string ProvidersRead = "providers:read";
    public const string ProvidersWrite = "providers:write";
    public const string SuppressionsRead = "suppressions:read";
    public const string SuppressionsWrite = "suppressions:write";
    public const string AiUse = "ai:use";
    public const string UsersRead = "users:read";
    public const string UsersWrite = "users:write";
    public const string ApiKeysManage = "api-keys:manage";
    public const string AnalyticsRead = "analytics:read";

    public static readonly IReadOnlyList<string> All =
    [
        ContactsRead, ContactsWrite, EventsWrite, ListsRead, ListsWrite, SegmentsRead, SegmentsWrite, TemplatesRead,
        TemplatesWrite, WorkflowsRead, WorkflowsWrite, SendsRead, ProvidersRead, ProvidersWrite, SuppressionsRead,
        SuppressionsWrite, AiUse, UsersRead, UsersWrite, ApiKeysManage, AnalyticsRead,
    ];
}

public static class ClaimsPrincipalExtensions
{
    /// <summary>The caller's organization: the only source of tenant identity, never a body or a route.</summary>
    public static Guid GetOrganizationId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(AutomatorClaims.OrganizationId), out var id)
            ? id
            : throw new InvalidOperationException("The caller has no organization claim; the endpoint must require authorization.");

    /// <summary>The calling user, or null for an API key.</summary>
    public static Guid? GetUserId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(AutomatorClaims.UserId), out var id) ? id : null;
}
