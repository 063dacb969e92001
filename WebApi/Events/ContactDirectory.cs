using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Automator.WebApi.Events;

/// <summary>Finds (and for events, creates) contacts by email or id within one organization.</summary>
public interface IContactDirectory
{
    /// <summary>Contact ids by lower-cased email; unknown emails are created when <paramref name="create"/> (unique per organization).</summary>
    Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create);

    /// <summary>The subset of ids that are contacts of the organization, with their emails.</summary>
    Task<Dictionary<Guid, string>> FindIdsAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds);

    Task<List<Guid>> SegmentMembersAsync(Guid organizationId, Guid segmentId);
}

public sealed class PostgresContactDirectory(NpgsqlDataSource dataSource) : IContactDirectory
{
    public async Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create)
    {
        var distinct = emails.Select(e => e.Trim().ToLowerInvariant()).Distinct().ToArray();
        var result = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (distinct.Length == 0)
        {
            return result;
        }

        var sql = create
            ? """
              WITH input(email) AS (SELECT unnest($2::text[])),
              created AS (
                  INSERT INTO contacts (id, organization_id, email) SELECT gen_random_uuid(), $1, email FROM input
                  ON CONFLICT (organization_id, lower(email)) DO NOTHING RETURNING id, lower(email) AS email)
              SELECT id, email FROM created
              UNION ALL
              SELECT c.id, lower(c.email) FROM contacts c JOIN input i ON lower(c.email) = i.email WHERE c.organization_id = $1
              """
            : "SELECT id, lower(email) FROM contacts WHERE organization_id = $1 AND lower(email) = ANY($2::text[])";
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = distinct });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetString(1)] = reader.GetGuid(0);
        }

        return result;
    }

    public async Task<Dictionary<Guid, string>> FindIdsAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds)
    {
        await using var command = dataSource.CreateCommand("SELECT id, email FROM contacts WHERE organization_id = $1 AND id = ANY($2::uuid[])");
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = contactIds.Distinct().ToArray() });
        var result = new Dictionary<Guid, string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result[reader.GetGuid(0)] = reader.GetString(1);
        }

        return result;
    }

    public async Task<List<Guid>> SegmentMembersAsync(Guid organizationId, Guid segmentId)
    {
        await using var command = dataSource.CreateCommand("SELECT contact_id FROM segment_members WHERE organization_id = $1 AND segment_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = segmentId });
        var result = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            result.Add(reader.GetGuid(0));
        }

        return result;
    }
}

/// <summary>Without a database: a contact's id is derived from its organization and email, so it is stable.</summary>
public sealed class InMemoryContactDirectory : IContactDirectory
{
    public Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create) =>
        Task.FromResult(emails.Select(e => e.Trim().ToLowerInvariant()).Distinct().ToDictionary(e => e, e => IdFor(organizationId, e), StringComparer.Ordinal));

    public Task<Dictionary<Guid, string>> FindIdsAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds) =>
        Task.FromResult(contactIds.Distinct().ToDictionary(id => id, _ => ""));

    public Task<List<Guid>> SegmentMembersAsync(Guid organizationId, Guid segmentId) => Task.FromResult(new List<Guid>());

    public static Guid IdFor(Guid organizationId, string email)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{organizationId:N}/{email.Trim().ToLowerInvariant()}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
