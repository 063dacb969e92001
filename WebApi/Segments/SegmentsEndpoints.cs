using System.Security.Claims;
using System.Text.Json;
using Automator.Infrastructure.Protection;
using Automator.WebApi.Auditing;
using Automator.WebApi.Contacts;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Segments;

public sealed record CreateSegmentRequest(string? Name, JsonElement? Filter);

public sealed record SegmentCountResponse(Guid SegmentId, long Count);

public static class SegmentsEndpoints
{
    public static IEndpointRouteBuilder MapSegmentsApi(this IEndpointRouteBuilder routes)
    {
        var segments = routes.MapGroup("/v1/segments").WithTags("Segments");
        segments.MapPost("/", CreateAsync).RequireAuthorization(Scopes.SegmentsWrite).WithIdempotency();
        segments.MapGet("/", ListAsync).RequireAuthorization(Scopes.SegmentsRead);
        segments.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.SegmentsRead);
        segments.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(Scopes.SegmentsWrite);
        segments.MapGet("/{id:guid}/contacts", ContactsAsync).RequireAuthorization(Scopes.SegmentsRead);
        segments.MapGet("/{id:guid}/count", CountAsync).RequireAuthorization(Scopes.SegmentsRead);
        return routes;
    }

    private static async Task<Results<Created<SegmentResponse>, ValidationProblem>> CreateAsync(
        CreateSegmentRequest request, ClaimsPrincipal caller, SegmentStore store, ContactFieldCipher cipher, AuditLog audit, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var name = validator.Required("name", request.Name?.Trim());
        var filter = SegmentFilter.Parse(request.Filter, validator, sensitiveProperties: cipher.SensitiveProperties);
        if (!validator.IsValid || filter is null)
        {
            return ApiResults.Invalid(validator);
        }

        var segment = await store.CreateAsync(caller.GetOrganizationId(), name!, request.Filter!.Value, filter, cancellationToken);
        await audit.WriteAsync(caller, "segment.created", "segment", [segment.Id], cancellationToken: cancellationToken);
        return TypedResults.Created("/v1/segments/" + segment.Id, segment);
    }

    private static async Task<Results<Ok<Page<SegmentResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, SegmentStore store, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        var rows = await store.ListAsync(caller.GetOrganizationId(), after, take + 1, cancellationToken);
        return TypedResults.Ok(Paging.ToPage(rows, take, s => s.Id));
    }

    private static async Task<Results<Ok<SegmentResponse>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, SegmentStore store, CancellationToken cancellationToken)
    {
        var segment = await store.GetAsync(caller.GetOrganizationId(), id, cancellationToken);
        return segment is null ? ApiResults.NotFound("Segment") : TypedResults.Ok(segment);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, ClaimsPrincipal caller, SegmentStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(caller.GetOrganizationId(), id, cancellationToken))
        {
            return ApiResults.NotFound("Segment");
        }

        await audit.WriteAsync(caller, "segment.deleted", "segment", [id], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Page<ContactResponse>>, ValidationProblem, ProblemHttpResult>> ContactsAsync(
        Guid id, int? limit, string? cursor, ClaimsPrincipal caller, SegmentStore store, ContactStore contacts, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        var organizationId = caller.GetOrganizationId();
        if (await store.GetAsync(organizationId, id, cancellationToken) is null)
        {
            return ApiResults.NotFound("Segment");
        }

        var rows = await contacts.ListAsync(organizationId, null, null, id, null, after, take + 1, cancellationToken);
        return TypedResults.Ok(Paging.ToPage(rows, take, c => c.Id));
    }

    private static async Task<Results<Ok<SegmentCountResponse>, ProblemHttpResult>> CountAsync(Guid id, ClaimsPrincipal caller, SegmentStore store, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(caller.GetOrganizationId(), id, cancellationToken) is null)
        {
            return ApiResults.NotFound("Segment");
        }

        return TypedResults.Ok(new SegmentCountResponse(id, await store.CountAsync(id, cancellationToken)));
    }
}
