using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Automator.Journeys;

/// <summary>One row of the queryable journey projection.</summary>
public sealed record JourneyRow(
    Guid OrganizationId, Guid WorkflowId, Guid ContactId, string JourneyId, int Version, int Entry, string Status,
    string? StepId, string? Wait, DateTimeOffset? DueAt, DateTimeOffset? EnteredAt, DateTimeOffset? EndedAt, DateTimeOffset UpdatedAt);

/// <summary>One row of the full journey history (<c>journey_events</c>).</summary>
public sealed record JourneyEventRow(
    Guid OrganizationId, Guid WorkflowId, Guid ContactId, string JourneyId, int Version, int Entry, string Kind, string? StepId, string? Detail, DateTimeOffset OccurredAt);

/// <summary>
/// The journey projection and full history. Writes are fire-and-forget and coalesced across grains into multi-row
/// statements; grain state stays the source of truth, so a row lost in a crash is rewritten on the journey's next turn.
/// </summary>
public interface IJourneyStore
{
    void Record(JourneyRow row, IReadOnlyList<JourneyEventRow> events);

    Task<(List<JourneyRow> Items, string? NextCursor)> QueryAsync(Guid organizationId, Guid workflowId, string? stepId, string? status, int limit, string? cursor);

    /// <summary>Contacts whose journey in the workflow has not ended (for archive).</summary>
    Task<List<Guid>> ActiveContactsAsync(Guid organizationId, Guid workflowId);

    Task<List<JourneyEventRow>> HistoryAsync(Guid organizationId, string journeyId, int limit);

    /// <summary>Waits until everything recorded so far is written.</summary>
    Task FlushAsync();
}

public sealed class InMemoryJourneyStore : IJourneyStore
{
    private const int EventsPerJourney = 500;
    private readonly ConcurrentDictionary<(Guid, Guid), JourneyRow> _rows = new();
    private readonly ConcurrentDictionary<string, List<JourneyEventRow>> _events = new(StringComparer.Ordinal);

    public void Record(JourneyRow row, IReadOnlyList<JourneyEventRow> events)
    {
        _rows.AddOrUpdate((row.WorkflowId, row.ContactId), row, (_, old) => old.UpdatedAt <= row.UpdatedAt ? row : old);
        var list = _events.GetOrAdd(row.JourneyId, _ => []);
        lock (list)
        {
            list.AddRange(events);
            if (list.Count > EventsPerJourney)
            {
                list.RemoveRange(0, list.Count - EventsPerJourney);
            }
        }
    }

    public Task<(List<JourneyRow> Items, string? NextCursor)> QueryAsync(Guid organizationId, Guid workflowId, string? stepId, string? status, int limit, string? cursor)
    {
        var after = Guid.TryParse(cursor, out var c) ? c : Guid.Empty;
        var matches = _rows.Values
            .Where(r => r.OrganizationId == organizationId && r.WorkflowId == workflowId && (stepId is null || r.StepId == stepId) && (status is null || r.Status == status) && r.ContactId.CompareTo(after) > 0)
            .OrderBy(r => r.ContactId)
            .Take(limit + 1)
            .ToList();
        var next = matches.Count > limit ? matches[limit - 1].ContactId.ToString("N") : null;
        return Task.FromResult((matches.Take(limit).ToList(), next));
    }

    public Task<List<Guid>> ActiveContactsAsync(Guid organizationId, Guid workflowId) =>
        Task.FromResult(_rows.Values.Where(r => r.OrganizationId == organizationId && r.WorkflowId == workflowId && r.Status is "active" or "waiting" or "scheduled").Select(r => r.ContactId).ToList());

    public Task<List<JourneyEventRow>> HistoryAsync(Guid organizationId, string journeyId, int limit)
    {
        if (!_events.TryGetValue(journeyId, out var list))
        {
            return Task.FromResult(new List<JourneyEventRow>());
        }

        lock (list)
        {
            return Task.FromResult(list.Where(e => e.OrganizationId == organizationId).TakeLast(limit).ToList());
        }
    }

    public Task FlushAsync() => Task.CompletedTask;
}

public sealed class PostgresJourneyStore : IJourneyStore, IAsyncDisposable
{
    private const int MaxBatch = 2000;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<PostgresJourneyStore> _logger;
    private readonly Channel<(JourneyRow Row, IReadOnlyList<JourneyEventRow> Events)> _queue =
        Channel.CreateUnbounded<(JourneyRow, IReadOnlyList<JourneyEventRow>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private long _enqueued;
    private long _written;

    public PostgresJourneyStore(NpgsqlDataSource dataSource, ILogger<PostgresJourneyStore> logger)
    {
        _dataSource = dataSource;
        _logger = logger;
        _writer = Task.Run(WriteLoopAsync);
    }

    public void Record(JourneyRow row, IReadOnlyList<JourneyEventRow> events)
    {
        Interlocked.Increment(ref _enqueued);
        _queue.Writer.TryWrite((row, events));
    }

    public async Task FlushAsync()
    {
        var target = Interlocked.Read(ref _enqueued);
        while (Interlocked.Read(ref _written) < target && !_writer.IsCompleted)
        {
            await Task.Delay(10);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<(JourneyRow Row, IReadOnlyList<JourneyEventRow> Events)>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await WriteAsync(batch);
                    break;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException && attempt < 5)
                {
                    _logger.LogWarning(ex, "Writing {Count} journey rows failed; retrying.", batch.Count);
                    await Task.Delay(200 * (attempt + 1));
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "Dropping {Count} journey projection rows after repeated failures.", batch.Count);
                    break;
                }
            }

