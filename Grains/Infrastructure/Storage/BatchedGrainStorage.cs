using System.Threading.Channels;
using Automator.Contacts;
using Automator.Infrastructure.Protection;
using Automator.Wakeups;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Automator.Infrastructure.Storage;

/// <summary>
/// Grain storage for the high-volume grains (journeys, contacts). Writes from many grains that arrive together are
/// coalesced into one multi-row statement (PostgreSQL takes far more rows per second in batches than in single-row
/// statements); each row keeps optimistic concurrency on its own etag, and each grain's write completes only when its
/// batch is committed, so "persist before acting" still holds. Reads that arrive together share one query the same way.
/// State that waits for a time has that time written in the same statement, into the wake index the wake shards poll
/// (<see cref="WakeColumns"/>: the wake-ups component says what goes in those columns). A contact's names and sensitive properties are stored encrypted (<see cref="ContactFieldCipher"/>).
/// </summary>
public sealed class BatchedGrainStorage : IGrainStorage, IAsyncDisposable
{
    public const string Name = "journeys";
    private const int MaxBatch = 512;
    private const int Writers = 4;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger<BatchedGrainStorage> _logger;
    private readonly ContactFieldCipher _cipher;
    private readonly JsonGrainStateSerializer _serializer = new();
    private readonly Channel<PendingWrite> _queue = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Task[] _writers;

    // Activations that arrive together (a batch of events reaching a thousand contacts) read their states in one query.
    private readonly Channel<PendingRead> _reads = Channel.CreateUnbounded<PendingRead>(new UnboundedChannelOptions { SingleReader = false });
    private readonly Task[] _readers;

