namespace Automator.Delivery;

/// <summary>
/// The delivery layer's front door, called by send steps. Idempotent per <see cref="SendRequest.SendKey"/>:
/// the send log row is written before any provider is called, and a key seen before returns its existing
/// receipt instead of sending again.
/// </summary>
public interface IDeliveryGrain : IGrainWithIntegerKey
{
    /// <summary>Records the send (or finds it by key) and queues it for its provider.</summary>
    Task<SendReceipt> SendAsync(SendRequest request);
}

[GenerateSerializer, Alias("delivery.send-request")]
public sealed class SendRequest
{
    /// <summary>Deterministic: <c>{journeyId}:{stepId}:{entry}</c> for journey sends.</summary>
    [Id(0)] public string SendKey { get; set; } = "";
    [Id(1)] public Guid OrganizationId { get; set; }
    [Id(2)] public Guid ContactId { get; set; }
    [Id(3)] public string Email { get; set; } = "";
    [Id(4)] public Guid TemplateId { get; set; }
    [Id(5)] public string? Variant { get; set; }
    [Id(6)] public Guid? WorkflowId { get; set; }
    [Id(7)] public string? JourneyId { get; set; }
    [Id(8)] public string? StepId { get; set; }

    /// <summary>Transactional sends go ahead of bulk ones and are not marketing (no unsubscribe requirement).</summary>
    [Id(9)] public bool Transactional { get; set; }

    /// <summary>The triggering event's properties as a JSON object, for <c>{{ event.properties.x }}</c>.</summary>
    [Id(10)] public string? EventJson { get; set; }

    /// <summary>An overriding subject line (e.g. an A/B variant's); the template's subject when null.</summary>
    [Id(11)] public string? SubjectOverride { get; set; }
}

public enum SendStatus
{
    Queued,
    Sending,
    Sent,
    Delivered,
    Bounced,
    Complained,
    Failed,
    Suppressed,
    Unknown,
}

[GenerateSerializer, Alias("delivery.send-receipt")]
public sealed class SendReceipt
{
    [Id(0)] public string SendKey { get; set; } = "";
    [Id(1)] public Guid SendId { get; set; }
    [Id(2)] public SendStatus Status { get; set; }
    [Id(3)] public string? Provider { get; set; }
    [Id(4)] public string? Error { get; set; }

    /// <summary>True when this key had been recorded before (a retry): nothing new was queued.</summary>
    [Id(5)] public bool Duplicate { get; set; }
}
