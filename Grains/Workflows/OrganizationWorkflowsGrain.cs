namespace Automator.Workflows;

[GenerateSerializer, Alias("workflows.organization-state")]
public sealed class OrganizationWorkflowsState
{
    [Id(0)] public Dictionary<Guid, WorkflowSummary> Workflows { get; set; } = [];
    [Id(1)] public long Revision { get; set; }
}

/// <summary>An organization's workflow list: read by each silo's <see cref="TriggerIndex"/> (at most once a second) and the list route.</summary>
public sealed class OrganizationWorkflowsGrain(
    [PersistentState("organization-workflows")] IPersistentState<OrganizationWorkflowsState> state) : Grain, IOrganizationWorkflowsGrain
{
    public async Task UpsertAsync(WorkflowSummary summary)
    {
        state.State.Workflows[summary.WorkflowId] = summary;
        state.State.Revision++;
        await state.WriteStateAsync();
    }

    public Task<List<WorkflowSummary>> GetAllAsync() => Task.FromResult(state.State.Workflows.Values.ToList());

    public Task<long> GetRevisionAsync() => Task.FromResult(state.State.Revision);
}
