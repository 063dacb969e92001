using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using Automator.WebApi.Auditing;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.ApiKeys;

public sealed record CreateApiKeyRequest(string? Name, string[]? Scopes);

/// <summary>The key itself is in this response only; the database keeps its SHA-256 hash.</summary>
public sealed record CreatedApiKeyResponse(Guid Id, string Key, string Name, string Prefix, string[] Scopes, DateTimeOffset CreatedAt);

/// <summary>Every scope a key may be given (<c>GET /v1/api-keys/scopes</c>).</summary>
public sealed record ApiKeyScopesResponse(IReadOnlyList<string> Scopes);

public sealed record ApiKeyResponse(Guid Id, string Name, string Prefix, string[] Scopes, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt);

public static class ApiKeysEndpoints
{
    public const string KeyPrefix = "ak_";

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var keys = routes.MapGroup("/v1/api-keys").WithTags("API keys").RequireAuthorization(Scopes.ApiKeysManage);
        keys.MapPost("/", CreateAsync).WithIdempotency(new IdempotencyPolicy(IdempotentReplay.Refused));
        keys.MapGet("/", ListAsync);
        keys.MapGet("/scopes", () => TypedResults.Ok(new ApiKeyScopesResponse(Scopes.All)));
        keys.MapDelete("/{id:guid}", RevokeAsync);
        return routes;
    }

    private static async Task<Results<Created<CreatedApiKeyResponse>, ValidationProblem>> CreateAsync(
        CreateApiKeyRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var name = validator.Required("name", request.Name?.Trim());
        if (request.Scopes is null || request.Scopes.Length == 0)
        {
            validator.Add("scopes", $"must list at least one of {string.Join(", ", Scopes.All)}.");
        }
        else
        {
            for (var i = 0; i < request.Scopes.Length; i++)
            {
                if (request.Scopes[i] is not { } scope || !Scopes.All.Contains(scope))
                {
                    validator.Add($"scopes[{i}]", $"is not a scope; expected one of {string.Join(", ", Scopes.All)}.");
                }
            }
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var scopes = request.Scopes!.Distinct(StringComparer.Ordinal).ToArray();
        var id = Guid.CreateVersion7();
        var key = KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var prefix = key[..10];
        var now = time.GetUtcNow();
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, scopes, created_by, created_at)
            VALUES (@id, @org, @name, @prefix, @hash, @scopes, @by, @now)
            """);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("org", caller.GetOrganizationId());
        insert.Parameters.AddWithValue("name", name!);
        insert.Parameters.AddWithValue("prefix", prefix);
        insert.Parameters.AddWithValue("hash", ApiKeyAuthenticationHandler.Hash(key));
        insert.Parameters.AddWithValue("scopes", scopes);
        insert.Parameters.AddWithValue("by", (object?)caller.GetUserId() ?? DBNull.Value);
        insert.Parameters.AddWithValue("now", now);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        await audit.WriteAsync(caller, "api_key.created", "api_key", [id], new { scopes }, cancellationToken);
        return TypedResults.Created("/v1/api-keys/" + id, new CreatedApiKeyResponse(id, key, name!, prefix, scopes, now));
    }

    private static async Task<Results<Ok<Page<ApiKeyResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        await using var command = dataSource.CreateCommand("""
            SELECT id, name, prefix, scopes, created_at, last_used_at FROM api_keys
            WHERE organization_id = @org AND revoked_at IS NULL AND (@after::uuid IS NULL OR id > @after) ORDER BY id LIMIT @take
            """);
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlTypes.NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take + 1);
        var rows = new List<ApiKeyResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ApiKeyResponse(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return TypedResults.Ok(Paging.ToPage(rows, take, k => k.Id));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(
        Guid id, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        await using var revoke = dataSource.CreateCommand("UPDATE api_keys SET revoked_at = @now WHERE id = @id AND organization_id = @org AND revoked_at IS NULL");
        revoke.Parameters.AddWithValue("now", time.GetUtcNow());
        revoke.Parameters.AddWithValue("id", id);
        revoke.Parameters.AddWithValue("org", caller.GetOrganizationId());
        if (await revoke.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return ApiResults.NotFound("API key");
        }

        await audit.WriteAsync(caller, "api_key.revoked", "api_key", [id], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }
}
