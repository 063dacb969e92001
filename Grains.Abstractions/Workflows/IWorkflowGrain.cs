using Orleans.Concurrency;

namespace Automator.Workflows;

/// <summary>
/// One workflow (key: <see cref="WorkflowKey.Of"/>): its editable draft, its immutable published versions, its status and
/// its counters. Counters arrive in batches from each silo's buffer, never one call per journey step.
/// </summary>
public interface IWorkflowGrain : IGrainWithStringKey
{
    /// <summary>Creates the workflow with a validated draft; a second call on the same key returns an error.</summary>
    Task<WorkflowResult> CreateAsync(string definitionJson, string triggerType, string name);

    Task<WorkflowInfo?> GetAsync();

    Task<WorkflowResult> UpdateDraftAsync(string definitionJson, string triggerType, string name);

    /// <summary>Freezes the draft as the next version; an active workflow starts new entries on it.</summary>
    Task<WorkflowResult> PublishAsync(Guid? userId);

    /// <summary>Runs the latest published version (publishing the draft first if nothing was published).</summary>
    Task<WorkflowResult> ActivateAsync(Guid? userId);

    Task<WorkflowResult> PauseAsync();

    Task<WorkflowResult> ResumeAsync();

    Task<WorkflowResult> ArchiveAsync();

    /// <summary>The definition JSON of a published version (immutable), or null.</summary>
    [AlwaysInterleave]
    Task<string?> GetVersionAsync(int version);

    Task<WorkflowStats> GetStatsAsync();

    [AlwaysInterleave]
    Task ApplyCountersAsync(Dictionary<string, long> deltas);

    /// <summary>Declared A/B winners: step id to variant (or split branch) id.</summary>
    [AlwaysInterleave]
    Task<Dictionary<string, string>> GetWinnersAsync();

    /// <summary>A journey is held before a send because the workflow is paused; resume wakes it.</summary>
    /// <remarks>Interleaves: a resume may be waiting on the very journey that is reporting its hold.</remarks>
    [AlwaysInterleave]
    Task HoldAsync(Guid contactId);
}

public static class WorkflowKey
{
    public static string Of(Guid organizationId, Guid workflowId) => $"{organizationId:N}/{workflowId:N}";

    public static (Guid OrganizationId, Guid WorkflowId) Parse(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return (Guid.ParseExact(key[..slash], "N"), Guid.ParseExact(key[(slash + 1)..], "N"));
    }
}

public static class WorkflowStatuses
{
    public const string Draft = "draft";
    public const string Active = "active";
    public const string Paused = "paused";
    public const string Archived = "archived";
}

[GenerateSerializer, Alias("workflows.info")]
public sealed class WorkflowInfo
{
    [Id(0)] public Guid Id { get; set; }
    [Id(1)] public Guid OrganizationId { get; set; }
    [Id(2)] public string Name { get; set; } = "";
    [Id(3)] public string Status { get; set; } = WorkflowStatuses.Draft;

    /// <summary>The latest published version; 0 before the first publish.</summary>
    [Id(4)] public int Version { get; set; }

