using System.Collections.Concurrent;
using System.Text.Json;

namespace Automator.Workflows;

/// <summary>
/// Each silo's cache of every organization's workflows and triggers, so an event finds its workflows without a database
/// query or a grain call per event. Refreshed from the organization's registry grain at most once per
/// <see cref="Ttl"/>, and dropped at once on this silo when one of its workflows changes.
/// </summary>
public sealed class TriggerIndex(IGrainFactory grains)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, (long LoadedAt, Task<OrganizationTriggers> Value)> _cache = new();

    public async Task<OrganizationTriggers> GetAsync(Guid organizationId)
    {
        var now = Environment.TickCount64;
        if (_cache.TryGetValue(organizationId, out var entry) && now - entry.LoadedAt < Ttl.TotalMilliseconds && !entry.Value.IsFaulted)
        {
            return await entry.Value;
        }

        var load = LoadAsync(organizationId);
        _cache[organizationId] = (now, load);
        return await load;
    }

    public void Invalidate(Guid organizationId) => _cache.TryRemove(organizationId, out _);

    private async Task<OrganizationTriggers> LoadAsync(Guid organizationId) =>
        new(await grains.GetGrain<IOrganizationWorkflowsGrain>(organizationId).GetAllAsync());
}

/// <summary>One organization's workflows by id and its active triggers by kind.</summary>
public sealed class OrganizationTriggers
{
    private readonly Dictionary<Guid, WorkflowSummary> _workflows;
    private readonly List<(WorkflowSummary Summary, WorkflowTrigger Trigger)> _active = [];

    public OrganizationTriggers(IEnumerable<WorkflowSummary> workflows)
    {
        _workflows = workflows.ToDictionary(w => w.WorkflowId);
        foreach (var summary in _workflows.Values.Where(w => w.Status == WorkflowStatuses.Active && w.TriggerJson is not null))
        {
            var trigger = JsonSerializer.Deserialize<WorkflowTrigger>(summary.TriggerJson!, WorkflowJson.Options);
            if (trigger is not null)
            {
                _active.Add((summary, trigger));
            }
        }
    }

    public WorkflowSummary? Find(Guid workflowId) => _workflows.GetValueOrDefault(workflowId);

    public string StatusOf(Guid workflowId) => Find(workflowId)?.Status ?? WorkflowStatuses.Draft;

    /// <summary>Whether any active workflow starts on this event name (before its properties are parsed for filters).</summary>
    public bool StartsOn(string eventName) => _active.Exists(a => a.Trigger.Type == TriggerTypes.Event && a.Trigger.Event == eventName);

    public IEnumerable<(WorkflowSummary Summary, WorkflowTrigger Trigger)> ForEvent(string name, JsonElement? properties) =>
        _active.Where(a => a.Trigger.Type == TriggerTypes.Event && a.Trigger.Event == name && Conditions.MatchesFilter(a.Trigger.Filter, properties));

    public IEnumerable<(WorkflowSummary Summary, WorkflowTrigger Trigger)> ForSegment(Guid segmentId) =>
        _active.Where(a => a.Trigger.Type == TriggerTypes.SegmentEntry && Guid.TryParse(a.Trigger.SegmentId, out var id) && id == segmentId);

    public IEnumerable<(WorkflowSummary Summary, WorkflowTrigger Trigger)> ForList(Guid listId) =>
        _active.Where(a => a.Trigger.Type == TriggerTypes.ListJoin && Guid.TryParse(a.Trigger.ListId, out var id) && id == listId);

    public IEnumerable<(WorkflowSummary Summary, WorkflowTrigger Trigger)> DateProperties() =>
        _active.Where(a => a.Trigger.Type == TriggerTypes.DateProperty);
}

/// <summary>Parsed definitions of published versions (immutable, so cached for good on each silo).</summary>
public sealed class WorkflowDefinitionCache(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<(Guid, int), Task<WorkflowDefinition?>> _cache = new();

    public async Task<WorkflowDefinition?> GetAsync(Guid organizationId, Guid workflowId, int version)
    {
        var task = _cache.GetOrAdd((workflowId, version), _ => LoadAsync(organizationId, workflowId, version));
        var definition = await task;
        if (definition is null)
        {
            _cache.TryRemove((workflowId, version), out _);
        }

        return definition;
    }

    private async Task<WorkflowDefinition?> LoadAsync(Guid organizationId, Guid workflowId, int version)
    {
        var json = await grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId)).GetVersionAsync(version);
        return json is null ? null : WorkflowJson.ParseValid(json);
    }
}
