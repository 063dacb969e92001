using System.Text.Json;
using System.Text.Json.Serialization;

namespace Automator.Workflows;

/// <summary>A workflow as the API's JSON describes it: trigger, settings, start step and the step graph.</summary>
public sealed class WorkflowDefinition
{
    public string Name { get; set; } = "";

    public WorkflowTrigger? Trigger { get; set; }

    public WorkflowSettings Settings { get; set; } = new();

    public string? Start { get; set; }

    public List<WorkflowStep> Steps { get; set; } = [];

    /// <summary>
    /// Where the canvas draws each step (step id to position); optional, kept with the draft and every version, and
    /// of no effect on journeys.
    /// </summary>
    public Dictionary<string, StepPosition?>? Layout { get; set; }

    private Dictionary<string, WorkflowStep>? _byId;

    public WorkflowStep? Find(string? id)
    {
        if (id is null)
        {
            return null;
        }

        _byId ??= Steps.Where(s => !string.IsNullOrEmpty(s.Id)).GroupBy(s => s.Id!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return _byId.GetValueOrDefault(id);
    }
}

/// <summary>A step's position on the canvas, in canvas units.</summary>
public sealed class StepPosition
{
    public double X { get; set; }

    public double Y { get; set; }
}

public static class TriggerTypes
{
    public const string Event = "event";
    public const string SegmentEntry = "segmentEntry";
    public const string ListJoin = "listJoin";
    public const string DateProperty = "dateProperty";
    public const string Manual = "manual";
    public const string Webhook = "webhook";

    public static readonly IReadOnlyList<string> All = [Event, SegmentEntry, ListJoin, DateProperty, Manual, Webhook];
}

public sealed class WorkflowTrigger
{
    public string? Type { get; set; }

    /// <summary>Event name for <c>event</c> triggers (engagement events such as <c>email.opened</c> included).</summary>
    public string? Event { get; set; }

    /// <summary>Filter on the event's properties: an equality map or a condition (see <see cref="Conditions"/>).</summary>
    public JsonElement? Filter { get; set; }

    public string? SegmentId { get; set; }

    public string? ListId { get; set; }

    public string? Property { get; set; }

    /// <summary>ISO 8601 duration added to the date property, e.g. <c>-P3D</c> for three days before.</summary>
    public string? Offset { get; set; }

    /// <summary>Shared secret of an inbound webhook trigger (HMAC-SHA256 of the body).</summary>
    public string? Secret { get; set; }
}

public sealed class WorkflowSettings
{
    /// <summary><c>"never"</c>, <c>"always"</c>, an ISO duration, <c>"after:P7D"</c> or <c>{ "after": "P7D" }</c>.</summary>
    public JsonElement? Reentry { get; set; }

    public List<string> ExitEvents { get; set; } = [];

    public string? GoalEvent { get; set; }

    public SendWindowSettings? SendWindow { get; set; }

    public FrequencyCapSettings? FrequencyCap { get; set; }

    public string? TimeZone { get; set; }
}

public sealed class SendWindowSettings
{
    public string? Start { get; set; }

    public string? End { get; set; }

    public List<string>? Days { get; set; }
}

public sealed class FrequencyCapSettings
{
    public int Max { get; set; }

    public string? Per { get; set; }
}

public static class StepTypes
{
    public const string Send = "send";
    public const string Delay = "delay";
    public const string WaitUntil = "waitUntil";
    public const string WaitForEvent = "waitForEvent";
    public const string Branch = "branch";
    public const string Split = "split";
    public const string UpdateContact = "updateContact";
    public const string Webhook = "webhook";
    public const string Exit = "exit";

    public static readonly IReadOnlyList<string> All = [Send, Delay, WaitUntil, WaitForEvent, Branch, Split, UpdateContact, Webhook, Exit];

    /// <summary>Steps that make the journey wait, so a cycle through them cannot spin.</summary>
    public static bool Waits(string? type) => type is Delay or WaitUntil or WaitForEvent;
}

/// <summary>One step; which fields apply depends on <see cref="Type"/>.</summary>
public sealed class WorkflowStep
{
    public string? Id { get; set; }

    public string? Type { get; set; }

    public string? Next { get; set; }

    // send
    public string? TemplateId { get; set; }

    public string? Subject { get; set; }

    public List<SendVariant>? Variants { get; set; }

    public bool Transactional { get; set; }

    /// <summary>On a send step with variants or a split: declare a winner by a sequential test and route later contacts to it.</summary>
    public AutoWinnerSettings? AutoWinner { get; set; }

    // delay
    public string? Duration { get; set; }

    // waitUntil
    public string? At { get; set; }

    public string? Property { get; set; }

    public string? Offset { get; set; }

    public string? TimeOfDay { get; set; }

    /// <summary>Wait for the hour at which the contact most often opens (see <c>SendTimeOptimizer</c>).</summary>
    public bool OptimalTime { get; set; }

    /// <summary>The longest an <see cref="OptimalTime"/> wait lasts (ISO 8601 duration, PT1H to P7D; one day by default).</summary>
    public string? Within { get; set; }

    // waitForEvent
    public string? Event { get; set; }

    public JsonElement? Filter { get; set; }

    public string? Timeout { get; set; }

    public string? OnTimeout { get; set; }

    // branch
    public List<BranchCondition>? Conditions { get; set; }

    public string? Else { get; set; }

    // split
    public List<SplitBranch>? Branches { get; set; }

    // updateContact
    public JsonElement? Set { get; set; }

    // webhook
    public string? Url { get; set; }

    public string? Method { get; set; }

    public JsonElement? Body { get; set; }

    [JsonIgnore]
    public IEnumerable<string> Targets
    {
        get
        {
            if (Next is not null)
            {
                yield return Next;
            }

            if (OnTimeout is not null)
            {
                yield return OnTimeout;
            }

            if (Else is not null)
            {
                yield return Else;
            }

            foreach (var c in Conditions ?? [])
            {
                if (c.Next is not null)
                {
                    yield return c.Next;
                }
            }

            foreach (var b in Branches ?? [])
            {
                if (b.Next is not null)
                {
                    yield return b.Next;
                }
            }
        }
    }
}

public sealed class SendVariant
{
    public string? Id { get; set; }

    public double Weight { get; set; } = 1;

    public string? TemplateId { get; set; }

    public string? Subject { get; set; }
}

/// <summary>When and how a step's variants (or a split's branches) are settled on a winner; see <see cref="AutoWinners"/>.</summary>
public sealed class AutoWinnerSettings
{
    /// <summary><c>opened</c> or <c>clicked</c> (unique, per contact sent) or <c>goal</c> (per contact entered).</summary>
    public string? Metric { get; set; }

    /// <summary>Samples every variant needs before the test may decide (never fewer than <see cref="SequentialWinnerTest.FloorSamples"/>).</summary>
    public int MinSamples { get; set; } = SequentialWinnerTest.FloorSamples;

    /// <summary>One minus the chance of declaring a winner between equal variants, e.g. 0.95.</summary>
    public double Confidence { get; set; } = 0.95;
}

public static class WinnerMetrics
{
    public const string Opened = "opened";
    public const string Clicked = "clicked";
    public const string Goal = "goal";

    public static readonly IReadOnlyList<string> All = [Opened, Clicked, Goal];
}

public sealed class BranchCondition
{
    public JsonElement? When { get; set; }

    public string? Next { get; set; }
}

public sealed class SplitBranch
{
    public string? Id { get; set; }

    public double Weight { get; set; }

    public string? Next { get; set; }
}
