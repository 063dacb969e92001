using System.Text.Json;
using Automator.WebApi.Identity;
using Npgsql;

namespace Automator.WebApi.Http;

/// <summary>What the idempotency store keeps of a route's first successful response, and what a repeat gets back.</summary>
public enum IdempotentReplay
{
    /// <summary>The whole response is stored and replayed (bodies that hold no secret and no encrypted contact data).</summary>
    Response,

    /// <summary>Only the status and the created resource's id are stored; a repeat re-reads the resource.</summary>
    Reference,

    /// <summary>
    /// The response carries a secret shown once (an API key, an invitation token): only the status and the id are
    /// stored, and a repeat answers 409 naming the resource instead of the secret.
    /// </summary>
    Refused,
}

/// <summary>Endpoint metadata: how <see cref="IdempotencyFilter"/> stores and replays this route's responses.</summary>
public sealed record IdempotencyPolicy(IdempotentReplay Replay, Func<HttpContext, Guid, Task<object?>>? Reread = null);

/// <summary>
/// Honours <c>Idempotency-Key</c> on creating POSTs: the first response is stored per organization and route, and a
/// repeat within 24 hours answers from it without running the handler again (see <see cref="IdempotentReplay"/>).
/// A repeat that arrives while the first is still running gets 409. Stored rows are purged by
/// <see cref="IdempotencySweeper"/> once 24 hours old.
/// </summary>
public sealed class IdempotencyFilter(NpgsqlDataSource dataSource, TimeProvider time) : IEndpointFilter
{
    public const string HeaderName = "Idempotency-Key";
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

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

        var policy = http.GetEndpoint()?.Metadata.GetMetadata<IdempotencyPolicy>() ?? new IdempotencyPolicy(IdempotentReplay.Response);
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
                return await ReplayAsync(http, policy, organizationId, scope, key);
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
            var value = (inner as IValueHttpResult)?.Value;
            var body = value is null ? (JsonElement?)null : JsonSerializer.SerializeToElement(value, value.GetType(), JsonSerializerOptions.Web);
            var stored = policy.Replay == IdempotentReplay.Response
                ? new StoredResponse(status, body, null)
                : new StoredResponse(status, null, ResourceId(body));
            await using var store = dataSource.CreateCommand("UPDATE idempotency_keys SET response = @response::jsonb WHERE organization_id = @org AND scope = @scope AND key = @key");
            store.Parameters.AddWithValue("org", organizationId);
            store.Parameters.AddWithValue("scope", scope);
            store.Parameters.AddWithValue("key", key);
            store.Parameters.AddWithValue("response", JsonSerializer.Serialize(stored, JsonSerializerOptions.Web));
            await store.ExecuteNonQueryAsync(CancellationToken.None);
        }
        else
        {
            // A rejected request changed nothing: the same key may be retried with a corrected body.
            await ForgetAsync(organizationId, scope, key);
        }

        return result;
    }

    private static Guid? ResourceId(JsonElement? body) =>
        body is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && Guid.TryParse(id.GetString(), out var parsed)
            ? parsed
            : null;

    private async Task<object?> ReplayAsync(HttpContext http, IdempotencyPolicy policy, Guid organizationId, string scope, string key)
    {
        await using var read = dataSource.CreateCommand("SELECT response FROM idempotency_keys WHERE organization_id = @org AND scope = @scope AND key = @key");
        read.Parameters.AddWithValue("org", organizationId);
        read.Parameters.AddWithValue("scope", scope);
        read.Parameters.AddWithValue("key", key);
        var stored = await read.ExecuteScalarAsync(http.RequestAborted);
        if (stored is not string json)
        {
            return ApiResults.Conflict("A request with this Idempotency-Key is still being processed.", HeaderName, "is in use by a request still running.");
        }

        http.Response.Headers["Idempotent-Replayed"] = "true";
        var response = JsonSerializer.Deserialize<StoredResponse>(json, JsonSerializerOptions.Web)!;
        if (response.Body is not null || response.ResourceId is not { } id)
        {
            // A row stored before secrets were kept out holds no resource id: it is answered like a secret.
            return response.Body is not null || policy.Replay == IdempotentReplay.Response
                ? new ReplayedResult(response.Status, response.Body)
                : SecretNotReplayed(null);
        }

        if (policy.Replay == IdempotentReplay.Reference && policy.Reread is { } reread && await reread(http, id) is { } current)
        {
            return new ReplayedResult(response.Status, JsonSerializer.SerializeToElement(current, current.GetType(), JsonSerializerOptions.Web));
        }

        return policy.Replay == IdempotentReplay.Reference
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The resource this Idempotency-Key created no longer exists.",
                extensions: new Dictionary<string, object?> { ["resourceId"] = id, ["errors"] = new Dictionary<string, string[]> { [HeaderName] = ["created a resource that was removed since."] } })
            : SecretNotReplayed(id);
    }

    private static IResult SecretNotReplayed(Guid? id) => TypedResults.Problem(
        statusCode: StatusCodes.Status409Conflict,
        title: "This Idempotency-Key already created a resource whose secret is shown only once.",
        detail: "The secret is not stored, so it cannot be replayed; revoke the resource and create a new one if the first answer was lost.",
        extensions: new Dictionary<string, object?>
        {
            ["resourceId"] = id,
            ["errors"] = new Dictionary<string, string[]> { [HeaderName] = ["was already used; the created secret is not replayed."] },
        });

    private async Task ForgetAsync(Guid organizationId, string scope, string key)
    {
        await using var delete = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE organization_id = @org AND scope = @scope AND key = @key");
        delete.Parameters.AddWithValue("org", organizationId);
        delete.Parameters.AddWithValue("scope", scope);
        delete.Parameters.AddWithValue("key", key);
        await delete.ExecuteNonQueryAsync(CancellationToken.None);
    }

    private sealed record StoredResponse(int Status, JsonElement? Body, Guid? ResourceId);

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

