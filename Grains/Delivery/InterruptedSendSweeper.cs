using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Automator.Delivery.SendLog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Automator.Delivery;

/// <summary>
/// Settles the sends of a silo that died, as soon as the cluster membership declares it dead (and every half minute in
/// case a notice was missed): its <c>sending</c> rows may have reached the provider, so at-most-once they become
/// <c>unknown</c>, counted and never resent; its <c>queued</c> rows never left, so this silo takes them over, renders them
/// again (suppression re-checked) and sends them. Rows without an owner (written before owners were recorded) are only
/// settled once they have been <c>sending</c> for far longer than the provider timeout.
/// </summary>
public sealed class InterruptedSendSweeper(
    ISendLog sendLog,
    SendPreparation preparation,
    IGrainFactory grains,
    IServiceProvider services,
    TimeProvider time,
    ILogger<InterruptedSendSweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Threshold = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(30);
    private const int TakeOverBatch = 500;

    private static readonly Counter<long> Interrupted = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.delivery.interrupted", description: "Sends in flight on a silo that died, settled unknown and not resent");

    // Sends this silo took over but could not hand to its worker yet (the database failed while rendering): they are
    // queued under this silo's ownership, so nobody else will send them; retried on every sweep.
    private readonly List<SendRecord> _unsent = [];

    private static readonly Counter<long> TakenOver = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.delivery.taken_over", description: "Queued sends of a silo that died, sent by a live silo instead");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var membership = services.GetService<IClusterMembershipService>();
        var self = services.GetService<ILocalSiloDetails>()?.SiloAddress.ToParsableString();
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        if (membership is not null)
        {
            _ = WatchMembershipAsync(membership, wake.Writer, stoppingToken);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            await SweepAsync(membership, self);
            using var nap = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            nap.CancelAfter(Period);
            try
            {
                await wake.Reader.ReadAsync(nap.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WatchMembershipAsync(IClusterMembershipService membership, ChannelWriter<bool> wake, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (snapshot.Members.Values.Any(m => m.Status == SiloStatus.Dead))
                {
                    wake.TryWrite(true);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Watching the cluster membership stopped; interrupted sends are still swept every {Period}.", Period);
        }
    }

    private async Task SweepAsync(IClusterMembershipService? membership, string? self)
    {
        try
        {
            var settled = await sendLog.SettleInterruptedAsync(Threshold);
            if (settled > 0)
            {
                Interrupted.Add(settled);
                logger.LogWarning("{Count} send(s) interrupted while sending were settled as unknown (not resent).", settled);
            }

            if (membership is null || self is null)
            {
                return;
            }

            if (_unsent.Count > 0)
            {
                var retry = _unsent.ToArray();
                _unsent.Clear();
                await DispatchAsync(retry);
            }

            var members = membership.CurrentSnapshot.Members.ToDictionary(m => m.Key.ToParsableString(), m => m.Value.Status == SiloStatus.Dead, StringComparer.Ordinal);
            foreach (var dead in OrphanedSends.Owners(await sendLog.ListOwnersAsync(), members, self, time.GetUtcNow(), Threshold))
            {
                await TakeOverAsync(dead);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Settling interrupted sends failed; trying again later.");
        }
    }

    private async Task TakeOverAsync(string deadOwner)
    {
        // Settle what was in flight first: those rows are no longer queued, so nothing below can pick them up.
        var unknown = await sendLog.SettleSendingOfAsync(deadOwner);
        if (unknown > 0)
        {
            Interrupted.Add(unknown, new KeyValuePair<string, object?>("silo", deadOwner));
        }

        var taken = 0;
        IReadOnlyList<SendRecord> batch;
        do
        {
            batch = await sendLog.TakeOverQueuedAsync(deadOwner, TakeOverBatch);
            await DispatchAsync(batch);
            taken += batch.Count;
        }
        while (batch.Count == TakeOverBatch);

        if (taken > 0)
        {
            TakenOver.Add(taken, new KeyValuePair<string, object?>("silo", deadOwner));
        }

        if (unknown > 0 || taken > 0)
        {
            logger.LogWarning(
                "Silo {Silo} died with sends unsettled: {Unknown} in flight settled as unknown (not resent), {Taken} queued taken over and sent from here.",
                deadOwner, unknown, taken);
        }
    }

    /// <summary>Renders taken-over sends again and hands them to this silo's worker; those that end here are recorded.</summary>
    private async Task DispatchAsync(IReadOnlyList<SendRecord> sends)
    {
        var ended = new List<(SendRecord Send, SendOutcomeRecord Outcome)>();
        var unsent = new List<SendRecord>();
        await Parallel.ForEachAsync(sends, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (send, _) =>
        {
            try
            {
                var prepared = await preparation.PrepareAsync(send);
                if (prepared.Email is { } email)
                {
                    await grains.GetGrain<ISendWorkerGrain>(0).EnqueueAsync(new Dispatch { Email = email, CreatedAt = send.CreatedAt, AmbiguousPolicy = prepared.AmbiguousPolicy });
                    return;
                }

                lock (ended)
                {
                    ended.Add((send, new SendOutcomeRecord(new SendRef(send.Id, send.CreatedAt), prepared.Status, null, null, prepared.Error, time.GetUtcNow())));
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Send {SendKey} taken over from a dead silo could not be dispatched yet; retrying on the next sweep.", send.SendKey);
                lock (unsent)
                {
                    unsent.Add(send);
                }
            }
        });
        _unsent.AddRange(unsent);
        try
        {
            await sendLog.RecordOutcomesAsync(ended.Select(e => e.Outcome).ToArray());
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Recording {Count} taken-over sends that end without a provider failed; retrying on the next sweep.", ended.Count);
            _unsent.AddRange(ended.Select(e => e.Send));
        }
    }
}
