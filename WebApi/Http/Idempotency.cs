using System.Text.Json;
using Automator.WebApi.Identity;
using Npgsql;

namespace Automator.WebApi.Http;

/// <summary>
/// Honours <c>Idempotency-Key</c> on creating POSTs: the first response (status and body) is stored per
/// organization and route, and a repeat within 24 hours replays it without running the handler again.
/// A repeat that arrives while the first is still running gets 409.
/// </summary>
public sealed class IdempotencyFilter(NpgsqlDataSource dataSource, TimeProvider time) : IEndpointFilter
{
    public const string HeaderName = "Idempotency-Key";
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var key = http.Request.Headers[HeaderName].ToString();
        if (string.IsNullOrEmpty(key) || http.User.FindFirst(AutomatorClaims.OrganizationId) is null)
        {
            return await next(context);
        }

        if (key.Length > 200 || !Validator.IsStorable(key))
        {
            return ApiResults.Invalid(HeaderName, "must be at most 200 characters.");
        }

        var organizationId = http.User.GetOrganizationId();
        var scope = http.Request.Method + " " + ((http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value);
        var now = time.GetUtcNow();

        await using (var claim = dataSource.CreateCommand("""
            DELETE FROM idempotency_keys WHERE organization_id = @org AND scope = @scope AND key = @key AND created_at < @expired;
            INSERT INTO idempotency_keys (organization_id, scope, key, response, created_at) VALUES (@org, @scope, @key, NULL, @now)
            ON CONFLICT DO NOTHING
            """))
        {
            claim.Parameters.AddWithValue("org", organizationId);
            claim.Parameters.AddWithValue("scope", scope);
            claim.Parameters.AddWithValue("key", key);
            claim.Parameters.AddWithValue("expired", now - Retention);
            claim.Parameters.AddWithValue("now", now);
            if (await claim.ExecuteNonQueryAsync(http.RequestAborted) == 0)
            {
                return await ReplayAsync(organizationId, scope, key, http.RequestAborted);
            }
        }

        object? result;
        try
        {
            result = await next(context);
        }
        catch
        {
            await ForgetAsync(organizationId, scope, key);
            throw;
        }

        // Typed handlers return a Results<...> union: the status and value are on the result it wraps.
        var inner = result;
        while (inner is INestedHttpResult nested)
        {
            inner = nested.Result;
        }

        var status = (inner as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK;
        if (status is >= 200 and < 300)
        {
            var body = (inner as IValueHttpResult)?.Value;
            await using var store = dataSource.CreateCommand("UPDATE idempotency_keys SET response = @response::jsonb WHERE organization_id = @org AND scope = @scope AND key = @key");
            store.Parameters.AddWithValue("org", organizationId);
            store.Parameters.AddWithValue("scope", scope);
            store.Parameters.AddWithValue("key", key);
            store.Parameters.AddWithValue("response", JsonSerializer.Serialize(new StoredResponse(status, body is null ? null : JsonSerializer.SerializeToElement(body, body.GetType(), JsonSerializerOptions.Web)), JsonSerializerOptions.Web));
            await store.ExecuteNonQueryAsync(CancellationToken.None);
        }
        else
        {
            // A rejected request changed nothing: the same key may be retried with a corrected body.
            await ForgetAsync(organizationId, scope, key);
        }

        return result;
    }

    private async Task<object?> ReplayAsync(Guid organizationId, string scope, string key, CancellationToken cancellationToken)
    {
        await using var read = dataSource.CreateCommand("SELECT response FROM idempotency_keys WHERE organization_id = @org AND scope = @scope AND key = @key");
        read.Parameters.AddWithValue("org", organizationId);
        read.Parameters.AddWithValue("scope", scope);
        read.Parameters.AddWithValue("key", key);
        var stored = await read.ExecuteScalarAsync(cancellationToken);
        if (stored is not string json)
        {
            return ApiResults.Conflict("A request with this Idempotency-Key is still being processed.", HeaderName, "is in use by a request still running.");
        }

        var response = JsonSerializer.Deserialize<StoredResponse>(json, JsonSerializerOptions.Web)!;
        return new ReplayedResult(response.Status, response.Body);
    }

    private async Task ForgetAsync(Guid organizationId, string scope, string key)
    {
        await using var delete = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE organization_id = @org AND scope = @scope AND key = @key");
        delete.Parameters.AddWithValue("org", organizationId);
        delete.Parameters.AddWithValue("scope", scope);
        delete.Parameters.AddWithValue("key", key);
        await delete.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private sealed record StoredResponse(int Status, JsonElement? Body);

    private sealed class ReplayedResult(int status, JsonElement? body) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => status;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            if (body is { } value)
            {
                await httpContext.Response.WriteAsJsonAsync(value, JsonSerializerOptions.Web);
            }
        }
    }
}

public static class IdempotencyExtensions
{
    /// <summary>Honours the <c>Idempotency-Key</c> header on this creating route.</summary>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder) => builder.AddEndpointFilter<IdempotencyFilter>();
}
