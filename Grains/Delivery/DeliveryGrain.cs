using Automator.Infrastructure.Telemetry;
using System.Net.Mail;
using Automator.Delivery.Intake;
using Automator.Delivery.Providers;
using Automator.Delivery.Rendering;
using Automator.Delivery.SendLog;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;

namespace Automator.Delivery;

/// <summary>
/// The delivery front door: validate, check suppression, render, write the send log row (claiming the send key) and
/// only then hand the message to this silo's sending worker. Stateless, so send steps on every silo call it locally;
/// reentrant, so concurrent sends meet in the silo's <see cref="SendIntake"/> and share its batched statements.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class DeliveryGrain(
    SendIntake intake,
    SendPreparation preparation,
    TimeProvider time,
    ILogger<DeliveryGrain> logger) : Grain, IDeliveryGrain
{
    public async Task<SendReceipt> SendAsync(SendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.SendKey))
        {
            throw new ArgumentException("A send needs a send key.", nameof(request));
        }

        var lookup = await intake.LookupAsync(new SendLookupRequest(
            request.SendKey, request.OrganizationId, request.ContactId, request.Email?.Trim() ?? "", request.TemplateId));
        if (lookup.Existing is { } existing)
        {
            return Receipt(existing, duplicate: true);
        }

        var now = time.GetUtcNow();
        var record = new SendRecord
        {
            Id = Guid.CreateVersion7(now),
            OrganizationId = request.OrganizationId,
            SendKey = request.SendKey,
            ContactId = request.ContactId == Guid.Empty ? null : request.ContactId,
            WorkflowId = request.WorkflowId,
            JourneyId = request.JourneyId,
            StepId = request.StepId,
            Variant = request.Variant,
            TemplateId = request.TemplateId == Guid.Empty ? null : request.TemplateId,
            Email = request.Email?.Trim() ?? "",
            Status = SendStatus.Queued,
            CreatedAt = now,
            EventJson = request.EventJson,
            SubjectOverride = request.SubjectOverride,
            Transactional = request.Transactional,
        };

        var invalid = Validate(request);
        if (invalid is not null)
        {
            return await RecordEndAsync(record with { Status = SendStatus.Failed, Error = invalid });
        }

        var prepared = preparation.Prepare(record, lookup.Facts);
        if (prepared.Email is not { } email)
        {
            return await RecordEndAsync(record with { Subject = prepared.Subject, Status = prepared.Status, Error = prepared.Error });
        }

        var (stored, created) = await intake.CreateAsync(record with { Subject = email.Subject });
        if (!created)
        {
            return Receipt(stored, duplicate: true);
        }

        await intake.DispatchAsync(new Dispatch
        {
            Email = email,
            CreatedAt = stored.CreatedAt,
            AmbiguousPolicy = prepared.AmbiguousPolicy,
            TraceParent = AutomatorTracing.CurrentParent(),
        });
        return Receipt(stored, duplicate: false);
    }

    private async Task<SendReceipt> RecordEndAsync(SendRecord record)
    {
        var (stored, created) = await intake.CreateAsync(record);
        if (created && record.Status == SendStatus.Failed)
        {
            logger.LogWarning("Send {SendKey} failed before reaching a provider: {Error}", record.SendKey, record.Error);
        }

        return Receipt(stored, duplicate: !created);
    }

    private static string? Validate(SendRequest request)
    {
        if (request.OrganizationId == Guid.Empty)
        {
            return "organizationId is required";
        }

        if (!MailAddress.TryCreate(request.Email?.Trim(), out var address) || address.Address != request.Email!.Trim())
        {
            return $"'{request.Email}' is not a valid email address";
        }

        return request.TemplateId == Guid.Empty ? "templateId is required" : null;
    }

    private static SendReceipt Receipt(SendRecord record, bool duplicate) => new()
    {
        SendKey = record.SendKey,
        SendId = record.Id,
        Status = record.Status,
        Provider = record.Provider,
        Error = record.Error,
        Duplicate = duplicate,
    };
}
