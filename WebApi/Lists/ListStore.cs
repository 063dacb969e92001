using Npgsql;
using NpgsqlTypes;

namespace Automator.WebApi.Lists;

public sealed record ListResponse(Guid Id, string Name, string? Description, long MemberCount, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>The <c>email_lists</c> and <c>list_members</c> tables, scoped to one organization.</summary>
public sealed class ListStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string Select = """
        SELECT l.id, l.name, l.description, (SELECT count(*) FROM list_members m WHERE m.list_id = l.id), l.created_at, l.updated_at FROM email_lists l
        """;

    public async Task<ListResponse> CreateAsync(Guid organizationId, string name, string? description, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        await using var insert = dataSource.CreateCommand("INSERT INTO email_lists (id, organization_id, name, description, created_at, updated_at) VALUES (@id, @org, @name, @description, @now, @now)");
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("org", organizationId);
        insert.Parameters.AddWithValue("name", name);
        insert.Parameters.Add(new NpgsqlParameter<string?>("description", NpgsqlDbType.Text) { TypedValue = description });
        insert.Parameters.AddWithValue("now", now);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return new ListResponse(id, name, description, 0, now, now);
    }

    public async Task<ListResponse?> GetAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Select + " WHERE l.id = @id AND l.organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<List<ListResponse>> ListAsync(Guid organizationId, Guid? after, int take, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(Select + " WHERE l.organization_id = @org AND (@after::uuid IS NULL OR l.id > @after) ORDER BY l.id LIMIT @take");
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take);
        var rows = new List<ListResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }

    public async Task<bool> DeleteAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM email_lists WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Adds contacts of this organization; returns the ids that joined now (not those already members).</summary>
    public async Task<List<Guid>> AddMembersAsync(Guid organizationId, Guid listId, Guid[] contactIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO list_members (list_id, contact_id, organization_id, joined_at)
            SELECT @list, c.id, @org, @now FROM contacts c WHERE c.organization_id = @org AND c.id = ANY(@ids)
            ON CONFLICT DO NOTHING
            RETURNING contact_id
            """);
        command.Parameters.AddWithValue("list", listId);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("ids", contactIds);
        var joined = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            joined.Add(reader.GetGuid(0));
        }

        return joined;
    }

    /// <summary>Which of these ids are contacts of the organization.</summary>
    public async Task<HashSet<Guid>> ExistingContactsAsync(Guid organizationId, Guid[] contactIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id FROM contacts WHERE organization_id = @org AND id = ANY(@ids)");
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("ids", contactIds);
        var found = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            found.Add(reader.GetGuid(0));
        }

        return found;
    }

    public async Task<bool> RemoveMemberAsync(Guid organizationId, Guid listId, Guid contactId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM list_members WHERE list_id = @list AND contact_id = @contact AND organization_id = @org");
        command.Parameters.AddWithValue("list", listId);
        command.Parameters.AddWithValue("contact", contactId);
        command.Parameters.AddWithValue("org", organizationId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    private static ListResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3),
        reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5));
}
