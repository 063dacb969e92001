using System.Text.Json;
using Automator.Infrastructure.Protection;
using Automator.WebApi.Contacts;
using Automator.WebApi.Http;
using Npgsql;
using NpgsqlTypes;

namespace Automator.WebApi.Segments;

public sealed record SegmentResponse(Guid Id, string Name, JsonElement Filter, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>
/// Segments and their memberships. Membership lives in <c>segment_members</c> and is recomputed incrementally: for
/// the contacts that changed, one statement per segment adds those that now match and removes those that no
/// longer do, and each entry or exit is passed to <see cref="IContactSync"/>.
/// </summary>
public sealed class SegmentStore(NpgsqlDataSource dataSource, IContactSync sync, ContactFieldCipher cipher, TimeProvider time, ILogger<SegmentStore> log)
{
    public async Task<SegmentResponse> CreateAsync(Guid organizationId, string name, JsonElement filterJson, SegmentFilter filter, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        await using (var insert = dataSource.CreateCommand("INSERT INTO segments (id, organization_id, name, filter, created_at, updated_at) VALUES (@id, @org, @name, @filter::jsonb, @now, @now)"))
        {
            insert.Parameters.AddWithValue("id", id);
            insert.Parameters.AddWithValue("org", organizationId);
            insert.Parameters.AddWithValue("name", name);
            insert.Parameters.AddWithValue("filter", filterJson.GetRawText());
            insert.Parameters.AddWithValue("now", now);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await RefreshSegmentAsync(organizationId, id, filter, null, cancellationToken);
        return new SegmentResponse(id, name, filterJson.Clone(), now, now);
    }

    public async Task<SegmentResponse?> GetAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, name, filter, created_at, updated_at FROM segments WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<List<SegmentResponse>> ListAsync(Guid organizationId, Guid? after, int take, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, name, filter, created_at, updated_at FROM segments
            WHERE organization_id = @org AND (@after::uuid IS NULL OR id > @after) ORDER BY id LIMIT @take
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take);
        var rows = new List<SegmentResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }

    public async Task<long> CountAsync(Guid segmentId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM segment_members WHERE segment_id = @id");
        command.Parameters.AddWithValue("id", segmentId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<bool> DeleteAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM segments WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>Re-evaluates every segment of the organization for these contacts (after their properties or events changed).</summary>
    public async Task RefreshContactsAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds, CancellationToken cancellationToken)
    {
        if (contactIds.Count == 0)
        {
            return;
        }

        var segments = new List<(Guid Id, string Filter)>();
        await using (var command = dataSource.CreateCommand("SELECT id, filter FROM segments WHERE organization_id = @org"))
        {
            command.Parameters.AddWithValue("org", organizationId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                segments.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        var ids = contactIds as Guid[] ?? contactIds.ToArray();
        foreach (var (id, json) in segments)
        {
            using var document = JsonDocument.Parse(json);
            var filter = SegmentFilter.Parse(document.RootElement, new Validator(), sensitiveProperties: cipher.SensitiveProperties);
            if (filter is null)
            {
                log.LogWarning("Segment {SegmentId} has a stored filter that no longer parses; skipped", id);
                continue;
            }

            await RefreshSegmentAsync(organizationId, id, filter, ids, cancellationToken);
        }
    }

    /// <summary>
    /// Re-evaluates, for all their contacts, the segments whose filter counts events <c>within</c> a window: the
    /// passing of time alone moves contacts out of them. Returns how many segments were swept.
    /// </summary>
    public async Task<int> SweepTimeWindowedAsync(CancellationToken cancellationToken)
    {
        var segments = new List<(Guid OrganizationId, Guid Id, string Filter)>();
        await using (var command = dataSource.CreateCommand("SELECT organization_id, id, filter FROM segments WHERE jsonb_path_exists(filter, 'strict $.**.within')"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                segments.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2)));
            }
        }

        foreach (var (organizationId, id, json) in segments)
        {
            using var document = JsonDocument.Parse(json);
            if (SegmentFilter.Parse(document.RootElement, new Validator(), sensitiveProperties: cipher.SensitiveProperties) is { } filter)
            {
                await RefreshSegmentAsync(organizationId, id, filter, null, cancellationToken);
            }
        }

        return segments.Count;
    }

    /// <summary>Brings one segment's membership up to date for the given contacts, or for all when <paramref name="contactIds"/> is null.</summary>
    private async Task RefreshSegmentAsync(Guid organizationId, Guid segmentId, SegmentFilter filter, Guid[]? contactIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = dataSource.CreateCommand();
        var predicate = filter.ToSql(command, now);
        command.CommandText = $"""
            WITH matching AS (
                SELECT c.id FROM contacts c
                WHERE c.organization_id = @org AND (@ids::uuid[] IS NULL OR c.id = ANY(@ids)) AND {predicate}
            ), entered AS (
                INSERT INTO segment_members (segment_id, contact_id, organization_id, entered_at)
                SELECT @segment, id, @org, @now FROM matching
                ON CONFLICT DO NOTHING
                RETURNING contact_id
            ), exited AS (
                DELETE FROM segment_members m
                WHERE m.segment_id = @segment AND (@ids::uuid[] IS NULL OR m.contact_id = ANY(@ids))
                  AND NOT EXISTS (SELECT 1 FROM matching x WHERE x.id = m.contact_id)
                RETURNING contact_id
            )
            SELECT contact_id, true FROM entered UNION ALL SELECT contact_id, false FROM exited
            """;
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("segment", segmentId);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = (object?)contactIds ?? DBNull.Value });
        var changes = new List<(Guid, bool)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                changes.Add((reader.GetGuid(0), reader.GetBoolean(1)));
            }
        }

        await sync.SegmentChangedAsync(organizationId, segmentId, changes, cancellationToken);
    }

    private static SegmentResponse Read(NpgsqlDataReader reader) =>
        new(reader.GetGuid(0), reader.GetString(1), JsonDocument.Parse(reader.GetString(2)).RootElement.Clone(), reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4));
}
