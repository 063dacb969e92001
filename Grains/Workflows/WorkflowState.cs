namespace Automator.Workflows;

[GenerateSerializer, Alias("workflows.state")]
public sealed class WorkflowState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string Status { get; set; } = WorkflowStatuses.Draft;
    [Id(3)] public string DraftJson { get; set; } = "{}";
    [Id(4)] public string TriggerType { get; set; } = "";

    /// <summary>Published versions, immutable once written: version number to definition JSON.</summary>
    [Id(5)] public Dictionary<int, string> Versions { get; set; } = [];
    [Id(6)] public int? ActiveVersion { get; set; }
    [Id(7)] public DateTimeOffset CreatedAt { get; set; }
    [Id(8)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Contacts whose journeys are held before a send by the pause.</summary>
    [Id(9)] public HashSet<Guid> Held { get; set; } = [];

    /// <summary>A/B winners declared, by step id; kept across versions while the step keeps the winning variant.</summary>
    [Id(10)] public Dictionary<string, WinnerTest> Winners { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Counters kept apart from the definition so that frequent counter writes do not rewrite every version.</summary>
[GenerateSerializer, Alias("workflows.counters")]
public sealed class WorkflowCountersState
{
    /// <summary>Keyed <c>name|stepId|variant</c> (see <see cref="CounterBuffer.Key"/>).</summary>
    [Id(0)] public Dictionary<string, long> Counters { get; set; } = new(StringComparer.Ordinal);
}
