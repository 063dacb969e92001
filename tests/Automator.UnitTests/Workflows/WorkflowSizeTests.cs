using System.Text.Json;
using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

/// <summary>Workflow size: the step cap, and graph walks that do not recurse per step.</summary>
public sealed class WorkflowSizeTests
{
    private static WorkflowDefinition Chain(int count, bool closeLoop = false)
    {
        var set = JsonDocument.Parse("{}").RootElement.Clone();
        var steps = new List<WorkflowStep>(count);
        for (var i = 0; i < count; i++)
        {
            var next = i + 1 < count ? $"s{i + 1}" : closeLoop ? "s0" : null;
            steps.Add(new WorkflowStep { Id = $"s{i}", Type = StepTypes.UpdateContact, Set = set, Next = next });
        }

        return new WorkflowDefinition { Name = "Long", Trigger = new WorkflowTrigger { Type = TriggerTypes.Manual }, Start = "s0", Steps = steps };
    }

    [Fact]
    public void A_workflow_over_the_step_cap_is_rejected_naming_steps()
    {
        var errors = new WorkflowValidator().Validate(Chain(WorkflowValidator.DefaultMaxSteps + 1));

        Assert.Equal(["steps"], errors.All.Keys);
        Assert.Contains("at most 500 steps", Assert.Single(errors.All["steps"]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_workflow_at_the_step_cap_is_valid()
    {
        var errors = new WorkflowValidator().Validate(Chain(WorkflowValidator.DefaultMaxSteps));

        Assert.True(errors.IsEmpty, errors.ToString());
    }

    [Fact]
    public void A_chain_of_100000_steps_is_walked_without_overflowing_the_stack()
    {
        var validator = new WorkflowValidator { MaxSteps = int.MaxValue };

        var errors = validator.Validate(Chain(100_000));

        Assert.True(errors.IsEmpty, errors.ToString());
    }

    [Fact]
    public void A_loop_of_100000_steps_without_a_wait_is_reported_once()
    {
        var validator = new WorkflowValidator { MaxSteps = int.MaxValue };

        var errors = validator.Validate(Chain(100_000, closeLoop: true));

        var message = Assert.Single(errors.All["steps.s0"]);
        Assert.Contains("cycle with no delay", message, StringComparison.Ordinal);
        Assert.Contains("s99999 -> s0", message, StringComparison.Ordinal);
    }
}
