using System.Security.Claims;
using Automator.WebApi.Auditing;
using Automator.WebApi.Contacts;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Automator.WebApi.Segments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Lists;

public sealed record CreateListRequest(string? Name, string? Description);

public sealed record AddMembersRequest(Guid[]? ContactIds, string?[]? Emails);

/// <summary><c>notFound</c> lists the given contact ids that are not contacts of the organization.</summary>
public sealed record AddMembersResponse(int Added, int AlreadyMembers, int ContactsCreated, IReadOnlyList<Guid> NotFound);

public static class ListsEndpoints
{
    public const int MaxMembersPerCall = 10_000;

    public static IEndpointRouteBuilder MapListsApi(this IEndpointRouteBuilder routes)
    {
        var lists = routes.MapGroup("/v1/lists").WithTags("Lists");
        lists.MapPost("/", CreateAsync).RequireAuthorization(Scopes.ListsWrite).WithIdempotency();
        lists.MapGet("/", ListAsync).RequireAuthorization(Scopes.ListsRead);
        lists.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.ListsRead);
        lists.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(Scopes.ListsWrite);
        lists.MapPost("/{id:guid}/members", AddMembersAsync).RequireAuthorization(Scopes.ListsWrite).AllowsLargeBody();
        lists.MapDelete("/{id:guid}/members/{contactId:guid}", RemoveMemberAsync).RequireAuthorization(Scopes.ListsWrite);
        return routes;
    }

    private static async Task<Results<Created<ListResponse>, ValidationProblem>> CreateAsync(
        CreateListRequest request, ClaimsPrincipal caller, ListStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var name = validator.Required("name", request.Name?.Trim());
        var description = validator.Optional("description", request.Description, 2000);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var list = await store.CreateAsync(caller.GetOrganizationId(), name!, description, cancellationToken);
        await audit.WriteAsync(caller, "list.created", "list", [list.Id], cancellationToken: cancellationToken);
        return TypedResults.Created("/v1/lists/" + list.Id, list);
    }

    private static async Task<Results<Ok<Page<ListResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, ListStore store, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        var rows = await store.ListAsync(caller.GetOrganizationId(), after, take + 1, cancellationToken);
        return TypedResults.Ok(Paging.ToPage(rows, take, l => l.Id));
    }

    private static async Task<Results<Ok<ListResponse>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, ListStore store, CancellationToken cancellationToken)
    {
        var list = await store.GetAsync(caller.GetOrganizationId(), id, cancellationToken);
        return list is null ? ApiResults.NotFound("List") : TypedResults.Ok(list);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, ClaimsPrincipal caller, ListStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(caller.GetOrganizationId(), id, cancellationToken))
        {
            return ApiResults.NotFound("List");
        }

        await audit.WriteAsync(caller, "list.deleted", "list", [id], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<AddMembersResponse>, ValidationProblem, ProblemHttpResult>> AddMembersAsync(
        Guid id, AddMembersRequest request, ClaimsPrincipal caller, ListStore store, ContactStore contacts, SegmentStore segments,
        IContactSync sync, AuditLog audit, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var ids = request.ContactIds ?? [];
        var emails = request.Emails ?? [];
        if (ids.Length + emails.Length == 0)
        {
            validator.Add("contactIds", "give contactIds or emails (at least one).");
        }
        else if (ids.Length + emails.Length > MaxMembersPerCall)
        {
            validator.Add(ids.Length > 0 ? "contactIds" : "emails", $"at most {MaxMembersPerCall} members per call.");
        }

        var rows = new List<ValidContact>();
        for (var i = 0; i < emails.Length && validator.IsValid; i++)
        {
            if (validator.Email($"emails[{i}]", emails[i]) is { } email && rows.All(r => !string.Equals(r.Email, email, StringComparison.OrdinalIgnoreCase)))
            {
                rows.Add(new ValidContact(email, null, null, null, null));
            }
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        if (await store.GetAsync(organizationId, id, cancellationToken) is null)
        {
            return ApiResults.NotFound("List");
        }

        var distinctIds = ids.Distinct().ToArray();
        var existing = await store.ExistingContactsAsync(organizationId, distinctIds, cancellationToken);
        var notFound = distinctIds.Where(i => !existing.Contains(i)).ToList();

        // Unknown emails become contacts, as a list import would make them.
        var upserted = await contacts.UpsertAsync(organizationId, rows, cancellationToken);
        var created = upserted.Where(u => u.Created).Select(u => u.Contact).ToList();
        if (created.Count > 0)
        {
            await ContactsEndpoints.AfterWriteAsync(organizationId, created, segments, sync, cancellationToken);
        }

        var candidates = existing.Concat(upserted.Select(u => u.Contact.Id)).Distinct().ToArray();
        var joined = await store.AddMembersAsync(organizationId, id, candidates, cancellationToken);
        await sync.ListJoinedAsync(organizationId, id, joined, cancellationToken);
        if (joined.Count > 0 || created.Count > 0)
        {
            await audit.WriteAsync(caller, "list.members_added", "list", [id], new { contactIds = joined }, cancellationToken);
        }

        return TypedResults.Ok(new AddMembersResponse(joined.Count, candidates.Length - joined.Count, created.Count, notFound));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveMemberAsync(
        Guid id, Guid contactId, ClaimsPrincipal caller, ListStore store, AuditLog audit, CancellationToken cancellationToken)
    {
        if (!await store.RemoveMemberAsync(caller.GetOrganizationId(), id, contactId, cancellationToken))
        {
            return ApiResults.NotFound("List member");
        }

        await audit.WriteAsync(caller, "list.member_removed", "list", [id, contactId], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }
}
