using Automator.Delivery;
using Automator.Delivery.Providers;
using Automator.Delivery.SendLog;
using Automator.WebApi.Identity;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Delivery;

public sealed record SendItem(
    Guid Id, string SendKey, string Email, string Subject, string? Provider, string? ProviderMessageId, string Status,
    DateTimeOffset? SentAt, DateTimeOffset? DeliveredAt, DateTimeOffset? OpenedAt, DateTimeOffset? ClickedAt, DateTimeOffset? BouncedAt,
    string? Error, Guid? ContactId, Guid? WorkflowId, string? StepId, string? Variant, int Attempts, DateTimeOffset CreatedAt,
    int Opens, int UniqueOpens, int Clicks, int UniqueClicks, int MachineOpens, int MachineClicks, string? BounceType,
    DateTimeOffset? ComplainedAt, DateTimeOffset? UnsubscribedAt);

public sealed record ListResponse<T>(IReadOnlyList<T> Items, string? NextCursor);

/// <summary>
/// A provider account as a caller may see it. An operator sees the account's own figures; a tenant sees the provider's
/// health with its own organization's sends and errors of the last minute, its rate over that minute, and
/// <see cref="Share"/>: the part of the account's configured rate that rate takes (0..1). Platform-wide volumes
/// (<see cref="SentToday"/>) are null for tenants.
/// </summary>
public sealed record ProviderItem(
    string Name, string State, double RatePerSecond, long SentLastMinute, long ErrorsLastMinute,
    double ConfiguredRatePerSecond, string Circuit, bool Primary, long? DailyLimit, long? SentToday, double? Share = null);

