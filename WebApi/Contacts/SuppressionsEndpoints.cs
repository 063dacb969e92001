using System.Security.Claims;
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

    public static IEndpointRouteBuilder MapSuppressionsApi(this IEndpointRouteBuilder routes)
    {
        var suppressions = routes.MapGroup("/v1/suppressions").WithTags("Suppressions");
        suppressions.MapGet("/", ListAsync).RequireAuthorization(Scopes.SuppressionsRead);
        suppressions.MapPost("/", AddAsync).RequireAuthorization(Scopes.SuppressionsWrite).WithIdempotency();
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
        Guid? contactId = null;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            created = await ContactStore.SuppressAsync(connection, transaction, organizationId, email!, reason!, "api", keepEmail: true, now, cancellationToken);
            if (reason != "manual")
            {
                await using var status = new NpgsqlCommand("""
                    UPDATE contacts SET status = @reason, updated_at = @now,
                        unsubscribed_at = CASE WHEN @reason = 'unsubscribed' THEN COALESCE(unsubscribed_at, @now) ELSE unsubscribed_at END
                    WHERE organization_id = @org AND lower(email) = lower(@email) RETURNING id
                    """, connection, transaction);
                status.Parameters.AddWithValue("reason", reason!);
                status.Parameters.AddWithValue("now", now);
                status.Parameters.AddWithValue("org", organizationId);
                status.Parameters.AddWithValue("email", email!);
                contactId = (Guid?)await status.ExecuteScalarAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        if (contactId is { } id && await contacts.GetAsync(organizationId, id, cancellationToken) is { } contact)
        {
            await sync.ProfileChangedAsync([contact.ToProfile(organizationId)], cancellationToken);
        }

        await audit.WriteAsync(caller, "suppression.added", "suppression", contactId is null ? [] : [contactId.Value], new { reason }, cancellationToken);
        var response = new SuppressionResponse(email, reason!, "api", now);
        return created ? TypedResults.Created("/v1/suppressions", response) : TypedResults.Ok(response);
    }
}
