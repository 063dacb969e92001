using System.Text.Json;
using Automator.Journeys;
using Microsoft.Extensions.Logging;
using Automator.Infrastructure.Time;

namespace Automator.Workflows;

public sealed class WorkflowGrain(
    [PersistentState("workflow")] IPersistentState<WorkflowState> state,
    [PersistentState("counters")] IPersistentState<WorkflowCountersState> counters,
    ProductClock time,
    TriggerIndex triggers,
    IWorkflowCatalog catalog,
    IJourneyStore journeys,
    ILogger<WorkflowGrain> logger) : Grain, IWorkflowGrain
{
    private static readonly TimeSpan CounterPersistInterval = TimeSpan.FromSeconds(1);
    private Guid _organizationId;
    private Guid _workflowId;
    private bool _countersDirty;
    private IGrainTimer? _counterTimer;
    private (int Version, WorkflowDefinition Definition)? _active;

    // Interleaving calls (counters, holds) write the workflow state too: one write at a time keeps the etag in step.
    private readonly SemaphoreSlim _stateWrite = new(1, 1);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_organizationId, _workflowId) = WorkflowKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_countersDirty)
        {
            await counters.WriteStateAsync(cancellationToken);
        }
    }

    public async Task<WorkflowResult> CreateAsync(string definitionJson, string triggerType, string name)
    {
        if (state.State.Exists)
        {
            return WorkflowResult.Fail("conflict", "The workflow already exists.");
        }

        var now = time.GetUtcNow();
        state.State = new WorkflowState
        {
            Exists = true,
            Name = name,
            DraftJson = definitionJson,
            TriggerType = triggerType,
            CreatedAt = now,
            UpdatedAt = now,
        };
        return await SaveAsync(null);
    }

    public Task<WorkflowInfo?> GetAsync() => Task.FromResult(state.State.Exists ? Info() : null);

    public async Task<WorkflowResult> UpdateDraftAsync(string definitionJson, string triggerType, string name)
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status == WorkflowStatuses.Archived)
        {
            return WorkflowResult.Fail("conflict", "An archived workflow cannot be edited.");
        }

        state.State.DraftJson = definitionJson;
        state.State.TriggerType = triggerType;
        state.State.Name = name;
        state.State.UpdatedAt = time.GetUtcNow();
        return await SaveAsync(null);
    }

    public async Task<WorkflowResult> PublishAsync(Guid? userId)
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status == WorkflowStatuses.Archived)
        {
            return WorkflowResult.Fail("conflict", "An archived workflow cannot be published.");
        }

        var version = Publish();
        return await SaveAsync(version, userId);
    }

    public async Task<WorkflowResult> ActivateAsync(Guid? userId)
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status == WorkflowStatuses.Archived)
        {
            return WorkflowResult.Fail("conflict", "An archived workflow cannot be activated.");
        }

        if (state.State.Status == WorkflowStatuses.Paused)
        {
            return await ResumeAsync();
        }

        int? published = null;
        if (state.State.Versions.Count == 0)
        {
            published = Publish();
        }

        state.State.Status = WorkflowStatuses.Active;
        state.State.ActiveVersion = state.State.Versions.Keys.Max();
        state.State.UpdatedAt = time.GetUtcNow();
        return await SaveAsync(published, userId);
    }

    public async Task<WorkflowResult> PauseAsync()
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status != WorkflowStatuses.Active)
        {
            return WorkflowResult.Fail("conflict", $"Only an active workflow can be paused (it is {state.State.Status}).");
        }

        state.State.Status = WorkflowStatuses.Paused;
        state.State.UpdatedAt = time.GetUtcNow();
        return await SaveAsync(null);
    }

    public async Task<WorkflowResult> ResumeAsync()
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status != WorkflowStatuses.Paused)
        {
            return WorkflowResult.Fail("conflict", $"Only a paused workflow can be resumed (it is {state.State.Status}).");
        }

        state.State.Status = WorkflowStatuses.Active;
        state.State.UpdatedAt = time.GetUtcNow();
        var held = state.State.Held.ToList();
        state.State.Held.Clear();
        var result = await SaveAsync(null);
        await ForEachJourneyAsync(held, j => j.ResumeAsync());
        return result;
    }

    public async Task<WorkflowResult> ArchiveAsync()
    {
        if (!state.State.Exists)
        {
            return NotFound();
        }

        if (state.State.Status == WorkflowStatuses.Archived)
        {
            return WorkflowResult.Ok(Info());
        }

        state.State.Status = WorkflowStatuses.Archived;
        state.State.UpdatedAt = time.GetUtcNow();
        state.State.Held.Clear();
        var result = await SaveAsync(null);

        // Journeys also end on their own next wake; ending them now keeps the live counters honest.
        var active = await journeys.ActiveContactsAsync(_organizationId, _workflowId);
        await ForEachJourneyAsync(active, j => j.EndAsync("archived"));
        return result;
    }

    public Task<string?> GetVersionAsync(int version) => Task.FromResult(state.State.Versions.GetValueOrDefault(version));

    public async Task<WorkflowStats> GetStatsAsync()
    {
        await DecideWinnersAsync();
        var stats = new WorkflowStats();
        foreach (var (key, value) in counters.State.Counters)
        {
            var parts = key.Split('|');
            var (name, step, variant) = (parts[0], parts[1], parts[2]);
            if (step.Length > 0)
            {
                Bucket(stats.Steps, step)[name] = Bucket(stats.Steps, step).GetValueOrDefault(name) + value;
            }
            else if (variant.Length > 0)
            {
                Bucket(stats.Variants, variant)[name] = Bucket(stats.Variants, variant).GetValueOrDefault(name) + value;
            }
            else
            {
                switch (name)
                {
                    case "entered": stats.Entered += value; break;
                    case "active": stats.Active += value; break;
                    case "completed": stats.Completed += value; break;
                    case "exited": stats.Exited += value; break;
                    case "goals": stats.Goals += value; break;
                }
            }
        }

        var tested = ActiveDefinition() ?? TryParse(state.State.DraftJson);
        foreach (var step in tested is null ? [] : AutoWinners.Steps(tested))
        {
            stats.AutoWinners[step.Id!] = state.State.Winners.TryGetValue(step.Id!, out var decided)
                ? decided
                : AutoWinners.Evaluate(step, counters.State.Counters, state.State.ActiveVersion, time.GetUtcNow());
        }

        return stats;
    }

    public Task<Dictionary<string, string>> GetWinnersAsync() =>
        Task.FromResult(state.State.Winners.Where(w => w.Value.Winner is not null).ToDictionary(w => w.Key, w => w.Value.Winner!, StringComparer.Ordinal));

    private WorkflowDefinition? ActiveDefinition()
    {
        if (state.State.ActiveVersion is not { } version || !state.State.Versions.TryGetValue(version, out var json))
        {
            return null;
        }

        if (_active is not { } cached || cached.Version != version)
        {
            if (TryParse(json) is not { } definition)
            {
                return null;
            }

            _active = cached = (version, definition);
        }

        return cached.Definition;
    }

    private static WorkflowDefinition? TryParse(string json)
    {
        try
        {
            return WorkflowJson.ParseValid(json);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Runs each A/B test of the active version on the counters; a declared winner is written before anyone is routed to it.</summary>
    private async Task DecideWinnersAsync()
    {
        if (state.State.Status is not (WorkflowStatuses.Active or WorkflowStatuses.Paused) || ActiveDefinition() is not { } definition)
        {
            return;
        }

        var decisions = AutoWinners.NewlyDecided(definition, state.State.Winners, counters.State.Counters, state.State.ActiveVersion!.Value, time.GetUtcNow());
        if (decisions.Count == 0)
        {
            return;
        }

        foreach (var decision in decisions)
        {
            state.State.Winners[decision.StepId] = decision;
            logger.LogInformation(
                "Workflow {WorkflowId} step {StepId}: variant {Winner} wins on {Metric} over {RunnerUp} (ratio {Statistic:F1} >= {Threshold:F1}).",
                _workflowId, decision.StepId, decision.Winner, decision.Metric, decision.RunnerUp, decision.Statistic, decision.Threshold);
        }

        await WriteStateAsync();
    }

    private async Task WriteStateAsync()
    {
        await _stateWrite.WaitAsync();
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            _stateWrite.Release();
        }
    }

    private static Dictionary<string, long> Bucket(Dictionary<string, Dictionary<string, long>> buckets, string key)
    {
        if (!buckets.TryGetValue(key, out var bucket))
        {
            buckets[key] = bucket = new Dictionary<string, long>
            {
                ["entered"] = 0, ["waiting"] = 0, ["passed"] = 0, ["sent"] = 0, ["delivered"] = 0, ["opened"] = 0,
                ["clicked"] = 0, ["bounced"] = 0, ["complained"] = 0, ["unsubscribed"] = 0, ["failed"] = 0, ["exited"] = 0, ["goals"] = 0,
            };
        }

        return bucket;
    }

    public Task ApplyCountersAsync(Dictionary<string, long> deltas)
    {
        foreach (var (key, value) in deltas)
        {
            counters.State.Counters[key] = counters.State.Counters.GetValueOrDefault(key) + value;
        }

        _countersDirty = true;
        _counterTimer ??= this.RegisterGrainTimer(PersistCountersAsync, new GrainTimerCreationOptions(CounterPersistInterval, CounterPersistInterval));
        return Task.CompletedTask;
    }

    private async Task PersistCountersAsync(CancellationToken cancellationToken)
    {
        if (_countersDirty)
        {
            _countersDirty = false;
            await DecideWinnersAsync();
            await counters.WriteStateAsync(cancellationToken);
        }
    }

    public async Task HoldAsync(Guid contactId)
    {
        if (state.State.Status == WorkflowStatuses.Paused && state.State.Held.Add(contactId))
        {
            await WriteStateAsync();
        }
        else if (state.State.Status == WorkflowStatuses.Active)
        {
            // Resumed while the journey was deciding to hold: let it go on.
            GrainFactory.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, _workflowId, contactId)).ResumeAsync().Ignore();
        }
    }

    private int Publish()
    {
        var version = state.State.Versions.Count == 0 ? 1 : state.State.Versions.Keys.Max() + 1;
        state.State.Versions[version] = state.State.DraftJson;
        if (state.State.Status is WorkflowStatuses.Active or WorkflowStatuses.Paused)
        {
            state.State.ActiveVersion = version;
        }

        state.State.UpdatedAt = time.GetUtcNow();
        return version;
    }

    private async Task<WorkflowResult> SaveAsync(int? publishedVersion, Guid? userId = null)
    {
        await WriteStateAsync();
        var info = Info();
        await GrainFactory.GetGrain<IOrganizationWorkflowsGrain>(_organizationId).UpsertAsync(new WorkflowSummary
        {
            WorkflowId = _workflowId,
            Name = info.Name,
            Status = info.Status,
            ActiveVersion = info.ActiveVersion,
            Version = info.Version,
            TriggerType = info.TriggerType,
            TriggerJson = info.ActiveTriggerJson,
            CreatedAt = info.CreatedAt,
            UpdatedAt = info.UpdatedAt,
        });
        triggers.Invalidate(_organizationId);
        await catalog.SaveAsync(_organizationId, _workflowId, info, publishedVersion, publishedVersion is { } v ? state.State.Versions[v] : null, userId);
        return WorkflowResult.Ok(info);
    }

    private WorkflowInfo Info()
    {
        var s = state.State;
        var triggerSource = s.ActiveVersion is { } active && s.Versions.TryGetValue(active, out var activeJson) ? activeJson : s.DraftJson;
        string? triggerJson = null;
        try
        {
            using var document = JsonDocument.Parse(triggerSource);
            if (document.RootElement.TryGetProperty("trigger", out var trigger))
            {
                triggerJson = trigger.GetRawText();
            }
        }
        catch (JsonException)
        {
        }

        return new WorkflowInfo
        {
            Id = _workflowId,
            OrganizationId = _organizationId,
            Name = s.Name,
            Status = s.Status,
            Version = s.Versions.Count == 0 ? 0 : s.Versions.Keys.Max(),
            ActiveVersion = s.ActiveVersion,
            DraftJson = s.DraftJson,
            TriggerType = s.TriggerType,
            CreatedAt = s.CreatedAt,
            UpdatedAt = s.UpdatedAt,
            ActiveTriggerJson = triggerJson,
        };
    }

    private static WorkflowResult NotFound() => WorkflowResult.Fail("not_found", "The workflow does not exist.");

    private async Task ForEachJourneyAsync(List<Guid> contacts, Func<IJourneyGrain, Task> call)
    {
        foreach (var chunk in contacts.Chunk(500))
        {
            var calls = chunk.Select(async contactId =>
            {
                try
                {
                    await call(GrainFactory.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, _workflowId, contactId)));
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Journey of contact {ContactId} did not take the workflow change; it will on its next wake.", contactId);
                }
            });
            await Task.WhenAll(calls);
        }
    }
}
