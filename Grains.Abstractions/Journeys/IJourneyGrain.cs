using Automator.Contacts;
using Automator.Wakeups;
using Orleans.Concurrency;

namespace Automator.Journeys;

/// <summary>
/// One contact's journey through one workflow (key: <see cref="JourneyKey.Of"/>). Its methods say what happened; the
/// journey decides, persists, then acts.
/// </summary>
public interface IJourneyGrain : IGrainWithStringKey, IWakeableGrain
{
    Task<JourneyOutcome> EnterAsync(JourneyEntry entry, ContactSnapshot contact);

    Task<JourneyOutcome> OnEventAsync(ContactEvent contactEvent, ContactSnapshot contact);

    /// <summary>The workflow was resumed: a journey held by the pause continues.</summary>
    Task ResumeAsync();

    /// <summary>An outbound webhook call of this journey ended: a 2xx forgets its persisted intent, anything else leaves it to its retry.</summary>
    Task WebhookCompletedAsync(string deliveryId, bool succeeded);

    /// <summary>End now (contact erased).</summary>
    Task<JourneyOutcome> EndAsync(string reason);

    [AlwaysInterleave]
    Task<JourneyView?> GetAsync();
}

public static class JourneyKey
{
    public static string Of(Guid organizationId, Guid workflowId, Guid contactId) => $"{organizationId:N}/{workflowId:N}/{contactId:N}";

    public static (Guid OrganizationId, Guid WorkflowId, Guid ContactId) Parse(string key)
    {
        var parts = key.Split('/');
        return (Guid.ParseExact(parts[0], "N"), Guid.ParseExact(parts[1], "N"), Guid.ParseExact(parts[2], "N"));
    }

    /// <summary>The journey's public id (used in routes and send keys): <c>{workflow:N}-{contact:N}</c>.</summary>
    public static string PublicId(Guid workflowId, Guid contactId) => $"{workflowId:N}-{contactId:N}";

    public static bool TryParsePublicId(string id, out Guid workflowId, out Guid contactId)
    {
        workflowId = contactId = Guid.Empty;
        var parts = id.Split('-');
        return parts.Length == 2 && Guid.TryParseExact(parts[0], "N", out workflowId) && Guid.TryParseExact(parts[1], "N", out contactId);
    }
}

[GenerateSerializer, Alias("journeys.entry")]
public sealed class JourneyEntry
{
    [Id(0)] public int Version { get; set; }

    /// <summary>The triggering event's properties as JSON (null for enrollments, segment and list triggers).</summary>
    [Id(1)] public string? EventJson { get; set; }

    /// <summary>A future time schedules the entry (date property triggers).</summary>
    [Id(2)] public DateTimeOffset? At { get; set; }

    /// <summary>event, segment, list, date, manual, webhook.</summary>
    [Id(3)] public string Source { get; set; } = "";
}

/// <summary>What a journey needs to know about its contact to decide.</summary>
[GenerateSerializer, Alias("journeys.contact-snapshot")]
public sealed class ContactSnapshot
{
    [Id(0)] public string Email { get; set; } = "";
    [Id(1)] public string? TimeZone { get; set; }
    [Id(2)] public string PropertiesJson { get; set; } = "{}";

    /// <summary>This contact's recent sends across all workflows (frequency cap).</summary>
    [Id(3)] public List<DateTimeOffset> RecentSends { get; set; } = [];
    [Id(4)] public string Status { get; set; } = "active";
    [Id(5)] public string? FirstName { get; set; }
    [Id(6)] public string? LastName { get; set; }
}

/// <summary>What a journey turn did that its contact must know.</summary>
[GenerateSerializer, Alias("journeys.outcome")]
public sealed class JourneyOutcome
{
    [Id(0)] public string? Rejected { get; set; }

    /// <summary>True while the journey is in the workflow (moving, waiting or scheduled).</summary>
    [Id(1)] public bool Active { get; set; }
    [Id(2)] public List<DateTimeOffset> Sends { get; set; } = [];

    /// <summary>Property updates (JSON objects) from updateContact steps.</summary>
    [Id(3)] public List<string> ContactUpdates { get; set; } = [];
    [Id(4)] public int Entry { get; set; }
}

[GenerateSerializer, Alias("journeys.view")]
public sealed class JourneyView
{
    [Id(0)] public string JourneyId { get; set; } = "";
    [Id(1)] public Guid WorkflowId { get; set; }
    [Id(2)] public Guid ContactId { get; set; }
    [Id(3)] public int Version { get; set; }
    [Id(4)] public int Entry { get; set; }

    /// <summary>scheduled | active | waiting | completed | exited.</summary>
    [Id(5)] public string Status { get; set; } = "";
    [Id(6)] public string? StepId { get; set; }

    /// <summary>delay | until | event | window | cap | paused | entry, when waiting.</summary>
    [Id(7)] public string? WaitingFor { get; set; }
    [Id(8)] public string? WaitingForEvent { get; set; }
    [Id(9)] public DateTimeOffset? DueAt { get; set; }
    [Id(10)] public DateTimeOffset? EnteredAt { get; set; }
    [Id(11)] public DateTimeOffset? EndedAt { get; set; }
    [Id(12)] public string? EndReason { get; set; }
    [Id(13)] public List<JourneyHistoryItem> History { get; set; } = [];
    [Id(14)] public Guid OrganizationId { get; set; }
    [Id(15)] public bool GoalReached { get; set; }
}

[GenerateSerializer, Alias("journeys.history-item")]
public sealed class JourneyHistoryItem
{
    [Id(0)] public DateTimeOffset At { get; set; }
    [Id(1)] public string Kind { get; set; } = "";
    [Id(2)] public string? StepId { get; set; }
    [Id(3)] public string? Detail { get; set; }
    [Id(4)] public int Entry { get; set; }
    [Id(5)] public int Version { get; set; }
}
