using System.Security.Claims;
using System.Text.Json;
using Automator.WebApi.Identity;
using Npgsql;

namespace Automator.WebApi.Auditing;

/// <summary>Who did what, when, to which ids: one <c>audit_log</c> row per write by a user or an API key.</summary>
public sealed class AuditLog(NpgsqlDataSource dataSource, TimeProvider time)
{
    public async Task WriteAsync(ClaimsPrincipal caller, string action, string entityType, IEnumerable<Guid> ids, object? detail = null, CancellationToken cancellationToken = default)
    {
        var (actorType, actorId) = Actor(caller);
        await WriteAsync(caller.GetOrganizationId(), actorType, actorId, action, entityType, ids.Select(i => i.ToString()).ToArray(), detail, cancellationToken);
    }

    public async Task WriteAsync(Guid organizationId, string actorType, Guid? actorId, string action, string entityType, string[] ids, object? detail = null, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO audit_log (organization_id, actor_type, actor_id, action, entity_type, entity_ids, detail, occurred_at)
            VALUES (@org, @actorType, @actorId, @action, @entityType, @ids, @detail::jsonb, @at)
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("actorType", actorType);
        command.Parameters.AddWithValue("actorId", (object?)actorId ?? DBNull.Value);
        command.Parameters.AddWithValue("action", action);
        command.Parameters.AddWithValue("entityType", entityType);
        command.Parameters.AddWithValue("ids", ids);
        command.Parameters.AddWithValue("detail", detail is null ? DBNull.Value : JsonSerializer.Serialize(detail, JsonSerializerOptions.Web));
        command.Parameters.AddWithValue("at", time.GetUtcNow());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static (string Type, Guid? Id) Actor(ClaimsPrincipal caller) =>
        caller.FindFirstValue(AutomatorClaims.ActorType) == "api_key"
            ? ("api_key", Guid.TryParse(caller.FindFirstValue("key_id"), out var key) ? key : null)
            : ("user", caller.GetUserId());
}
