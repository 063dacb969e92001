namespace Automator.WebApi.Engagement;

/// <summary>The kinds of engagement the loop records, in the product's words.</summary>
public static class EngagementKinds
{
    public const string Processed = "processed";
    public const string Delivered = "delivered";
    public const string Deferred = "deferred";
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Bounced = "bounced";
    public const string Dropped = "dropped";
    public const string Complained = "complained";
    public const string Unsubscribed = "unsubscribed";
}

/// <summary>How hard a bounce is: a hard bounce suppresses at once, soft bounces after a number within a period.</summary>
public static class BounceTypes
{
    public const string Hard = "hard";
    public const string Soft = "soft";
}

/// <summary>
/// One thing that happened to a sent message, from a recipient (pixel, click, unsubscribe) or a provider (webhook). The
/// send is named by its id (tracking tokens, <c>send_id</c> custom args and tags) or its send key.
/// </summary>
public sealed record EngagementSignal
{
    public required string Kind { get; init; }

    public Guid? SendId { get; init; }

    public string? SendKey { get; init; }

    public required DateTimeOffset At { get; init; }

    /// <summary>Where it came from: <c>tracking</c>, <c>unsubscribe</c>, <c>sendgrid</c>, <c>ses</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The provider's id of the event (<c>sg_event_id</c>, SNS <c>MessageId</c>): the same id is recorded once.</summary>
    public string? ProviderEventId { get; init; }

    /// <summary>The clicked URL.</summary>
    public string? Url { get; init; }

    /// <summary>A scanner, prefetcher or HEAD request rather than a person: recorded, never counted as engagement.</summary>
    public bool Machine { get; init; }

    /// <summary><see cref="BounceTypes"/> for bounces.</summary>
    public string? BounceType { get; init; }

    /// <summary>The provider's reason or diagnostic code, for bounces, drops and deferrals.</summary>
    public string? Diagnostic { get; init; }

    public string? UserAgent { get; init; }
}

/// <summary>Records engagement on its send, the contact, suppression, journeys and the step counts.</summary>
public interface IEngagementRecorder
{
    /// <summary>
    /// Durably records the signals (duplicates by <see cref="EngagementSignal.ProviderEventId"/> once) and returns once they
    /// are committed; signals naming no known send are skipped and counted in the result.
    /// </summary>
    Task<EngagementResult> RecordAsync(IReadOnlyList<EngagementSignal> signals, CancellationToken cancellationToken);
}

public sealed record EngagementResult(int Recorded, int Duplicates, int UnknownSends);
