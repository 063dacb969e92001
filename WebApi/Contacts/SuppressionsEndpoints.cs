using System.Security.Claims;
using Automator.Contacts;
using Automator.WebApi.Auditing;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Contacts;

public static class SuppressionsEndpoints
{
    /// <summary>Reasons a caller may record; <c>erased</c> comes only from GDPR erasure.</summary>
    public static readonly string[] Reasons = ["unsubscribed", "bounced", "complained", "manual"];

    public const int MaxImport = 10_000;

    public static IEndpointRouteBuilder MapSuppressionsApi(this IEndpointRouteBuilder routes)
    {
        var suppressions = routes.MapGroup("/v1/suppressions").WithTags("Suppressions");
        suppressions.MapGet("/", ListAsync).RequireAuthorization(Scopes.SuppressionsRead);
        suppressions.MapPost("/", AddAsync).RequireAuthorization(Scopes.SuppressionsWrite).WithIdempotency();
        suppressions.MapPost("/batch", ImportAsync).RequireAuthorization(Scopes.SuppressionsWrite).WithIdempotency().AllowsLargeBody();
        suppressions.MapDelete("/{email}", RemoveAsync).RequireAuthorization(Scopes.SuppressionsWrite);
        return routes;
    }

    private static async Task<Results<Ok<Page<SuppressionResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var take = Paging.Limit(validator, limit);
        long? after = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (long.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq))
            {
                after = seq;
            }
            else
            {
                validator.Add("cursor", "is not a cursor returned by this list.");
            }
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        await using var command = dataSource.CreateCommand("""
            SELECT email, seq, reason, source, created_at FROM suppressions
            WHERE organization_id = @org AND (@after::bigint IS NULL OR seq > @after) ORDER BY seq LIMIT @take
            """);
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        command.Parameters.Add(new NpgsqlParameter("after", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = (object?)after ?? DBNull.Value });
        command.Parameters.AddWithValue("take", take + 1);
        var rows = new List<(long Seq, SuppressionResponse Row)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetInt64(1), new SuppressionResponse(reader.IsDBNull(0) ? null : reader.GetString(0),
                reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4))));
        }

        return TypedResults.Ok(rows.Count > take
            ? new Page<SuppressionResponse>(rows.GetRange(0, take).Select(r => r.Row).ToList(), rows[take - 1].Seq.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : new Page<SuppressionResponse>(rows.Select(r => r.Row).ToList(), null));
    }

    private static async Task<Results<Created<SuppressionResponse>, Ok<SuppressionResponse>, ValidationProblem>> AddAsync(
        SuppressionRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, ContactStore contacts, IContactSync sync,
        AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var email = validator.Email("email", request.Email);
        var reason = validator.OneOf("reason", request.Reason, Reasons, r => r);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        var now = time.GetUtcNow();
        bool created;
        Guid? contactId;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            (created, contactId) = await SuppressAndMarkAsync(connection, transaction, organizationId, email!, reason!, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        await SyncContactsAsync(organizationId, contactId is null ? [] : [contactId.Value], contacts, sync, cancellationToken);
        await audit.WriteAsync(caller, "suppression.added", "suppression", contactId is null ? [] : [contactId.Value], new { reason }, cancellationToken);
        var response = new SuppressionResponse(email, reason!, "api", now);
        return created ? TypedResults.Created("/v1/suppressions", response) : TypedResults.Ok(response);
    }

    /// <summary>
    /// Suppresses an address and, for any reason but <c>manual</c>, gives its contact (if any) that status. Returns
    /// whether the address was newly suppressed and the contact whose status changed.
    /// </summary>
    private static async Task<(bool Created, Guid? ContactId)> SuppressAndMarkAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        Guid organizationId, string email, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var created = await ContactStore.SuppressAsync(connection, transaction, organizationId, email, reason, "api", keepEmail: true, now, cancellationToken);
        if (reason == "manual")
        {
            return (created, null);
        }

        await using var status = new NpgsqlCommand("""
            UPDATE contacts SET status = @reason, updated_at = @now,
                unsubscribed_at = CASE WHEN @reason = 'unsubscribed' THEN COALESCE(unsubscribed_at, @now) ELSE unsubscribed_at END
            WHERE organization_id = @org AND lower(email) = lower(@email) RETURNING id
            """, connection, transaction);
        status.Parameters.AddWithValue("reason", reason);
        status.Parameters.AddWithValue("now", now);
        status.Parameters.AddWithValue("org", organizationId);
        status.Parameters.AddWithValue("email", email);
        return (created, (Guid?)await status.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>The grains learn the new status of each contact whose status changed.</summary>
    private static async Task SyncContactsAsync(Guid organizationId, IReadOnlyList<Guid> contactIds, ContactStore contacts, IContactSync sync, CancellationToken cancellationToken)
    {
        var profiles = new List<ContactProfile>();
        foreach (var id in contactIds)
        {
            if (await contacts.GetAsync(organizationId, id, cancellationToken) is { } contact)
            {
                profiles.Add(contact.ToProfile(organizationId));
            }
        }

        if (profiles.Count > 0)
        {
            await sync.ProfileChangedAsync(profiles, cancellationToken);
        }
    }

    /// <summary>
    /// Imports a list of addresses with one reason, in one transaction: each good address is suppressed, bad ones are
    /// reported by index and the rest kept. A repeated address counts once.
    /// </summary>
    private static async Task<Results<Ok<SuppressionImportResponse>, ValidationProblem>> ImportAsync(
        SuppressionImportRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, ContactStore contacts, IContactSync sync,
        AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var reason = validator.OneOf("reason", request.Reason, Reasons, r => r);
        if (request.Emails is null || request.Emails.Count == 0)
        {
            validator.Add("emails", "must be a non-empty array of addresses.");
        }
        else if (request.Emails.Count > MaxImport)
        {
            validator.Add("emails", $"must hold at most {MaxImport} addresses (got {request.Emails.Count}).");
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var rejected = new List<RowError>();
        var emails = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < request.Emails!.Count; i++)
        {
            var row = new Validator();
            var email = row.Email("email", request.Emails[i]);
            if (email is null)
            {
                rejected.Add(new RowError(i, row.Errors));
            }
            else if (seen.Add(email))
            {
                emails.Add(email);
            }
        }

        var organizationId = caller.GetOrganizationId();
        var now = time.GetUtcNow();
        var added = 0;
        var changed = new List<Guid>();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            foreach (var email in emails)
            {
                var (created, contactId) = await SuppressAndMarkAsync(connection, transaction, organizationId, email, reason!, now, cancellationToken);
                added += created ? 1 : 0;
                if (contactId is { } id)
                {
                    changed.Add(id);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await SyncContactsAsync(organizationId, changed, contacts, sync, cancellationToken);
        if (emails.Count > 0)
        {
            await audit.WriteAsync(caller, "suppression.imported", "suppression", changed, new { reason, added, existing = emails.Count - added, rejected = rejected.Count }, cancellationToken);
        }

        return TypedResults.Ok(new SuppressionImportResponse(added, emails.Count - added, rejected));
    }

    /// <summary>
    /// Takes an address off the suppression list. A contact whose status came from that suppression (same reason) is
    /// active again; an erased address stays suppressed for good.
    /// </summary>
    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> RemoveAsync(
        string email, ClaimsPrincipal caller, NpgsqlDataSource dataSource, ContactStore contacts, IContactSync sync,
        AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var address = validator.Email("email", email);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        string? reason;
        Guid? contactId = null;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var find = new NpgsqlCommand("""
                SELECT reason FROM suppressions WHERE organization_id = @org AND email_hash = ANY(@hashes) ORDER BY reason = 'erased' DESC LIMIT 1 FOR UPDATE
                """, connection, transaction))
            {
                find.Parameters.AddWithValue("org", organizationId);
                find.Parameters.AddWithValue("hashes", SuppressionHasher.Current.Candidates(address!));
                reason = (string?)await find.ExecuteScalarAsync(cancellationToken);
            }

            if (reason is null)
            {
                return ApiResults.NotFound("Suppression");
            }

            if (reason == "erased")
            {
                return ApiResults.Conflict("An erased address stays suppressed.", "email", "was erased at the person's request and cannot be taken off the list.");
            }

            await using (var delete = new NpgsqlCommand("""
                DELETE FROM suppressions WHERE organization_id = @org AND email_hash = ANY(@hashes);
                UPDATE contacts SET status = 'active', updated_at = @now
                WHERE organization_id = @org AND lower(email) = lower(@email) AND status = @reason RETURNING id;
                """, connection, transaction))
            {
                delete.Parameters.AddWithValue("org", organizationId);
                delete.Parameters.AddWithValue("hashes", SuppressionHasher.Current.Candidates(address!));
                delete.Parameters.AddWithValue("now", time.GetUtcNow());
                delete.Parameters.AddWithValue("email", address!);
                delete.Parameters.AddWithValue("reason", reason);
                contactId = (Guid?)await delete.ExecuteScalarAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await SyncContactsAsync(organizationId, contactId is null ? [] : [contactId.Value], contacts, sync, cancellationToken);
        await audit.WriteAsync(caller, "suppression.removed", "suppression", contactId is null ? [] : [contactId.Value], new { reason }, cancellationToken);
        return TypedResults.NoContent();
    }
}