/// <summary>Routes for the send log and the provider accounts.</summary>
public static class DeliveryEndpoints
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    public static IEndpointRouteBuilder MapDeliveryApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("Delivery");
        v1.MapGet("/sends", ListSendsAsync).RequireAuthorization(Scopes.SendsRead).WithName("ListSends");
        v1.MapGet("/providers", ListProvidersAsync).RequireAuthorization(IdentityExtensions.ProvidersView).WithName("ListProviders");

        // Provider grains are shared by every organization: pausing one stops email for all, so only operators may.
        v1.MapPost("/providers/{name}/pause", (string name, ProviderRegistry registry, IGrainFactory grains) => ChangeAsync(name, registry, grains, pause: true))
            .RequireAuthorization(Operators.Policy).WithName("PauseProvider");
        v1.MapPost("/providers/{name}/resume", (string name, ProviderRegistry registry, IGrainFactory grains) => ChangeAsync(name, registry, grains, pause: false))
            .RequireAuthorization(Operators.Policy).WithName("ResumeProvider");
        return app;
    }

    private static async Task<Results<Ok<ListResponse<SendItem>>, ValidationProblem>> ListSendsAsync(
        HttpContext http, ISendLog sendLog, string? contactId, string? workflowId, string? status, string? limit, string? cursor)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Guid? contact = ParseGuid(contactId, "contactId", errors);
        Guid? workflow = ParseGuid(workflowId, "workflowId", errors);
        SendStatus? wanted = null;
        if (!string.IsNullOrWhiteSpace(status))
        {
            if (SendStatusNames.TryParse(status, out var parsed))
            {
                wanted = parsed;
            }
            else
            {
                errors["status"] = [$"Unknown status '{status}'; expected one of {string.Join(", ", Enum.GetValues<SendStatus>().Select(s => s.ToDb()))}."];
            }
        }

        var take = DefaultLimit;
        if (!string.IsNullOrWhiteSpace(limit) && (!int.TryParse(limit, out take) || take < 1 || take > MaxLimit))
        {
            errors["limit"] = [$"limit must be a whole number from 1 to {MaxLimit}."];
        }

        if (!string.IsNullOrWhiteSpace(cursor) && !SendCursor.TryDecode(cursor, out _, out _))
        {
            errors["cursor"] = ["cursor is not one this API returned."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors, title: "The query is not valid.");
        }

        var organizationId = http.User.GetOrganizationId();
        var page = await sendLog.ListAsync(organizationId, new SendQuery(contact, workflow, wanted, take, cursor));
        var items = page.Items.Select(s => new SendItem(
            s.Id, s.SendKey, s.Email, s.Subject, s.Provider, s.ProviderMessageId, s.Status.ToDb(), s.SentAt, s.DeliveredAt, s.OpenedAt,
            s.ClickedAt, s.BouncedAt, s.Error, s.ContactId, s.WorkflowId, s.StepId, s.Variant, s.Attempts, s.CreatedAt,
            s.Engagement?.Opens ?? 0, s.OpenedAt is null ? 0 : 1, s.Engagement?.Clicks ?? 0, s.Engagement?.UniqueClicks ?? 0,
            s.Engagement?.MachineOpens ?? 0, s.Engagement?.MachineClicks ?? 0, s.Engagement?.BounceType, s.Engagement?.ComplainedAt,
            s.Engagement?.UnsubscribedAt)).ToList();
        return TypedResults.Ok(new ListResponse<SendItem>(items, page.NextCursor));
    }

    private static async Task<Ok<ListResponse<ProviderItem>>> ListProvidersAsync(
        ClaimsPrincipal caller, ProviderRegistry registry, IGrainFactory grains, NpgsqlDataSource dataSource, TimeProvider time, CancellationToken cancellationToken)
    {
        var statuses = await Task.WhenAll(registry.Names.Select(n => grains.GetGrain<IProviderGrain>(n).GetStatusAsync()));
        if (caller.IsOperator())
        {
            return TypedResults.Ok(new ListResponse<ProviderItem>(statuses.Select(s => ToItem(s, registry)).ToList(), null));
        }

        var own = await OwnLastMinuteAsync(dataSource, caller.GetOrganizationId(), time.GetUtcNow() - TimeSpan.FromMinutes(1), cancellationToken);
        var items = statuses.Select(s =>
        {
            var (sent, errors) = own.GetValueOrDefault(s.Name);
            var rate = Math.Round(sent / 60.0, 3);
            var share = s.ConfiguredRatePerSecond > 0 ? Math.Min(1, Math.Round(rate / s.ConfiguredRatePerSecond, 4)) : 0;
            return ToItem(s, registry) with { RatePerSecond = rate, SentLastMinute = sent, ErrorsLastMinute = errors, SentToday = null, Share = share };
        }).ToList();
        return TypedResults.Ok(new ListResponse<ProviderItem>(items, null));
    }

    /// <summary>The organization's sends accepted and failed in the last minute, per provider.</summary>
    private static async Task<Dictionary<string, (long Sent, long Errors)>> OwnLastMinuteAsync(
        NpgsqlDataSource dataSource, Guid organizationId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        // Every row sent or failed since then was updated since then, so the (organization, updated_at) index bounds the scan.
        await using var command = dataSource.CreateCommand("""
            SELECT provider, count(*) FILTER (WHERE sent_at >= @since), count(*) FILTER (WHERE status = 'failed')
            FROM email_sends
            WHERE organization_id = @org AND updated_at >= @since AND provider IS NOT NULL
            GROUP BY provider
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("since", since);
        var counts = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2));
        }

        return counts;
    }

    private static async Task<Results<Ok<ProviderItem>, ProblemHttpResult>> ChangeAsync(string name, ProviderRegistry registry, IGrainFactory grains, bool pause)
    {
        var key = name.Trim().ToLowerInvariant();
        if (!registry.Contains(key))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Unknown provider.",
                detail: $"No provider named '{name}' is configured; configured: {string.Join(", ", registry.Names)}.",
                extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["name"] = [$"'{name}' is not a configured provider."] } });
        }

        var grain = grains.GetGrain<IProviderGrain>(key);
        await (pause ? grain.PauseAsync() : grain.ResumeAsync());
        return TypedResults.Ok(ToItem(await grain.GetStatusAsync(), registry));
    }

    private static ProviderItem ToItem(ProviderStatus s, ProviderRegistry registry) => new(
        s.Name, s.State.ToString().ToLowerInvariant(), s.RatePerSecond, s.SentLastMinute, s.ErrorsLastMinute,
        s.ConfiguredRatePerSecond, s.Circuit switch { ProviderCircuitState.HalfOpen => "half-open", var c => c.ToString().ToLowerInvariant() },
        s.Name == registry.Primary, s.DailyLimit, s.SentToday);

    private static Guid? ParseGuid(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (Guid.TryParse(value, out var id))
        {
            return id;
        }

        errors[field] = [$"{field} must be a UUID."];
        return null;
    }
}