/// <summary>Settings under <c>Automator:Idempotency</c>.</summary>
public sealed class IdempotencyOptions
{
    public const string Section = "Automator:Idempotency";

    /// <summary>How often stored responses older than 24 hours are deleted.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Rows deleted per statement, so a large backlog never holds one long lock.</summary>
    public int SweepBatch { get; set; } = 5_000;
}

/// <summary>Deletes stored idempotent responses once they are 24 hours old (batches on the <c>created_at</c> index).</summary>
public sealed class IdempotencySweeper(NpgsqlDataSource dataSource, Microsoft.Extensions.Options.IOptions<IdempotencyOptions> options, TimeProvider time, ILogger<IdempotencySweeper> log) : BackgroundService
{
    /// <summary>Deletes every row older than the retention as of now; returns how many went.</summary>
    public async Task<long> SweepAsync(CancellationToken cancellationToken = default)
    {
        var cutoff = time.GetUtcNow() - IdempotencyFilter.Retention;
        var batch = Math.Max(1, options.Value.SweepBatch);
        long total = 0;
        while (true)
        {
            await using var delete = dataSource.CreateCommand("""
                DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE created_at < @cutoff LIMIT @batch)
                """);
            delete.Parameters.AddWithValue("cutoff", cutoff);
            delete.Parameters.AddWithValue("batch", batch);
            var deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted < batch)
            {
                return total;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                var swept = await SweepAsync(stoppingToken);
                log.LogDebug("Purged {Count} stored idempotent response(s)", swept);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogWarning(ex, "Idempotency sweep failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

public static class IdempotencyExtensions
{
    /// <summary>Honours the <c>Idempotency-Key</c> header on this creating route, replaying the stored response.</summary>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder) =>
        builder.WithIdempotency(new IdempotencyPolicy(IdempotentReplay.Response));

    /// <summary>Honours the <c>Idempotency-Key</c> header, storing and replaying as the policy says.</summary>
    public static RouteHandlerBuilder WithIdempotency(this RouteHandlerBuilder builder, IdempotencyPolicy policy) =>
        builder.WithMetadata(policy).AddEndpointFilter<IdempotencyFilter>();
}
