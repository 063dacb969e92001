using System.Text.Json;

namespace Automator.Journeys;

/// <summary>What happened to a journey.</summary>
public abstract record JourneyStimulus
{
    /// <summary>The trigger fired (or an enrollment). <paramref name="At"/> in the future schedules the entry.</summary>
    public sealed record Enter(int Version, string? EventJson = null, DateTimeOffset? At = null) : JourneyStimulus;

    /// <summary>A timer or reminder tick: catch up whatever is due.</summary>
    public sealed record Wake : JourneyStimulus;

    public sealed record Event(string Name, string? PropertiesJson, DateTimeOffset OccurredAt) : JourneyStimulus;

    /// <summary>The workflow was resumed: a journey held by the pause continues at once.</summary>
    public sealed record Resume : JourneyStimulus;

    /// <summary>The journey must end now (workflow archived, contact erased).</summary>
    public sealed record End(string Reason) : JourneyStimulus;
}

/// <summary>What the planner knows besides the journey itself: the contact and the workflow's status.</summary>
public sealed class JourneyContext
{
    public string JourneyId { get; init; } = "";

    public string WorkflowStatus { get; init; } = "active";

    public JsonElement? ContactProperties { get; set; }

    public string? ContactTimeZone { get; init; }

    /// <summary>Times of this contact's recent sends across all workflows, for the frequency cap.</summary>
    public List<DateTimeOffset> RecentSends { get; init; } = [];

    /// <summary>Open-hour histories for <c>optimalTime</c> waits; null when the workflow has none.</summary>
    public OpenHours? Opens { get; init; }

    /// <summary>Declared A/B winners by step id (variant or branch id); null when the workflow tests nothing.</summary>
    public IReadOnlyDictionary<string, string>? Winners { get; init; }
}

public abstract record JourneyAction
{
    public sealed record Send(PendingSend Request) : JourneyAction;

    public sealed record UpdateContact(string StepId, string SetJson) : JourneyAction;

    public sealed record Webhook(string StepId, string Url, string Method, string? BodyJson) : JourneyAction;
}

/// <summary>A counter change: workflow-level when <see cref="StepId"/> and <see cref="Variant"/> are null.</summary>
public readonly record struct CounterDelta(string Name, string? StepId, string? Variant, long Delta);

/// <summary>The planner's answer: the journey's next state (mutated in place) and what to do about it.</summary>
public sealed class JourneyPlan
{
    public List<JourneyAction> Actions { get; } = [];

    public List<CounterDelta> Counters { get; } = [];

    public List<JourneyHistoryEntry> History { get; } = [];

    /// <summary>When to wake next; null when the journey waits for nothing timed (or has ended).</summary>
    public DateTimeOffset? WakeAt { get; set; }

    /// <summary>False when the stimulus changed nothing (so there is nothing to persist).</summary>
    public bool Changed { get; set; }

    /// <summary>Set when an entry was refused, with the reason.</summary>
    public string? Rejected { get; set; }

    public bool Ended { get; set; }

    /// <summary>The journey is held because the workflow is paused.</summary>
    public bool Held { get; set; }
}
