using System.Collections.Concurrent;
using Automator.Infrastructure.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Automator.Journeys;

/// <summary>A journey due (or nearly due) to be woken.</summary>
public readonly record struct DueJourney(GrainId Journey, DateTimeOffset DueAt);

/// <summary>Where the wake shards find the journeys due in their slots.</summary>
public interface IJourneyWakeIndex
{
    /// <summary>A journey's state was written with this wake time (durable storage already stored it with the state).</summary>
    void Noted(GrainId journey, DateTimeOffset? wakeAt);

    /// <summary>Journeys of these slots due at or before <paramref name="until"/>, earliest first.</summary>
    Task<IReadOnlyList<DueJourney>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken);
}

/// <summary>Durable mode: the due times are the <c>due_at</c> column <see cref="BatchedGrainStorage"/> writes with each state.</summary>
public sealed class PostgresJourneyWakeIndex(NpgsqlDataSource dataSource) : IJourneyWakeIndex
{
    public void Noted(GrainId journey, DateTimeOffset? wakeAt)
    {
    }

    public async Task<IReadOnlyList<DueJourney>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT grain_id, due_at FROM journey_grain_state
            WHERE wake_shard = ANY($1) AND due_at IS NOT NULL AND due_at <= $2
            ORDER BY due_at LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = slots, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        command.Parameters.Add(new NpgsqlParameter { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var due = new List<DueJourney>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueJourney(GrainId.Parse(reader.GetString(0)), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return due;
    }
}

/// <summary>In-memory mode (one silo, nothing durable): journeys note their wake time here after each write.</summary>
public sealed class InMemoryJourneyWakeIndex : IJourneyWakeIndex
{
    private readonly ConcurrentDictionary<GrainId, DateTimeOffset>[] _slots =
        Enumerable.Range(0, WakeSlots.Count).Select(_ => new ConcurrentDictionary<GrainId, DateTimeOffset>()).ToArray();

    public void Noted(GrainId journey, DateTimeOffset? wakeAt)
    {
        var slot = _slots[WakeSlots.Of(journey.ToString())];
        if (wakeAt is { } at)
        {
            slot[journey] = at;
        }
        else
        {
            slot.TryRemove(journey, out _);
        }
    }

    public Task<IReadOnlyList<DueJourney>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        IReadOnlyList<DueJourney> due = slots
            .SelectMany(slot => _slots[slot])
            .Where(entry => entry.Value <= until)
            .OrderBy(entry => entry.Value)
            .Take(limit)
            .Select(entry => new DueJourney(entry.Key, entry.Value))
            .ToList();
        return Task.FromResult(due);
    }
}
