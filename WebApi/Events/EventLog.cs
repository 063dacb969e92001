using System.Collections.Concurrent;
using Npgsql;

namespace Automator.WebApi.Events;

/// <summary>An accepted event as it is recorded: its contact resolved, its idempotency key (if any) unique in the batch.</summary>
public sealed record EventRow(Guid Id, Guid ContactId, string Name, string PropertiesJson, DateTimeOffset OccurredAt, string? IdempotencyKey);

/// <summary>
/// Records accepted events and settles their idempotency keys: an event whose key was recorded in the last 24 hours is
/// left out. One call per batch.
/// </summary>
public interface IEventLog
{
    /// <summary>Records the events that are new and returns their ids; events repeating a recent key are not recorded.</summary>
    Task<HashSet<Guid>> AppendAsync(Guid organizationId, IReadOnlyList<EventRow> rows, CancellationToken cancellationToken = default);
}

public sealed class PostgresEventLog(NpgsqlDataSource dataSource, TimeProvider time) : IEventLog
{
    public static readonly TimeSpan KeyWindow = TimeSpan.FromHours(24);
    private static readonly TimeSpan PurgeEvery = TimeSpan.FromMinutes(10);
    private long _nextPurge;
    private int _purging;

    // The keys are claimed and the new events written in one statement: a key recorded more than 24 hours ago is
    // claimed again; a key claimed by a concurrent batch waits for it and is then seen as taken. Event ids are made
    // here (UUIDv7) and never resubmitted, so the insert needs no conflict check of its own.
    private const string Append = """
        WITH input AS (
            SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
                AS t(id, contact_id, name, properties, occurred_at, key)),
        claimed AS (
            INSERT INTO event_idempotency_keys (organization_id, key)
            SELECT $1, key FROM input WHERE key IS NOT NULL
            ON CONFLICT (organization_id, key) DO UPDATE SET created_at = now()
                WHERE event_idempotency_keys.created_at < now() - interval '24 hours'
            RETURNING key)
        INSERT INTO events (id, organization_id, contact_id, name, properties, occurred_at, idempotency_key)
        SELECT id, $1, contact_id, name, properties::jsonb, occurred_at, key FROM input
        WHERE key IS NULL OR key IN (SELECT key FROM claimed)
        RETURNING id
        """;

    public async Task<HashSet<Guid>> AppendAsync(Guid organizationId, IReadOnlyList<EventRow> rows, CancellationToken cancellationToken = default)
    {
        var recorded = new HashSet<Guid>();
        if (rows.Count == 0)
        {
            return recorded;
        }

        await using var command = dataSource.CreateCommand(Append);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.Id) });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.ContactId) });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.Name) });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.PropertiesJson) });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.OccurredAt.UtcDateTime) });
        command.Parameters.Add(new NpgsqlParameter { Value = Column(rows, r => r.IdempotencyKey) });
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                recorded.Add(reader.GetGuid(0));
            }
        }

        PurgeExpiredKeysNow();
        return recorded;
    }

    private static T[] Column<T>(IReadOnlyList<EventRow> rows, Func<EventRow, T> select)
    {
        var column = new T[rows.Count];
        for (var i = 0; i < column.Length; i++)
        {
            column[i] = select(rows[i]);
        }

        return column;
    }

    /// <summary>Expired keys are only ignored by the claim; every few minutes one process-wide delete drops them.</summary>
    private void PurgeExpiredKeysNow()
    {
        var now = time.GetTimestamp();
        if (now < Interlocked.Read(ref _nextPurge) || Interlocked.Exchange(ref _purging, 1) == 1)
        {
            return;
        }

        Interlocked.Exchange(ref _nextPurge, now + (long)(PurgeEvery.TotalSeconds * time.TimestampFrequency));
        _ = Task.Run(async () =>
        {
            try
            {
                await using var purge = dataSource.CreateCommand("DELETE FROM event_idempotency_keys WHERE created_at < now() - interval '24 hours'");
                await purge.ExecuteNonQueryAsync();
            }
            catch (NpgsqlException)
            {
                // The next purge retries; expired keys are ignored meanwhile.
            }
            finally
            {
                Interlocked.Exchange(ref _purging, 0);
            }
        });
    }
}

/// <summary>Without a database: keys are remembered in this process for 24 hours; events are not stored.</summary>
public sealed class InMemoryEventLog(TimeProvider time) : IEventLog
{
    private readonly ConcurrentDictionary<(Guid Organization, string Key), DateTimeOffset> _keys = new();

    public Task<HashSet<Guid>> AppendAsync(Guid organizationId, IReadOnlyList<EventRow> rows, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var recorded = new HashSet<Guid>();
        foreach (var row in rows)
        {
            if (row.IdempotencyKey is not { } key || Claim((organizationId, key), now))
            {
                recorded.Add(row.Id);
            }
        }

        if (_keys.Count > 100_000)
        {
            foreach (var expired in _keys.Where(k => now - k.Value >= PostgresEventLog.KeyWindow).ToList())
            {
                _keys.TryRemove(expired);
            }
        }

        return Task.FromResult(recorded);
    }

    private bool Claim((Guid, string) key, DateTimeOffset now)
    {
        while (true)
        {
            if (_keys.TryAdd(key, now))
            {
                return true;
            }

            if (_keys.TryGetValue(key, out var seen))
            {
                if (now - seen < PostgresEventLog.KeyWindow)
                {
                    return false;
                }

                if (_keys.TryUpdate(key, now, seen))
                {
                    return true;
                }
            }
        }
    }
}