    public BatchedGrainStorage(NpgsqlDataSource dataSource, ContactFieldCipher cipher, ILogger<BatchedGrainStorage> logger)
    {
        _dataSource = dataSource;
        _cipher = cipher;
        _logger = logger;
        _writers = Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteLoopAsync)).ToArray();
        _readers = Enumerable.Range(0, Writers).Select(_ => Task.Run(ReadLoopAsync)).ToArray();
    }

    private sealed record StoredState(long Etag, byte[] Payload);

    private sealed record PendingRead(string GrainId, string StateName, TaskCompletionSource<StoredState?> Done);

    private sealed record PendingWrite(string GrainId, string StateName, long? ExpectedEtag, byte[] Payload, DateTimeOffset? WakeAt, short? WakeSlot, bool HasActiveJourneys, TaskCompletionSource<long?> Done);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var read = new PendingRead(grainId.ToString(), stateName, new TaskCompletionSource<StoredState?>(TaskCreationOptions.RunContinuationsAsynchronously));
        _reads.Writer.TryWrite(read);
        if (await read.Done.Task is { } stored)
        {
            grainState.ETag = stored.Etag.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.State = _serializer.Deserialize<T>(new BinaryData(stored.Payload));
            grainState.RecordExists = true;
            if (grainState.State is ContactState { Profile: { } profile })
            {
                profile.FirstName = _cipher.Reveal(profile.FirstName);
                profile.LastName = _cipher.Reveal(profile.LastName);
                profile.PropertiesJson = _cipher.RevealProperties(profile.PropertiesJson);
            }
        }
        else
        {
            grainState.ETag = null;
            grainState.State = Activator.CreateInstance<T>();
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var expected = long.TryParse(grainState.ETag, System.Globalization.CultureInfo.InvariantCulture, out var etag) ? etag : (long?)null;
        var (wakeAt, wakeSlot) = WakeColumns.Of(grainId.ToString(), grainState.State);
        var payload = grainState.State is ContactState { Profile: { } profile } ? SerializeProtected(grainState.State, profile) : _serializer.Serialize(grainState.State).ToArray();
        var write = new PendingWrite(grainId.ToString(), stateName, expected, payload, wakeAt, wakeSlot,
            (grainState.State as IHasActiveJourneys)?.HasActiveJourneys ?? false, new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously));
        _queue.Writer.TryWrite(write);
        var written = await write.Done.Task;
        if (written is not { } newEtag)
        {
            throw new InconsistentStateException($"Version conflict writing {stateName} of {grainId}.", grainState.ETag ?? "", "");
        }

        grainState.ETag = newEtag.ToString(System.Globalization.CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    /// <summary>
    /// Serializes contact state with the profile's sensitive fields encrypted. The fields are swapped on the live profile
    /// for the synchronous moment of serialization (the grain's turn, nothing interleaves) instead of copying a profile
    /// whose members could later grow without the copy following.
    /// </summary>
    private byte[] SerializeProtected<T>(T state, ContactProfile profile)
    {
        var (firstName, lastName, properties) = (profile.FirstName, profile.LastName, profile.PropertiesJson);
        try
        {
            profile.FirstName = _cipher.Protect(firstName);
            profile.LastName = _cipher.Protect(lastName);
            profile.PropertiesJson = _cipher.ProtectProperties(properties)!;
            return _serializer.Serialize(state).ToArray();
        }
        finally
        {
            (profile.FirstName, profile.LastName, profile.PropertiesJson) = (firstName, lastName, properties);
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM journey_grain_state WHERE grain_id = $1 AND state_name = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = grainId.ToString() });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName });
        await command.ExecuteNonQueryAsync();
        grainState.ETag = null;
        grainState.RecordExists = false;
        grainState.State = Activator.CreateInstance<T>();
    }

    private async Task WriteLoopAsync()
    {
        var deferred = new List<PendingWrite>();
        while (deferred.Count > 0 || await _queue.Reader.WaitToReadAsync())
        {
            var batch = new List<PendingWrite>();
            var keys = new HashSet<(string, string)>();
            var stillDeferred = new List<PendingWrite>();
            foreach (var item in deferred)
            {
                (keys.Add((item.GrainId, item.StateName)) && batch.Count < MaxBatch ? batch : stillDeferred).Add(item);
            }

            deferred = stillDeferred;
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                // One row per grain per statement; a second write of the same grain waits for the next batch.
                (keys.Add((item.GrainId, item.StateName)) ? batch : deferred).Add(item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                var results = await WriteBatchAsync(batch);
                foreach (var item in batch)
                {
                    item.Done.TrySetResult(results.TryGetValue((item.GrainId, item.StateName), out var etag) ? etag : null);
                }
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "A batch of {Count} grain state writes failed.", batch.Count);
                foreach (var item in batch)
                {
                    item.Done.TrySetException(ex);
                }
            }
        }
    }

    private async Task ReadLoopAsync()
    {
        while (await _reads.Reader.WaitToReadAsync())
        {
            var batch = new List<PendingRead>();
            while (batch.Count < MaxBatch && _reads.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await using var command = _dataSource.CreateCommand("""
                    SELECT s.grain_id, s.state_name, s.etag, s.payload
                    FROM unnest($1::text[], $2::text[]) AS i(grain_id, state_name)
                    JOIN journey_grain_state s ON s.grain_id = i.grain_id AND s.state_name = i.state_name
                    """);
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.GrainId).ToArray() });
                command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.StateName).ToArray() });
                var found = new Dictionary<(string, string), StoredState>();
                await using (var reader = await command.ExecuteReaderAsync())
                {
                    while (await reader.ReadAsync())
                    {
                        found[(reader.GetString(0), reader.GetString(1))] = new StoredState(reader.GetInt64(2), reader.GetFieldValue<byte[]>(3));
                    }
                }

                foreach (var item in batch)
                {
                    item.Done.TrySetResult(found.GetValueOrDefault((item.GrainId, item.StateName)));
                }
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "A batch of {Count} grain state reads failed.", batch.Count);
                foreach (var item in batch)
                {
                    item.Done.TrySetException(ex);
                }
            }
        }
    }

    private async Task<Dictionary<(string, string), long>> WriteBatchAsync(List<PendingWrite> batch)
    {
        await using var command = _dataSource.CreateCommand("""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::timestamptz[], $6::smallint[], $7::boolean[])
                    AS t(grain_id, state_name, expected, payload, due_at, wake_shard, has_active_journeys)),
            inserted AS (
                INSERT INTO journey_grain_state (grain_id, state_name, etag, payload, due_at, wake_shard, has_active_journeys)
                SELECT grain_id, state_name, 1, payload, due_at, wake_shard, has_active_journeys FROM input WHERE expected IS NULL
                ON CONFLICT (grain_id, state_name) DO NOTHING
                RETURNING grain_id, state_name, etag),
            updated AS (
                UPDATE journey_grain_state s
                SET etag = s.etag + 1, payload = i.payload, due_at = i.due_at, wake_shard = i.wake_shard,
                    has_active_journeys = i.has_active_journeys, updated_at = now()
                FROM input i
                WHERE i.expected IS NOT NULL AND s.grain_id = i.grain_id AND s.state_name = i.state_name AND s.etag = i.expected
                RETURNING s.grain_id, s.state_name, s.etag)
            SELECT grain_id, state_name, etag FROM inserted UNION ALL SELECT grain_id, state_name, etag FROM updated
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.GrainId).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.StateName).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.ExpectedEtag).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.Payload).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.WakeAt?.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.WakeSlot).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Smallint });
        command.Parameters.Add(new NpgsqlParameter { Value = batch.Select(b => b.HasActiveJourneys).ToArray() });
        var results = new Dictionary<(string, string), long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            results[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        }

        return results;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _reads.Writer.TryComplete();
        await Task.WhenAll(_writers.Concat(_readers)).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}

public static class BatchedGrainStorageExtensions
{
    /// <summary>Durable storage of journeys and contacts (hosts without a database register memory storage under the same name).</summary>
    public static ISiloBuilder AddBatchedGrainStorage(this ISiloBuilder silo)
    {
        silo.Services.AddGrainStorage(BatchedGrainStorage.Name, (sp, _) => ActivatorUtilities.CreateInstance<BatchedGrainStorage>(sp));
        return silo;
    }
}
