using Automator.Delivery.SendLog;
using Microsoft.Extensions.Logging;

namespace Automator.Delivery;

/// <summary>
/// Releases an organization's held sends after its sending is resumed: takes its queued rows over in batches, prepares
/// each again (suppression re-checked, template rendered afresh) and hands them to this silo's worker.
/// </summary>
public sealed class OrganizationSendingGrain(
    ISendLog sendLog,
    SendPreparation preparation,
    TimeProvider time,
    ILogger<OrganizationSendingGrain> logger) : Grain, IOrganizationSendingGrain
{
    private const int Batch = 500;

    public async Task<int> ReleaseHeldAsync()
    {
        var organizationId = this.GetPrimaryKey();
        var released = 0;
        Guid? after = null;
        IReadOnlyList<SendRecord> batch;
        do
        {
            batch = await sendLog.TakeHeldAsync(organizationId, after, Batch);
            if (batch.Count == 0)
            {
                break;
            }

            after = batch[^1].Id;
            var dispatches = new List<Dispatch>(batch.Count);
            var ended = new List<SendOutcomeRecord>();
            foreach (var send in batch)
            {
                var prepared = await preparation.PrepareAsync(send);
                if (prepared.Email is { } email)
                {
                    dispatches.Add(new Dispatch { Email = email, CreatedAt = send.CreatedAt, AmbiguousPolicy = prepared.AmbiguousPolicy });
                }
                else
                {
                    ended.Add(new SendOutcomeRecord(new SendRef(send.Id, send.CreatedAt), prepared.Status, null, null, prepared.Error, time.GetUtcNow()));
                }
            }

            if (ended.Count > 0)
            {
                await sendLog.RecordOutcomesAsync(ended);
            }

            if (dispatches.Count > 0)
            {
                await GrainFactory.GetGrain<ISendWorkerGrain>(0).EnqueueManyAsync(dispatches);
            }

            released += dispatches.Count;
        }
        while (batch.Count == Batch);

        logger.LogInformation("Organization {OrganizationId} resumed sending: {Released} held send(s) released.", organizationId, released);
        return released;
    }
}