    /// <summary>The version new entries take while active.</summary>
    [Id(5)] public int? ActiveVersion { get; set; }
    [Id(6)] public string DraftJson { get; set; } = "{}";
    [Id(7)] public string TriggerType { get; set; } = "";
    [Id(8)] public DateTimeOffset CreatedAt { get; set; }
    [Id(9)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The trigger of the active version (the draft's before any publish), as JSON.</summary>
    [Id(10)] public string? ActiveTriggerJson { get; set; }
}

[GenerateSerializer, Alias("workflows.result")]
public sealed class WorkflowResult
{
    [Id(0)] public WorkflowInfo? Workflow { get; set; }

    /// <summary>not_found | conflict, with <see cref="Message"/>.</summary>
    [Id(1)] public string? Error { get; set; }
    [Id(2)] public string? Message { get; set; }

    public static WorkflowResult Ok(WorkflowInfo info) => new() { Workflow = info };

    public static WorkflowResult Fail(string error, string message) => new() { Error = error, Message = message };
}

[GenerateSerializer, Alias("workflows.stats")]
public sealed class WorkflowStats
{
    [Id(0)] public long Entered { get; set; }
    [Id(1)] public long Active { get; set; }
    [Id(2)] public long Completed { get; set; }
    [Id(3)] public long Exited { get; set; }
    [Id(4)] public long Goals { get; set; }
    [Id(5)] public Dictionary<string, Dictionary<string, long>> Steps { get; set; } = new();
    [Id(6)] public Dictionary<string, Dictionary<string, long>> Variants { get; set; } = new();

    /// <summary>Each step with <c>autoWinner</c> set: its test so far, or the decision it reached.</summary>
    [Id(7)] public Dictionary<string, WinnerTest> AutoWinners { get; set; } = new();
}

/// <summary>
/// An A/B test on a step's variants or a split's branches: the figures it was (or is being) judged on and, once
/// decided, the winner. A decision is kept for good; contacts reaching the step afterwards all take the winner.
/// </summary>
[GenerateSerializer, Alias("workflows.winnerTest")]
public sealed class WinnerTest
{
    [Id(0)] public string StepId { get; set; } = "";

    /// <summary><c>testing</c> or <c>decided</c>.</summary>
    [Id(1)] public string Status { get; set; } = "testing";
    [Id(2)] public string Metric { get; set; } = "";
    [Id(3)] public int MinSamples { get; set; }
    [Id(4)] public double Confidence { get; set; }
    [Id(5)] public List<WinnerTally> Tallies { get; set; } = [];

    /// <summary>The mixture likelihood ratio of the best variant against the runner-up (null before both have samples).</summary>
    [Id(6)] public double? Statistic { get; set; }

    /// <summary>The ratio at which a winner is declared: 1 / (1 - confidence).</summary>
    [Id(7)] public double Threshold { get; set; }
    [Id(8)] public string? Winner { get; set; }
    [Id(9)] public string? RunnerUp { get; set; }
    [Id(10)] public DateTimeOffset? DecidedAt { get; set; }

    /// <summary>The workflow version that was active when the winner was declared.</summary>
    [Id(11)] public int? Version { get; set; }
}

[GenerateSerializer, Alias("workflows.winnerTally")]
public sealed class WinnerTally
{
    [Id(0)] public string Variant { get; set; } = "";

    /// <summary>Contacts sent the variant (opened, clicked) or entering it (goal).</summary>
    [Id(1)] public long Samples { get; set; }

    /// <summary>Of those, the contacts that opened, clicked or reached the goal.</summary>
    [Id(2)] public long Successes { get; set; }
    [Id(3)] public double Rate { get; set; }
}

/// <summary>An organization's workflows (key: organization id): the list the API pages and the trigger index reads.</summary>
public interface IOrganizationWorkflowsGrain : IGrainWithGuidKey
{
    Task UpsertAsync(WorkflowSummary summary);

    [AlwaysInterleave]
    Task<List<WorkflowSummary>> GetAllAsync();

    /// <summary>Changes whenever a workflow is added or changes status or version (for caches).</summary>
    [AlwaysInterleave]
    Task<long> GetRevisionAsync();
}

[GenerateSerializer, Alias("workflows.summary")]
public sealed class WorkflowSummary
{
    [Id(0)] public Guid WorkflowId { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string Status { get; set; } = WorkflowStatuses.Draft;
    [Id(3)] public int? ActiveVersion { get; set; }
    [Id(4)] public int Version { get; set; }
    [Id(5)] public string TriggerType { get; set; } = "";

    /// <summary>The trigger JSON of the active version (what entries are decided on).</summary>
    [Id(6)] public string? TriggerJson { get; set; }
    [Id(7)] public DateTimeOffset CreatedAt { get; set; }
    [Id(8)] public DateTimeOffset UpdatedAt { get; set; }
}
