using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Automator.WebApi.Events;

/// <summary>Finds (and for events, creates) contacts by email or id within one organization.</summary>
public interface IContactDirectory
{
    /// <summary>
    /// Contact ids by lower-cased email; unknown emails are created when <paramref name="create"/> (unique per
    /// organization), and the ids of the contacts created are added to <paramref name="created"/> when given.
    /// </summary>
    Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create, ISet<Guid>? created = null);

    /// <summary>The subset of ids that are contacts of the organization, with their emails.</summary>
    Task<Dictionary<Guid, string>> FindIdsAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds);

    Task<List<Guid>> SegmentMembersAsync(Guid organizationId, Guid segmentId);
}

public sealed class PostgresContactDirectory(NpgsqlDataSource dataSource) : IContactDirectory
{
    private const string Lookup = """
        SELECT c.id, i.email FROM unnest($2::text[]) AS i(email)
        CROSS JOIN LATERAL (SELECT id FROM contacts WHERE organization_id = $1 AND lower(email) = i.email LIMIT 1) c
        """;

    public async Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create, ISet<Guid>? created = null)
    {
        var distinct = emails.Select(e => e.Trim().ToLowerInvariant()).Distinct().ToArray();
        var result = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (distinct.Length == 0)
        {
            return result;
        }

        // Known emails are found by one probe each of the (organization_id, lower(email)) index (the lateral join keeps
        // that plan even before the table has statistics); only the rest are inserted, so a batch of known contacts
        // costs index lookups rather than a thousand conflicting inserts.
        await ReadIdsAsync(create
            ? $"""
              WITH found AS ({Lookup}),
              added AS (
                  INSERT INTO contacts (id, organization_id, email)
                  SELECT gen_random_uuid(), $1, email FROM unnest($2::text[]) AS i(email) WHERE email NOT IN (SELECT email FROM found)
                  ON CONFLICT (organization_id, lower(email)) DO NOTHING RETURNING id, lower(email) AS email)
              SELECT id, email, false FROM found UNION ALL SELECT id, email, true FROM added
              """
            : $"SELECT id, email, false FROM ({Lookup}) found",
            organizationId, distinct, result, created);

        if (create && result.Count < distinct.Length)
        {
            // Inserted by a concurrent batch after this statement's snapshot was taken: committed now, so visible.
            await ReadIdsAsync($"SELECT id, email, false FROM ({Lookup}) found",
                organizationId, [.. distinct.Where(e => !result.ContainsKey(e))], result, created);
        }

        return result;
    }

    private async Task ReadIdsAsync(string sql, Guid organizationId, string[] emails, Dictionary<string, Guid> result, ISet<Guid>? created)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = emails });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var id = reader.GetGuid(0);
            result[reader.GetString(1)] = id;
            if (reader.GetBoolean(2))
            {
                created?.Add(id);
            }
        }
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
    public Task<Dictionary<string, Guid>> ResolveEmailsAsync(Guid organizationId, IReadOnlyCollection<string> emails, bool create, ISet<Guid>? created = null) =>
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