            Interlocked.Add(ref _written, batch.Count);
        }
    }

    private async Task WriteAsync(List<(JourneyRow Row, IReadOnlyList<JourneyEventRow> Events)> batch)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var events = batch.SelectMany(b => b.Events).ToList();
        if (events.Count > 0)
        {
            await using var importer = await connection.BeginBinaryImportAsync(
                "COPY journey_events (organization_id, workflow_id, contact_id, journey_id, version, entry, kind, step_id, detail, occurred_at) FROM STDIN (FORMAT BINARY)");
            foreach (var e in events)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(e.OrganizationId, NpgsqlDbType.Uuid);
                await importer.WriteAsync(e.WorkflowId, NpgsqlDbType.Uuid);
                await importer.WriteAsync(e.ContactId, NpgsqlDbType.Uuid);
                await importer.WriteAsync(e.JourneyId, NpgsqlDbType.Text);
                await importer.WriteAsync(e.Version, NpgsqlDbType.Integer);
                await importer.WriteAsync(e.Entry, NpgsqlDbType.Integer);
                await importer.WriteAsync(e.Kind, NpgsqlDbType.Text);
                await WriteNullableAsync(importer, e.StepId, NpgsqlDbType.Text);
                await WriteNullableAsync(importer, e.Detail is null ? null : JsonSerializer.Serialize(e.Detail), NpgsqlDbType.Jsonb);
                await importer.WriteAsync(e.OccurredAt.UtcDateTime, NpgsqlDbType.TimestampTz);
            }

            await importer.CompleteAsync();
        }

        var rows = batch.Select(b => b.Row).GroupBy(r => (r.WorkflowId, r.ContactId)).Select(g => g.MaxBy(r => r.UpdatedAt)!).ToList();
        if (rows.Count > 0)
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO journeys (organization_id, workflow_id, contact_id, journey_id, version, entry, status, step_id, wait, due_at, entered_at, ended_at, updated_at)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::int[], $6::int[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
                ON CONFLICT (workflow_id, contact_id) DO UPDATE SET
                    version = excluded.version, entry = excluded.entry, status = excluded.status, step_id = excluded.step_id, wait = excluded.wait,
                    due_at = excluded.due_at, entered_at = excluded.entered_at, ended_at = excluded.ended_at, updated_at = excluded.updated_at
                WHERE journeys.updated_at <= excluded.updated_at
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.OrganizationId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.WorkflowId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.ContactId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.JourneyId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Version).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Entry).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Status).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.StepId).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Wait).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.DueAt?.UtcDateTime).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.EnteredAt?.UtcDateTime).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.EndedAt?.UtcDateTime).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.UpdatedAt.UtcDateTime).ToArray() });
            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, NpgsqlDbType type)
    {
        if (value is null)
        {
            await importer.WriteNullAsync();
        }
        else
        {
            await importer.WriteAsync(value, type);
        }
    }

    public async Task<(List<JourneyRow> Items, string? NextCursor)> QueryAsync(Guid organizationId, Guid workflowId, string? stepId, string? status, int limit, string? cursor)
    {
        await using var command = _dataSource.CreateCommand("""
            SELECT organization_id, workflow_id, contact_id, journey_id, version, entry, status, step_id, wait, due_at, entered_at, ended_at, updated_at
            FROM journeys
            WHERE organization_id = $1 AND workflow_id = $2 AND ($3::text IS NULL OR step_id = $3) AND ($4::text IS NULL OR status = $4) AND contact_id > $5
            ORDER BY contact_id LIMIT $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = workflowId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)stepId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)status ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.TryParse(cursor, out var c) ? c : Guid.Empty });
        command.Parameters.Add(new NpgsqlParameter { Value = limit + 1 });
        var items = new List<JourneyRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(new JourneyRow(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt32(4), reader.GetInt32(5), reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8),
                Instant(reader, 9), Instant(reader, 10), Instant(reader, 11), Instant(reader, 12)!.Value));
        }

        var next = items.Count > limit ? items[limit - 1].ContactId.ToString("N") : null;
        return (items.Take(limit).ToList(), next);
    }

    public async Task<List<Guid>> ActiveContactsAsync(Guid organizationId, Guid workflowId)
    {
        await FlushAsync();
        await using var command = _dataSource.CreateCommand(
            "SELECT contact_id FROM journeys WHERE organization_id = $1 AND workflow_id = $2 AND status IN ('active', 'waiting', 'scheduled')");
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = workflowId });
        var ids = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }

    public async Task<List<JourneyEventRow>> HistoryAsync(Guid organizationId, string journeyId, int limit)
    {
        await using var command = _dataSource.CreateCommand("""
            SELECT organization_id, workflow_id, contact_id, journey_id, version, entry, kind, step_id, detail #>> '{}', occurred_at
            FROM (SELECT * FROM journey_events WHERE organization_id = $1 AND journey_id = $2 ORDER BY id DESC LIMIT $3) recent ORDER BY id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = journeyId });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var rows = new List<JourneyEventRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new JourneyEventRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3), reader.GetInt32(4), reader.GetInt32(5),
                reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7), reader.IsDBNull(8) ? null : reader.GetString(8), Instant(reader, 9)!.Value));
        }

        return rows;
    }

    private static DateTimeOffset? Instant(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(ordinal), DateTimeKind.Utc));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
