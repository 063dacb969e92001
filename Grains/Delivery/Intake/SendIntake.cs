using Automator.Delivery.SendLog;
using Microsoft.Extensions.Logging;

namespace Automator.Delivery.Intake;

/// <summary>
/// The silo's batched way into the send log for the front door: concurrent sends share one lookup (send key, organization,
/// contact, template, suppression) and one insert of their rows, each caller awaiting its own answer.
/// </summary>
public sealed class SendIntake : IAsyncDisposable
{
    private const int MaxBatch = 500;
    private readonly Coalescer<SendLookupRequest, SendLookup> _lookups;
    private readonly Coalescer<SendRecord, (SendRecord Record, bool Created)> _records;
    private readonly Coalescer<Dispatch, bool> _dispatches;

    public SendIntake(ISendLog sendLog, IGrainFactory grains, ILogger<SendIntake> logger)
    {
        _lookups = new(sendLog.LookupAsync, MaxBatch, logger);
        _records = new(records => CreateAsync(sendLog, records), MaxBatch, logger);
        // One call per batch keeps the silo's sending work in few worker activations, however many sends arrive at once.
        _dispatches = new(async dispatches =>
        {
            await grains.GetGrain<ISendWorkerGrain>(0).EnqueueManyAsync(dispatches);
            return dispatches.Select(_ => true).ToArray();
        }, MaxBatch, logger);
    }

    public Task<SendLookup> LookupAsync(SendLookupRequest request) => _lookups.SubmitAsync(request);

    /// <summary>Writes the row claiming its send key; when the key is already held, the holder's row and false.</summary>
    public Task<(SendRecord Record, bool Created)> CreateAsync(SendRecord record) => _records.SubmitAsync(record);

    /// <summary>Hands a recorded send to this silo's sending worker, together with the others arriving at the same time.</summary>
    public Task DispatchAsync(Dispatch dispatch) => _dispatches.SubmitAsync(dispatch);

    /// <summary>
    /// One batched insert; a key that appears more than once in the batch is written once and its later callers get
    /// the first one's row as a duplicate, as they would have with separate calls.
    /// </summary>
    private static async Task<IReadOnlyList<(SendRecord Record, bool Created)>> CreateAsync(ISendLog sendLog, IReadOnlyList<SendRecord> records)
    {
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new List<SendRecord>(records.Count);
        foreach (var record in records)
        {
            if (first.TryAdd(record.SendKey, distinct.Count))
            {
                distinct.Add(record);
            }
        }

        var written = await sendLog.CreateManyAsync(distinct);
        var answers = new (SendRecord, bool)[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var (stored, created) = written[first[records[i].SendKey]];
            answers[i] = (stored, created && stored.Id == records[i].Id);
        }

        return answers;
    }

    public async ValueTask DisposeAsync()
    {
        await _lookups.DisposeAsync();
        await _records.DisposeAsync();
        await _dispatches.DisposeAsync();
    }
}
