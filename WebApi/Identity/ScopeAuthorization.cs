using Microsoft.AspNetCore.Authorization;

namespace Automator.WebApi.Identity;

/// <summary>Requires a scope: granted to a user by role, to an API key by its explicit scopes.</summary>
public sealed class ScopeRequirement(string scope) : IAuthorizationRequirement
{
    public string Scope { get; } = scope;
}

public sealed class ScopeAuthorizationHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var user = context.User;
        if (user.FindFirst(AutomatorClaims.OrganizationId) is null)
        {
            return Task.CompletedTask;
        }

        var granted = user.FindFirst(AutomatorClaims.ActorType)?.Value == "api_key"
            ? user.FindAll(AutomatorClaims.Scope).Any(c => c.Value == requirement.Scope)
            : Roles.Grants(user.FindFirst(AutomatorClaims.Role)?.Value, requirement.Scope);
        if (granted)
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Roles per organization and the scopes each grants.</summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Marketer = "marketer";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Marketer, Viewer];

    // providers:write pauses and resumes the organization's own sending.
    private static readonly HashSet<string> AdminOnly = [Scopes.UsersWrite, Scopes.ApiKeysManage, Scopes.ProvidersWrite];

    public static bool Grants(string? role, string scope) => role switch
    {
        Owner or Admin => true,
        Marketer => !AdminOnly.Contains(scope),
        Viewer => scope.EndsWith(":read", StringComparison.Ordinal),
        _ => false,
    };
}
