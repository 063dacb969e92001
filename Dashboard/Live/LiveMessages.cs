namespace Automator.Dashboard.Live;

/// <summary>Hub method names and payloads (JSON camelCase), as documented in api.md's Live updates.</summary>
public static class LiveMessages
{
    public const string JourneyMoved = "journeyMoved";
    public const string Stats = "stats";
    public const string ProviderState = "providerState";
    public const string SendRate = "sendRate";
}

public sealed record JourneyMovedMessage(Guid WorkflowId, string JourneyId, Guid ContactId, string? FromStep, string? ToStep, DateTimeOffset At);

/// <summary>Per-step changes since the previous <c>stats</c> message for the workflow (<see cref="Delta"/> is always true).</summary>
public sealed record StatsMessage(Guid WorkflowId, IReadOnlyDictionary<string, StepCounts> Steps, bool Delta = true);

public sealed record StepCounts(int Waiting, int Passed);

public sealed record ProviderStateMessage(string Name, string State, DateTimeOffset At);

/// <summary>Sends per second over the last few seconds, in all and per provider, and API events ingested per second.</summary>
public sealed record SendRateMessage(double PerSecond, IReadOnlyDictionary<string, double> ByProvider, double EventsPerSecond);

/// <summary>One message due to one organization's group.</summary>
public readonly record struct OutgoingMessage(Guid OrganizationId, string Method, object Payload);
