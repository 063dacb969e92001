using System.Security.Claims;
using Automator.Delivery;
using Automator.WebApi.Auditing;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Organization;

public sealed record OrganizationItem(Guid Id, string Name, bool SendingPaused, DateTimeOffset? SendingPausedAt, DateTimeOffset CreatedAt);

/// <summary>
/// The caller's own organization, and its own sending switch. Pausing holds every send of the organization (workflow,
/// enrollment, transactional) as <c>queued</c> at the point where it would leave for a provider; nothing of another
/// organization and no provider account is touched. Resuming releases what was held.
/// </summary>
public static class OrganizationEndpoints
{
    public static IEndpointRouteBuilder MapOrganizationApi(this IEndpointRouteBuilder routes)
    {
        var organization = routes.MapGroup("/v1/organization").WithTags("Organization");
        organization.MapGet("/", GetAsync).RequireAuthorization();
        organization.MapPost("/sending/pause", PauseAsync).RequireAuthorization(Scopes.ProvidersWrite).WithName("PauseOrganizationSending");
        organization.MapPost("/sending/resume", ResumeAsync).RequireAuthorization(Scopes.ProvidersWrite).WithName("ResumeOrganizationSending");
        return routes;
    }

    private static async Task<Results<Ok<OrganizationItem>, ProblemHttpResult>> GetAsync(ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, name, sending_paused_at, created_at FROM organizations WHERE id = @org");
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? TypedResults.Ok(Read(reader)) : ApiResults.NotFound("Organization");
    }

    private static async Task<Results<Ok<OrganizationItem>, ProblemHttpResult>> PauseAsync(
        ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var item = await SetAsync(dataSource, caller.GetOrganizationId(), time.GetUtcNow(), cancellationToken);
        if (item is null)
        {
            return ApiResults.NotFound("Organization");
        }

        await audit.WriteAsync(caller, "organization.sending_paused", "organization", [item.Id], cancellationToken: cancellationToken);
        return TypedResults.Ok(item);
    }

    private static async Task<Results<Ok<OrganizationItem>, ProblemHttpResult>> ResumeAsync(
        ClaimsPrincipal caller, NpgsqlDataSource dataSource, IGrainFactory grains, AuditLog audit, CancellationToken cancellationToken)
    {
        var item = await SetAsync(dataSource, caller.GetOrganizationId(), null, cancellationToken);
        if (item is null)
        {
            return ApiResults.NotFound("Organization");
        }

        // Also when it was not paused: a release interrupted earlier (a silo lost mid-way) is finished by resuming again.
        var released = await grains.GetGrain<IOrganizationSendingGrain>(item.Id).ReleaseHeldAsync();
        await audit.WriteAsync(caller, "organization.sending_resumed", "organization", [item.Id], new { released }, cancellationToken);
        return TypedResults.Ok(item);
    }

    private static async Task<OrganizationItem?> SetAsync(NpgsqlDataSource dataSource, Guid organizationId, DateTimeOffset? pausedAt, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE organizations SET sending_paused_at = CASE WHEN @paused::timestamptz IS NULL THEN NULL ELSE coalesce(sending_paused_at, @paused) END,
                updated_at = now()
            WHERE id = @org
            RETURNING id, name, sending_paused_at, created_at
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("paused", NpgsqlTypes.NpgsqlDbType.TimestampTz) { TypedValue = pausedAt });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static OrganizationItem Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), !reader.IsDBNull(2), reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
        reader.GetFieldValue<DateTimeOffset>(3));
}
