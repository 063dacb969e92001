using System.Text.Json.Serialization;
using Automator.Wakeups;

namespace Automator.Journeys;

public enum JourneyStatus
{
    None,
    Scheduled,
    Active,
    Waiting,
    Completed,
    Exited,
}

public enum WaitKind
{
    None,

    /// <summary>A delay step.</summary>
    Delay,

    /// <summary>A waitUntil step (date, property or time of day).</summary>
    Until,

    /// <summary>A waitForEvent step; <see cref="JourneyState.DueAt"/> is its timeout.</summary>
    Event,

    /// <summary>A send held until the send window opens.</summary>
    Window,

    /// <summary>A send held by the frequency cap.</summary>
    Cap,

    /// <summary>A send held because the workflow is paused.</summary>
    Paused,

    /// <summary>A scheduled entry (date property trigger).</summary>
    Entry,

    /// <summary>A turn stopped after too many steps; the next wake continues from the current step.</summary>
    Continue,
}

/// <summary>The persisted state of one contact's journey through one workflow.</summary>
[GenerateSerializer, Alias("journeys.state")]
public sealed class JourneyState : IHasWakeTime
{
    [Id(0)] public Guid OrganizationId { get; set; }
    [Id(1)] public Guid WorkflowId { get; set; }
    [Id(2)] public Guid ContactId { get; set; }
    [Id(3)] public int Version { get; set; }

    /// <summary>How many times the contact entered; part of every send key.</summary>
    [Id(4)] public int Entry { get; set; }
    [Id(5)] public JourneyStatus Status { get; set; }
    [Id(6)] public string? StepId { get; set; }
    [Id(7)] public WaitKind Wait { get; set; }

    /// <summary>When the current wait ends (delay, time, timeout, window, cap); the reminder only wakes the grain.</summary>
    [Id(8)] public DateTimeOffset? DueAt { get; set; }
    [Id(9)] public DateTimeOffset? EnteredAt { get; set; }
    [Id(10)] public DateTimeOffset? EndedAt { get; set; }
    [Id(11)] public string? EndReason { get; set; }

    /// <summary>The latest entries only; the full history is in <c>journey_events</c>.</summary>
    [Id(12)] public List<JourneyHistoryEntry> History { get; set; } = [];

    /// <summary>Sends of the current entry by step id, with their engagement.</summary>
    [Id(13)] public Dictionary<string, JourneySend> Sends { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Event names seen during the current entry (bounded).</summary>
    [Id(14)] public List<string> EventsSeen { get; set; } = [];
    [Id(15)] public bool GoalReached { get; set; }

    /// <summary>Properties of the event that started this entry, as JSON.</summary>
    [Id(16)] public string? TriggerEventJson { get; set; }

    /// <summary>Sends decided and persisted but not yet acknowledged by delivery (re-issued on activation, idempotent by key).</summary>
    [Id(17)] public List<PendingSend> PendingSends { get; set; } = [];

    /// <summary>Variants (send variants and split branches) this entry went through, as <c>stepId/variant</c>.</summary>
    [Id(18)] public List<string> Variants { get; set; } = [];

    /// <summary>Version a scheduled entry will run (date property trigger).</summary>
    [Id(19)] public int ScheduledVersion { get; set; }

    /// <summary>
    /// The due time a per-journey wake reminder was registered for, by versions that woke each journey with its own
    /// reminder (null: none). Such a reminder is removed the next time it fires.
    /// </summary>
    [Id(20)] public DateTimeOffset? ReminderDue { get; set; }

    public bool IsInJourney => Status is JourneyStatus.Active or JourneyStatus.Waiting;

    /// <summary>
    /// When send intents stored with this state are handed to delivery again if no later write shows them acknowledged
    /// (the activation that recorded them may die, or delivery may fail, before it does).
    /// </summary>
    [Id(21)] public DateTimeOffset? PendingSendsRetryAt { get; set; }

    /// <summary>Outbound webhook calls decided and persisted but not yet answered with a 2xx (retried with back-off).</summary>
    [Id(22)] public List<PendingWebhook> PendingWebhooks { get; set; } = [];

    /// <summary>Stored with the state in the wake index, where the wake shards find it.</summary>
    [JsonIgnore]
    public DateTimeOffset? WakeAt
    {
        get
        {
            var due = Status is JourneyStatus.Waiting or JourneyStatus.Scheduled ? DueAt : null;
            var wake = PendingSends.Count > 0 && PendingSendsRetryAt is { } retry && (due is null || retry < due) ? retry : due;
            foreach (var webhook in PendingWebhooks)
            {
                if (webhook.NextAttemptAt is { } next && (wake is null || next < wake))
                {
                    wake = next;
                }
            }

            return wake;
        }
    }
}

[GenerateSerializer, Alias("journeys.history-entry")]
public sealed class JourneyHistoryEntry
{
    [Id(0)] public DateTimeOffset At { get; set; }

    /// <summary>enter, step, send, wait, resume, event, exit, complete, goal, hold, update, webhook.</summary>
    [Id(1)] public string Kind { get; set; } = "";
    [Id(2)] public string? StepId { get; set; }
    [Id(3)] public string? Detail { get; set; }
    [Id(4)] public int Entry { get; set; }
    [Id(5)] public int Version { get; set; }
}

[GenerateSerializer, Alias("journeys.send")]
public sealed class JourneySend
{
    [Id(0)] public string SendKey { get; set; } = "";
    [Id(1)] public DateTimeOffset SentAt { get; set; }
    [Id(2)] public string? Variant { get; set; }

    /// <summary>Engagements seen for this send: delivered, opened, clicked, bounced, complained, unsubscribed, failed.</summary>
    [Id(3)] public List<string> Engagements { get; set; } = [];
}

[GenerateSerializer, Alias("journeys.pending-send")]
public sealed class PendingSend
{
    [Id(0)] public string SendKey { get; set; } = "";
    [Id(1)] public string StepId { get; set; } = "";
    [Id(2)] public string? TemplateId { get; set; }
    [Id(3)] public string? Variant { get; set; }
    [Id(4)] public string? Subject { get; set; }
    [Id(5)] public bool Transactional { get; set; }
    [Id(6)] public string Email { get; set; } = "";
}

[GenerateSerializer, Alias("journeys.pending-webhook")]
public sealed class PendingWebhook
{
    /// <summary>Sent as <c>X-Automator-Delivery</c> on every attempt, for the receiver to deduplicate on.</summary>
    [Id(0)] public string DeliveryId { get; set; } = "";
    [Id(1)] public string StepId { get; set; } = "";
    [Id(2)] public string Url { get; set; } = "";
    [Id(3)] public string Method { get; set; } = "POST";
    [Id(4)] public string? BodyJson { get; set; }

    /// <summary>Attempts started so far.</summary>
    [Id(5)] public int Attempts { get; set; }

    /// <summary>When to attempt again unless an attempt succeeds first; null once given up.</summary>
    [Id(6)] public DateTimeOffset? NextAttemptAt { get; set; }
}
