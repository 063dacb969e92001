using System.Security.Claims;
using Automator.WebApi.Auditing;
using Automator.WebApi.Auth;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Users;

public sealed record InviteUserRequest(string? Email, string? Role);

public sealed record UpdateUserRequest(string? Role);

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
        users.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.UsersRead);
        users.MapPatch("/{id:guid}", UpdateAsync).RequireAuthorization(Scopes.UsersWrite);
        return routes;
    }

    private static async Task<Results<Created<InvitedUserResponse>, ValidationProblem, ProblemHttpResult>> InviteAsync(
        InviteUserRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
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
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO users (id, organization_id, email, role, status, invite_token_hash, invite_expires_at, created_at, updated_at)
            VALUES (@id, @org, @email, @role, 'invited', @token, @expires, @now, @now)
            ON CONFLICT DO NOTHING
            """);
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
            SELECT id, email, role, status, organization_id, created_at FROM users
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
        var role = validator.OneOf("role", request.Role, Roles.All, r => r);
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
            return ApiResults.Forbidden("Only an owner can grant or remove the owner role.");
        }

        // The organization keeps at least one owner; the check and the update are one statement.
        await using var update = dataSource.CreateCommand("""
            UPDATE users SET role = @role, updated_at = @now
            WHERE id = @id AND organization_id = @org
              AND (@role = 'owner' OR role <> 'owner'
                   OR EXISTS (SELECT 1 FROM users o WHERE o.organization_id = @org AND o.role = 'owner' AND o.id <> @id AND o.status = 'active'))
            RETURNING id, email, role, status, organization_id, created_at
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
        return TypedResults.Ok(updated);
    }

    private static async Task<UserResponse?> FindAsync(NpgsqlDataSource dataSource, Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, email, role, status, organization_id, created_at FROM users WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static UserResponse Read(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetGuid(4), reader.GetFieldValue<DateTimeOffset>(5));
}
