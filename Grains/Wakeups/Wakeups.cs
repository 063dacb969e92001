using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;

namespace Automator.Wakeups;

/// <summary>A grain due (or nearly due) to be woken.</summary>
public readonly record struct DueWakeup(GrainId Grain, DateTimeOffset DueAt);

/// <summary>
/// Durable wake-ups, the one door to them. A grain whose state implements <see cref="IHasWakeTime"/> has its wake time
/// stored with its state; after each write it tells <see cref="Schedule"/> or <see cref="Cancel"/>. The wake shards
/// (<see cref="WakeShardGrain"/>) read <see cref="DueAsync"/> for their slots and call <see cref="IWakeableGrain.WakeAsync"/>
/// on what is due, each due time once (<see cref="WakeDispatchLog"/>).
/// </summary>
public interface IWakeups
{
    /// <summary>The grain's state was written with this wake time (durable storage already holds it, in the same row).</summary>
    void Schedule(GrainId grain, DateTimeOffset wakeAt);

    /// <summary>The grain's state was written with no wake time.</summary>
    void Cancel(GrainId grain);

    /// <summary>Grains of these slots due at or before <paramref name="until"/>, earliest first.</summary>
    Task<IReadOnlyList<DueWakeup>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken);
}

public static class WakeupsExtensions
{
    /// <summary>Schedules or cancels, as the wake time just written says.</summary>
    public static void Written(this IWakeups wakeups, GrainId grain, DateTimeOffset? wakeAt)
    {
        if (wakeAt is { } at)
        {
            wakeups.Schedule(grain, at);
        }
        else
        {
            wakeups.Cancel(grain);
        }
    }
}

/// <summary>
/// Durable mode: the due times are the <c>due_at</c> and <c>wake_shard</c> columns grain storage writes with each state
/// (<see cref="WakeColumns"/>), so scheduling and cancelling already happened with the write.
/// </summary>
public sealed class PostgresWakeups(NpgsqlDataSource dataSource) : IWakeups
{
    public void Schedule(GrainId grain, DateTimeOffset wakeAt)
    {
    }

    public void Cancel(GrainId grain)
    {
    }

    public async Task<IReadOnlyList<DueWakeup>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT grain_id, due_at FROM journey_grain_state
            WHERE wake_shard = ANY($1) AND due_at IS NOT NULL AND due_at <= $2
            ORDER BY due_at LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = slots, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        command.Parameters.Add(new NpgsqlParameter { Value = until.UtcDateTime, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = limit });
        var due = new List<DueWakeup>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            due.Add(new DueWakeup(GrainId.Parse(reader.GetString(0)), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return due;
    }
}

/// <summary>In-memory mode (one silo, nothing durable): the same due times in a dictionary per slot.</summary>
public sealed class InMemoryWakeups : IWakeups
{
    private readonly ConcurrentDictionary<GrainId, DateTimeOffset>[] _slots =
        Enumerable.Range(0, WakeSlots.Count).Select(_ => new ConcurrentDictionary<GrainId, DateTimeOffset>()).ToArray();

    public void Schedule(GrainId grain, DateTimeOffset wakeAt) => _slots[WakeSlots.Of(grain.ToString())][grain] = wakeAt;

    public void Cancel(GrainId grain) => _slots[WakeSlots.Of(grain.ToString())].TryRemove(grain, out _);

    public Task<IReadOnlyList<DueWakeup>> DueAsync(short[] slots, DateTimeOffset until, int limit, CancellationToken cancellationToken)
    {
        IReadOnlyList<DueWakeup> due = slots
            .SelectMany(slot => _slots[slot])
            .Where(entry => entry.Value <= until)
            .OrderBy(entry => entry.Value)
            .Take(limit)
            .Select(entry => new DueWakeup(entry.Key, entry.Value))
            .ToList();
        return Task.FromResult(due);
    }
}
