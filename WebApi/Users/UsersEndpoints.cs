using System.Security.Claims;
using Automator.WebApi.Auditing;
using Automator.WebApi.Auth;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Users;

public sealed record InviteUserRequest(string? Email, string? Role);

/// <summary>Either or both: a new role; <c>disabled: true</c> to offboard (every session revoked), <c>false</c> to restore.</summary>
public sealed record UpdateUserRequest(string? Role, bool? Disabled);

/// <summary>A role and the scopes it grants (<c>GET /v1/users/roles</c>), the most powerful first.</summary>
public sealed record RoleResponse(string Name, string[] Scopes);

public sealed record RolesResponse(RoleResponse[] Roles);

/// <summary>The invitation token is shown once, in the response to the invite.</summary>
public sealed record InvitedUserResponse(Guid Id, string Email, string Role, string Status, Guid OrganizationId, DateTimeOffset CreatedAt, string InviteToken, DateTimeOffset InviteExpiresAt);

public static class UsersEndpoints
{
    private static readonly TimeSpan InviteLifetime = TimeSpan.FromDays(7);

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder routes)
    {
        var users = routes.MapGroup("/v1/users").WithTags("Users");
        users.MapPost("/", InviteAsync).RequireAuthorization(Scopes.UsersWrite).WithIdempotency(new IdempotencyPolicy(IdempotentReplay.Refused));
        users.MapGet("/", ListAsync).RequireAuthorization(Scopes.UsersRead);
        users.MapGet("/roles", () => TypedResults.Ok(new RolesResponse(Roles.All.Select(r => new RoleResponse(r, Scopes.All.Where(s => Roles.Grants(r, s)).ToArray())).ToArray())))
            .RequireAuthorization(Scopes.UsersRead);
        users.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.UsersRead);
        users.MapPatch("/{id:guid}", UpdateAsync).RequireAuthorization(Scopes.UsersWrite);
        users.MapDelete("/{id:guid}", RemoveAsync).RequireAuthorization(Scopes.UsersWrite);
        return routes;
    }

    private static async Task<Results<Created<InvitedUserResponse>, ValidationProblem, ProblemHttpResult>> InviteAsync(
        InviteUserRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, EmailOwnership ownership, AuditLog audit, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var email = validator.Email("email", request.Email);
        var role = validator.OneOf("role", request.Role, Roles.All, r => r);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        if (role == Roles.Owner && caller.FindFirstValue(AutomatorClaims.Role) != Roles.Owner)
        {
            return ApiResults.Forbidden("Only an owner can invite an owner.");
        }

        var id = Guid.CreateVersion7();
        var organizationId = caller.GetOrganizationId();
        var token = RefreshTokens.NewToken();
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await ownership.AuditReleasedAsync(await ownership.ReleaseStaleAsync(connection, null, email!, cancellationToken), cancellationToken);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO users (id, organization_id, email, role, status, invite_token_hash, invite_expires_at, created_at, updated_at)
            VALUES (@id, @org, @email, @role, 'invited', @token, @expires, @now, @now)
            ON CONFLICT DO NOTHING
            """, connection);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("org", organizationId);
        insert.Parameters.AddWithValue("email", email!);
        insert.Parameters.AddWithValue("role", role!);
        insert.Parameters.AddWithValue("token", RefreshTokens.Hash(token));
        insert.Parameters.AddWithValue("expires", now + InviteLifetime);
        insert.Parameters.AddWithValue("now", now);
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return ApiResults.Conflict("A user with this email already exists.", "email", "is already registered.");
        }

        await audit.WriteAsync(caller, "user.invited", "user", [id], new { role }, cancellationToken);
        return TypedResults.Created("/v1/users/" + id, new InvitedUserResponse(id, email!, role!, "invited", organizationId, now, token, now + InviteLifetime));
    }

    private static async Task<Results<Ok<Page<UserResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        await using var command = dataSource.CreateCommand("""
            SELECT id, email, role, status, organization_id, created_at, email_verified_at IS NOT NULL FROM users
            WHERE organization_id = @org AND (@after::uuid IS NULL OR id > @after) ORDER BY id LIMIT @take
            """);
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlTypes.NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take + 1);
        var rows = new List<UserResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return TypedResults.Ok(Paging.ToPage(rows, take, u => u.Id));
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var user = await FindAsync(dataSource, caller.GetOrganizationId(), id, cancellationToken);
        return user is null ? ApiResults.NotFound("User") : TypedResults.Ok(user);
    }

    private static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, UpdateUserRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        string? role = null;
        if (request.Role is not null || request.Disabled is null)
        {
            role = validator.OneOf("role", request.Role, Roles.All, r => r);
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        var existing = await FindAsync(dataSource, organizationId, id, cancellationToken);
        if (existing is null)
        {
            return ApiResults.NotFound("User");
        }

        var callerIsOwner = caller.FindFirstValue(AutomatorClaims.Role) == Roles.Owner;
        if ((role == Roles.Owner || existing.Role == Roles.Owner) && !callerIsOwner)
        {
            return ApiResults.Forbidden("Only an owner can grant or remove the owner role, or disable an owner.");
        }

        if (request.Disabled == true && caller.GetUserId() == id)
        {
            return ApiResults.Conflict("You cannot disable yourself.", "disabled", "cannot be set on your own user; ask another owner or admin.");
        }

        if (role is null)
        {
            return await SetDisabledAsync(existing, request.Disabled!.Value, caller, dataSource, audit, time, cancellationToken);
        }

        // The organization keeps at least one owner; the check and the update are one statement.
        await using var update = dataSource.CreateCommand("""
            UPDATE users SET role = @role, updated_at = @now
            WHERE id = @id AND organization_id = @org
              AND (@role = 'owner' OR role <> 'owner'
                   OR EXISTS (SELECT 1 FROM users o WHERE o.organization_id = @org AND o.role = 'owner' AND o.id <> @id AND o.status = 'active'))
            RETURNING id, email, role, status, organization_id, created_at, email_verified_at IS NOT NULL
            """);
        update.Parameters.AddWithValue("role", role!);
        update.Parameters.AddWithValue("now", time.GetUtcNow());
        update.Parameters.AddWithValue("id", id);
        update.Parameters.AddWithValue("org", organizationId);
        await using var reader = await update.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return ApiResults.Conflict("The organization must keep at least one owner.", "role", "would leave the organization without an owner.");
        }

        var updated = Read(reader);
        await reader.DisposeAsync();
        await audit.WriteAsync(caller, "user.role_changed", "user", [id], new { from = existing.Role, to = role }, cancellationToken);
        return request.Disabled is { } disabled
            ? await SetDisabledAsync(updated, disabled, caller, dataSource, audit, time, cancellationToken)
            : TypedResults.Ok(updated);
    }

    /// <summary>
    /// Disables (every session and refresh-token family revoked at once, access tokens refused from the next request,
    /// sign-in refused) or restores a user. The last active owner cannot be disabled.
    /// </summary>
    private static async Task<Results<Ok<UserResponse>, ValidationProblem, ProblemHttpResult>> SetDisabledAsync(
        UserResponse existing, bool disabled, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var update = new NpgsqlCommand(disabled
            ? """
              UPDATE users SET status = 'disabled', updated_at = @now
              WHERE id = @id AND organization_id = @org
                AND (role <> 'owner'
                     OR EXISTS (SELECT 1 FROM users o WHERE o.organization_id = @org AND o.role = 'owner' AND o.id <> @id AND o.status = 'active'))
              RETURNING id, email, role, status, organization_id, created_at, email_verified_at IS NOT NULL
              """
            : """
              UPDATE users SET status = CASE WHEN status <> 'disabled' THEN status WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END,
                  updated_at = @now
              WHERE id = @id AND organization_id = @org
              RETURNING id, email, role, status, organization_id, created_at, email_verified_at IS NOT NULL
              """, connection, transaction);
        update.Parameters.AddWithValue("now", now);
        update.Parameters.AddWithValue("id", existing.Id);
        update.Parameters.AddWithValue("org", existing.OrganizationId);
        UserResponse? updated;
        await using (var reader = await update.ExecuteReaderAsync(cancellationToken))
        {
            updated = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        if (updated is null)
        {
            return ApiResults.Conflict("The organization must keep at least one active owner.", "disabled", "would leave the organization without an active owner.");
        }

        if (disabled)
        {
            await SessionStamps.RevokeAllAsync(connection, transaction, existing.Id, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        if (disabled || existing.Status == "disabled")
        {
            await audit.WriteAsync(caller, disabled ? "user.disabled" : "user.enabled", "user", [existing.Id], cancellationToken: cancellationToken);
        }

        return TypedResults.Ok(updated);
    }

    /// <summary>
    /// Removes a user from the organization: the row goes (their address is free again), every session is revoked at once
    /// and their access tokens are refused from the next request. Not yourself, not the last active owner, and an owner
    /// only by an owner. API keys they created stay: they belong to the organization.
    /// </summary>
    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveAsync(
        Guid id, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var organizationId = caller.GetOrganizationId();
        var existing = await FindAsync(dataSource, organizationId, id, cancellationToken);
        if (existing is null)
        {
            return ApiResults.NotFound("User");
        }

        if (existing.Role == Roles.Owner && caller.FindFirstValue(AutomatorClaims.Role) != Roles.Owner)
        {
            return ApiResults.Forbidden("Only an owner can remove an owner.");
        }

        if (caller.GetUserId() == id)
        {
            return ApiResults.Conflict("You cannot remove yourself.", "id", "is your own user; ask another owner or admin.");
        }

        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await SessionStamps.RevokeAllAsync(connection, transaction, id, now, cancellationToken);
        await using (var delete = new NpgsqlCommand("""
            DELETE FROM users
            WHERE id = @id AND organization_id = @org
              AND (role <> 'owner'
                   OR EXISTS (SELECT 1 FROM users o WHERE o.organization_id = @org AND o.role = 'owner' AND o.id <> @id AND o.status = 'active'))
            """, connection, transaction))
        {
            delete.Parameters.AddWithValue("id", id);
            delete.Parameters.AddWithValue("org", organizationId);
            if (await delete.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return ApiResults.Conflict("The organization must keep at least one active owner.", "id", "is the last active owner.");
            }
        }

        await transaction.CommitAsync(cancellationToken);
        await audit.WriteAsync(caller, "user.removed", "user", [id], new { role = existing.Role }, cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<UserResponse?> FindAsync(NpgsqlDataSource dataSource, Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, email, role, status, organization_id, created_at, email_verified_at IS NOT NULL FROM users WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static UserResponse Read(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetGuid(4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetBoolean(6));
}
