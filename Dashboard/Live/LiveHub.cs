using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Automator.Dashboard.Live;

/// <summary>
/// The live hub. It has no client-callable methods on purpose: the server pushes through
/// <see cref="IHubContext{THub}"/>, and a connection joins only its own organization's group, taken from the
/// access token when it connects. Only a signed-in user whose role reads workflows connects (never an API key), and
/// the connection is closed when the access token expires.
/// </summary>
[Authorize(Policy = Policy)]
public sealed class LiveHub(LiveConnections connections) : Hub
{
    public const string Policy = "live-hub";

    public static string GroupOf(Guid organizationId) => $"org:{organizationId}";

    /// <summary>A user's access token (actor <c>user</c>) whose role grants <c>workflows:read</c>.</summary>
    public static void BuildPolicy(AuthorizationPolicyBuilder policy) => policy
        .AddAuthenticationSchemes(Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerDefaults.AuthenticationScheme)
        .RequireAuthenticatedUser()
        .RequireClaim(AutomatorClaims.OrganizationId)
        .RequireClaim(AutomatorClaims.ActorType, "user")
        .AddRequirements(new ScopeRequirement(Scopes.WorkflowsRead));

    public override async Task OnConnectedAsync()
    {
        if (!Guid.TryParse(Context.User?.FindFirst(AutomatorClaims.OrganizationId)?.Value, out var organizationId)
            || Context.User?.FindFirst(AutomatorClaims.ActorType)?.Value != "user")
        {
            Context.Abort();
            return;
        }

        Context.Items[nameof(organizationId)] = organizationId;
        connections.Add(organizationId);
        await Groups.AddToGroupAsync(Context.ConnectionId, GroupOf(organizationId));
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue("organizationId", out var value) && value is Guid organizationId)
        {
            connections.Remove(organizationId);
        }

        return base.OnDisconnectedAsync(exception);
    }
}

/// <summary>Which organizations have a live connection on this dashboard process, so others' batches are skipped.</summary>
public sealed class LiveConnections
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, int> _counts = [];

    public void Add(Guid organizationId)
    {
        lock (_lock)
        {
            _counts[organizationId] = _counts.GetValueOrDefault(organizationId) + 1;
        }
    }

    public void Remove(Guid organizationId)
    {
        lock (_lock)
        {
            if (_counts.TryGetValue(organizationId, out var count))
            {
                if (count <= 1)
                {
                    _counts.Remove(organizationId);
                }
                else
                {
                    _counts[organizationId] = count - 1;
                }
            }
        }
    }

    public bool IsConnected(Guid organizationId)
    {
        lock (_lock)
        {
            return _counts.ContainsKey(organizationId);
        }
    }

    public IReadOnlyList<Guid> Organizations()
    {
        lock (_lock)
        {
            return [.. _counts.Keys];
        }
    }
}
