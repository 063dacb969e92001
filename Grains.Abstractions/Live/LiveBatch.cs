namespace Automator.Live;

/// <summary>
/// What happened on one silo (or API process) during one flush window, coalesced per organization. Step
/// counts are changes during the window, not totals: every process only sees its own journeys.
/// </summary>
[GenerateSerializer, Alias("live.batch")]
public sealed class LiveBatch
{
    [Id(0)] public DateTimeOffset At { get; set; }
    [Id(1)] public TimeSpan Window { get; set; }
    [Id(2)] public List<OrganizationLiveBatch> Organizations { get; set; } = [];

    /// <summary>Provider state changes; a null organization means a provider account shared by every organization.</summary>
    [Id(3)] public List<ProviderStateChange> Providers { get; set; } = [];
}

[GenerateSerializer, Alias("live.organization-batch")]
public sealed class OrganizationLiveBatch
{
    [Id(0)] public Guid OrganizationId { get; set; }

    /// <summary>The most recent moves of the window, oldest first, at most <see cref="LiveLimits.MovesPerBatch"/>.</summary>
    [Id(1)] public List<JourneyMove> Moves { get; set; } = [];

    /// <summary>Moves of the window left out of <see cref="Moves"/> (they still count in <see cref="Steps"/>).</summary>
    [Id(2)] public int DroppedMoves { get; set; }

    [Id(3)] public List<StepDelta> Steps { get; set; } = [];

    /// <summary>Sends accepted per provider during the window.</summary>
    [Id(4)] public Dictionary<string, int> Sends { get; set; } = [];

    /// <summary>Events ingested through the API during the window.</summary>
    [Id(5)] public int Events { get; set; }
}

[GenerateSerializer, Alias("live.journey-move")]
public sealed class JourneyMove
{
    [Id(0)] public Guid WorkflowId { get; set; }
    [Id(1)] public string JourneyId { get; set; } = "";
    [Id(2)] public Guid ContactId { get; set; }

    /// <summary>Null when the journey enters the workflow.</summary>
    [Id(3)] public string? FromStep { get; set; }

    /// <summary>Null when the journey leaves the workflow.</summary>
    [Id(4)] public string? ToStep { get; set; }
    [Id(5)] public DateTimeOffset At { get; set; }
}

/// <summary>Change of one step's counters: journeys waiting at it now, journeys that passed through it.</summary>
[GenerateSerializer, Alias("live.step-delta")]
public sealed class StepDelta
{
    [Id(0)] public Guid WorkflowId { get; set; }
    [Id(1)] public string StepId { get; set; } = "";
    [Id(2)] public int Waiting { get; set; }
    [Id(3)] public int Passed { get; set; }
}

[GenerateSerializer, Alias("live.provider-state")]
public sealed class ProviderStateChange
{
    [Id(0)] public Guid? OrganizationId { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string State { get; set; } = "";
    [Id(3)] public DateTimeOffset At { get; set; }
}

public static class LiveLimits
{
    /// <summary>Cap on the moves carried per organization per batch; the rest are counted, not listed.</summary>
    public const int MovesPerBatch = 200;
}
