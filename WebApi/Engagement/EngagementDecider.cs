using Automator.Delivery;

namespace Automator.WebApi.Engagement;

/// <summary>A send as the recorder finds it (locked) before applying what came back for it.</summary>
public sealed record SendSnapshot
{
    public required Guid Id { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }
    public required Guid OrganizationId { get; init; }
    public Guid? ContactId { get; init; }
    public Guid? WorkflowId { get; init; }
    public string? StepId { get; init; }
    public string? Variant { get; init; }
    public required string SendKey { get; init; }
    public required string Email { get; init; }
    public required SendStatus Status { get; init; }
    public DateTimeOffset? DeliveredAt { get; init; }
    public DateTimeOffset? OpenedAt { get; init; }
    public DateTimeOffset? ClickedAt { get; init; }
    public DateTimeOffset? BouncedAt { get; init; }
    public DateTimeOffset? ComplainedAt { get; init; }
    public DateTimeOffset? UnsubscribedAt { get; init; }

    /// <summary>URLs a person already clicked in this send.</summary>
    public IReadOnlySet<string> ClickedUrls { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

/// <summary>What to write on one send.</summary>
public sealed class SendChange
{
    public int Opens { get; set; }
    public int Clicks { get; set; }
    public int UniqueClicks { get; set; }
    public int MachineOpens { get; set; }
    public int MachineClicks { get; set; }
    public SendStatus? Status { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }
    public DateTimeOffset? OpenedAt { get; set; }
    public DateTimeOffset? ClickedAt { get; set; }
    public DateTimeOffset? BouncedAt { get; set; }
    public string? BounceType { get; set; }
    public DateTimeOffset? ComplainedAt { get; set; }
    public DateTimeOffset? UnsubscribedAt { get; set; }
    public string? Error { get; set; }
}

/// <summary>An event for the contact's journeys and triggers (<c>email.opened</c>, <c>unsubscribed</c>, ...).</summary>
public sealed record ContactEventToEmit(string Name, DateTimeOffset At, Dictionary<string, object?> Properties);

/// <summary>Everything that follows from the signals of one send.</summary>
public sealed class SendDecision
{
    public required SendSnapshot Send { get; init; }
    public SendChange Change { get; } = new();

    /// <summary>Kinds this send reached for the first time: each counts once on its step (and variant).</summary>
    public List<string> FirstTimes { get; } = [];

    public List<ContactEventToEmit> Events { get; } = [];

    /// <summary>Suppression reason the address earns at once (<c>bounced</c>, <c>complained</c>), if any.</summary>
    public string? Suppress { get; set; }

    /// <summary>Soft bounces seen now: the address is suppressed once enough gather within the period.</summary>
    public int SoftBounces { get; set; }

    /// <summary>Weight of human engagement for the contact's score.</summary>
    public double EngagementWeight { get; set; }

    public bool Changed => FirstTimes.Count > 0 || Events.Count > 0 || Change.Opens + Change.Clicks + Change.MachineOpens + Change.MachineClicks > 0
        || Change.Status is not null || Change.Error is not null || Change.BounceType is not null;
}

/// <summary>
/// Decides what the signals that came back for a send change: its status and times, its open and click counts, which
/// kinds it reaches for the first time (counted once per send on its step), the events its contact's journeys get, and
/// whether the address is suppressed. Pure: the recorder loads and locks the send, asks, then writes.
/// </summary>
public static class EngagementDecider
{
    /// <summary>Statuses a send moves on from when the provider says it was delivered, dropped or bounced.</summary>
    private static readonly SendStatus[] InFlight = [SendStatus.Queued, SendStatus.Sending, SendStatus.Sent, SendStatus.Unknown];

    public static SendDecision Decide(SendSnapshot send, IEnumerable<EngagementSignal> signals)
    {
        var decision = new SendDecision { Send = send };
        var change = decision.Change;
        var status = send.Status;
        var delivered = send.DeliveredAt;
        var opened = send.OpenedAt;
        var clicked = send.ClickedAt;
        var bounced = send.BouncedAt;
        var complained = send.ComplainedAt;
        var unsubscribed = send.UnsubscribedAt;
        var urls = new HashSet<string>(send.ClickedUrls, StringComparer.Ordinal);

        foreach (var signal in signals.OrderBy(s => s.At))
        {
            switch (signal.Kind)
            {
                case EngagementKinds.Delivered:
                    if (delivered is null)
                    {
                        delivered = change.DeliveredAt = signal.At;
                        First(decision, EngagementKinds.Delivered, signal);
                    }

                    if (InFlight.Contains(status))
                    {
                        status = SendStatus.Delivered;
                    }

                    break;

                case EngagementKinds.Opened when signal.Machine:
                    change.MachineOpens++;
                    break;

                case EngagementKinds.Opened:
                    change.Opens++;
                    decision.EngagementWeight += EngagementScore.OpenWeight;
                    if (opened is null)
                    {
                        opened = change.OpenedAt = signal.At;
                        First(decision, EngagementKinds.Opened, signal, emit: false);
                    }

                    Emit(decision, EngagementKinds.Opened, signal);
                    break;

                case EngagementKinds.Clicked when signal.Machine:
                    change.MachineClicks++;
                    break;

                case EngagementKinds.Clicked:
                    change.Clicks++;
                    decision.EngagementWeight += EngagementScore.ClickWeight;
                    if (signal.Url is { } url && urls.Add(url))
                    {
                        change.UniqueClicks++;
                    }

                    // A click is an open the pixel missed (images off).
                    if (opened is null)
                    {
                        opened = change.OpenedAt = signal.At;
                        First(decision, EngagementKinds.Opened, signal, emit: false);
                    }

                    if (clicked is null)
                    {
                        clicked = change.ClickedAt = signal.At;
                        First(decision, EngagementKinds.Clicked, signal, emit: false);
                    }

                    Emit(decision, EngagementKinds.Clicked, signal);
                    break;

                case EngagementKinds.Bounced:
                    var hard = signal.BounceType != BounceTypes.Soft;
                    change.BounceType = hard ? BounceTypes.Hard : change.BounceType ?? BounceTypes.Soft;
                    if (status != SendStatus.Complained)
                    {
                        status = SendStatus.Bounced;
                    }

                    change.Error = Describe("bounced", signal);
                    if (bounced is null)
                    {
                        bounced = change.BouncedAt = signal.At;
                        First(decision, EngagementKinds.Bounced, signal);
                    }

                    if (hard)
                    {
                        decision.Suppress ??= "bounced";
                    }
                    else
                    {
                        decision.SoftBounces++;
                    }

                    break;

                case EngagementKinds.Complained:
                    status = SendStatus.Complained;
                    decision.Suppress = "complained";
                    if (complained is null)
                    {
                        complained = change.ComplainedAt = signal.At;
                        First(decision, EngagementKinds.Complained, signal);
                    }

                    break;

                case EngagementKinds.Unsubscribed:
                    if (unsubscribed is null)
                    {
                        unsubscribed = change.UnsubscribedAt = signal.At;
                        First(decision, EngagementKinds.Unsubscribed, signal);
                    }

                    break;

                case EngagementKinds.Dropped:
                    if (InFlight.Contains(status))
                    {
                        status = SendStatus.Failed;
                        change.Error = Describe("dropped by the provider", signal);
                    }

                    break;

                case EngagementKinds.Deferred when InFlight.Contains(status):
                    change.Error = Describe("deferred by the receiving server", signal);
                    break;
            }
        }

        if (status != send.Status)
        {
            change.Status = status;
        }

        return decision;
    }

    /// <summary>The name of the contact event for an engagement kind (api.md: Tracking and webhooks).</summary>
    public static string EventName(string kind) => kind == EngagementKinds.Unsubscribed ? "unsubscribed" : "email." + kind;

    private static void First(SendDecision decision, string kind, EngagementSignal signal, bool emit = true)
    {
        decision.FirstTimes.Add(kind);
        if (emit)
        {
            Emit(decision, kind, signal);
        }
    }

    private static void Emit(SendDecision decision, string kind, EngagementSignal signal)
    {
        var send = decision.Send;
        var properties = new Dictionary<string, object?>
        {
            ["workflowId"] = send.WorkflowId,
            ["stepId"] = send.StepId,
            ["sendKey"] = send.SendKey,
            ["sendId"] = send.Id,
            ["source"] = signal.Source,
            // Counted on the step by the recorder: the journey marks it without counting it again.
            ["countedOnStep"] = true,
        };
        if (send.Variant is not null)
        {
            properties["variant"] = send.Variant;
        }

        if (signal.Url is not null)
        {
            properties["url"] = signal.Url;
        }

        if (kind == EngagementKinds.Bounced)
        {
            properties["bounceType"] = signal.BounceType ?? BounceTypes.Hard;
        }

        decision.Events.Add(new ContactEventToEmit(EventName(kind), signal.At, properties));
    }

    private static string Describe(string what, EngagementSignal signal) =>
        string.IsNullOrWhiteSpace(signal.Diagnostic) ? what : $"{what}: {Truncate(signal.Diagnostic.Trim(), 500)}";

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
