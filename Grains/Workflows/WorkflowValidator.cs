using System.Text.Json;

namespace Automator.Workflows;

/// <summary>
/// Rejects broken workflows before they are saved. Every step error is keyed <c>steps.{stepId}[.field]</c> and its
/// message names the step, so the marketer sees which box on the canvas is wrong.
/// </summary>
public sealed class WorkflowValidator
{
    /// <summary>The most steps one workflow may have (documented in docs/journeys.md).</summary>
    public const int DefaultMaxSteps = 500;

    /// <summary>Steps allowed per workflow; a larger workflow is refused before any per-step check or graph walk.</summary>
    public int MaxSteps { get; init; } = DefaultMaxSteps;

    /// <summary>The largest coordinate, either way, a step's canvas position may have.</summary>
    public const double MaxCoordinate = 1_000_000;

    /// <param name="knownTemplateIds">The organization's template ids; null skips the template check.</param>
    public ValidationErrors Validate(WorkflowDefinition definition, IReadOnlySet<string>? knownTemplateIds = null)
    {
        var errors = new ValidationErrors();
        if (definition.Steps.Count > MaxSteps)
        {
            errors.Add("steps", $"A workflow may have at most {MaxSteps} steps (this one has {definition.Steps.Count}).");
            return errors;
        }

        if (string.IsNullOrWhiteSpace(definition.Name))
        {
            errors.Add("name", "A workflow needs a name.");
        }

        ValidateTrigger(definition.Trigger, errors);
        ValidateSettings(definition.Settings, errors);

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.Steps.Count; i++)
        {
            var step = definition.Steps[i];
            if (string.IsNullOrWhiteSpace(step.Id))
            {
                errors.Add($"steps[{i}].id", $"Step #{i} has no id.");
            }
            else if (!ids.Add(step.Id))
            {
                errors.Add($"steps.{step.Id}.id", $"Step '{step.Id}': the id is used by more than one step.");
            }
        }

        if (definition.Steps.Count == 0)
        {
            errors.Add("steps", "A workflow needs at least one step.");
        }

        if (string.IsNullOrWhiteSpace(definition.Start))
        {
            errors.Add("start", "The start step is missing.");
        }
        else if (!ids.Contains(definition.Start))
        {
            errors.Add("start", $"The start step '{definition.Start}' does not exist.");
        }

        foreach (var step in definition.Steps.Where(s => !string.IsNullOrWhiteSpace(s.Id)))
        {
            ValidateStep(definition, step, ids, knownTemplateIds, errors);
        }

        if (definition.Start is not null && ids.Contains(definition.Start))
        {
            var reachable = Reachable(definition);
            foreach (var step in definition.Steps.Where(s => s.Id is not null && !reachable.Contains(s.Id)))
            {
                errors.Add($"steps.{step.Id}", $"Step '{step.Id}' is unreachable from the start step '{definition.Start}'.");
            }
        }

        ValidateLayout(definition.Layout, ids, errors);

        foreach (var cycle in InstantCycles(definition))
        {
            var path = string.Join(" -> ", cycle.Append(cycle[0]));
            errors.Add($"steps.{cycle[0]}", $"Step '{cycle[0]}' is in a cycle with no delay or wait ({path}).");
        }

        return errors;
    }

    private static void ValidateTrigger(WorkflowTrigger? trigger, ValidationErrors errors)
    {
        if (trigger is null)
        {
            errors.Add("trigger", "A workflow needs a trigger.");
            return;
        }

        if (string.IsNullOrWhiteSpace(trigger.Type) || !TriggerTypes.All.Contains(trigger.Type))
        {
            errors.Add("trigger.type", $"Unknown trigger type '{trigger.Type}' (expected one of {string.Join(", ", TriggerTypes.All)}).");
            return;
        }

        switch (trigger.Type)
        {
            case TriggerTypes.Event when string.IsNullOrWhiteSpace(trigger.Event):
                errors.Add("trigger.event", "An event trigger needs the event name.");
                break;
            case TriggerTypes.SegmentEntry when !Guid.TryParse(trigger.SegmentId, out _):
                errors.Add("trigger.segmentId", "A segment entry trigger needs a segmentId.");
                break;
            case TriggerTypes.ListJoin when !Guid.TryParse(trigger.ListId, out _):
                errors.Add("trigger.listId", "A list join trigger needs a listId.");
                break;
            case TriggerTypes.DateProperty:
                if (string.IsNullOrWhiteSpace(trigger.Property))
                {
                    errors.Add("trigger.property", "A date property trigger needs the property name.");
                }

                if (trigger.Offset is not null && !Durations.TryParse(trigger.Offset, out _))
                {
                    errors.Add("trigger.offset", $"'{trigger.Offset}' is not an ISO 8601 duration (e.g. -P3D).");
                }

                break;
            case TriggerTypes.Webhook when string.IsNullOrWhiteSpace(trigger.Secret) || trigger.Secret.Length < 16:
                errors.Add("trigger.secret", "A webhook trigger needs a secret of at least 16 characters to verify signatures.");
                break;
        }

        if (trigger.Filter is { } filter)
        {
            foreach (var problem in Conditions.Problems(filter, isFilter: true))
            {
                errors.Add("trigger.filter", $"Trigger filter: {problem}.");
            }
        }
    }

    /// <summary>The canvas layout: only the workflow's own steps, each at finite coordinates within <see cref="MaxCoordinate"/>.</summary>
    private void ValidateLayout(Dictionary<string, StepPosition?>? layout, HashSet<string> ids, ValidationErrors errors)
    {
        if (layout is null)
        {
            return;
        }

        if (layout.Count > MaxSteps)
        {
            errors.Add("layout", $"The layout may place at most {MaxSteps} steps (it has {layout.Count}).");
            return;
        }

        foreach (var (id, position) in layout)
        {
            if (!ids.Contains(id))
            {
                errors.Add($"layout.{id}", $"Layout: '{id}' is not a step of this workflow.");
            }
            else if (position is null)
            {
                errors.Add($"layout.{id}", $"Layout: step '{id}' needs a position {{ x, y }}.");
            }
            else
            {
                Coordinate("x", position.X);
                Coordinate("y", position.Y);
            }

            void Coordinate(string axis, double value)
            {
                if (!double.IsFinite(value) || Math.Abs(value) > MaxCoordinate)
                {
                    errors.Add($"layout.{id}.{axis}", $"Layout: step '{id}' has {axis} = {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a coordinate must be a finite number from -1000000 to 1000000.");
                }
            }
        }
    }

    private static void ValidateSettings(WorkflowSettings? settings, ValidationErrors errors)
    {
        if (settings is null)
        {
            return;
        }

        if (!ReentryRule.TryParse(settings.Reentry, out _))
        {
            errors.Add("settings.reentry", "Re-entry must be \"never\", \"always\" or a positive ISO 8601 duration (\"P7D\", \"after:P7D\").");
        }

        if (settings.TimeZone is not null && !Durations.TryFindTimeZone(settings.TimeZone, out _))
        {
            errors.Add("settings.timeZone", $"Unknown time zone '{settings.TimeZone}' (use an IANA name such as America/New_York).");
        }

        if (settings.SendWindow is { } window)
        {
            if (!Durations.TryParseTimeOfDay(window.Start, out var start))
            {
                errors.Add("settings.sendWindow.start", $"'{window.Start}' is not a time of day (HH:mm).");
            }

            if (!Durations.TryParseTimeOfDay(window.End, out var end))
            {
                errors.Add("settings.sendWindow.end", $"'{window.End}' is not a time of day (HH:mm).");
            }
            else if (start == end)
            {
                errors.Add("settings.sendWindow.end", "The send window's start and end are equal.");
            }

            foreach (var day in window.Days ?? [])
            {
                if (!Durations.TryParseDay(day, out _))
                {
                    errors.Add("settings.sendWindow.days", $"'{day}' is not a day (mon, tue, wed, thu, fri, sat, sun).");
                }
            }

            if (window.Days is { Count: 0 })
            {
                errors.Add("settings.sendWindow.days", "A send window needs at least one day.");
            }
        }

        if (settings.FrequencyCap is { } cap)
        {
            if (cap.Max <= 0)
            {
                errors.Add("settings.frequencyCap.max", "The frequency cap's max must be at least 1.");
            }

            if (!Durations.TryParse(cap.Per, out var per) || per <= TimeSpan.Zero)
            {
                errors.Add("settings.frequencyCap.per", $"'{cap.Per}' is not a positive ISO 8601 duration.");
            }
        }
    }

    private static void ValidateStep(WorkflowDefinition definition, WorkflowStep step, HashSet<string> ids, IReadOnlySet<string>? templates, ValidationErrors errors)
    {
        var key = $"steps.{step.Id}";
        var name = $"Step '{step.Id}'";
        if (string.IsNullOrWhiteSpace(step.Type) || !StepTypes.All.Contains(step.Type))
        {
            errors.Add($"{key}.type", $"{name}: unknown type '{step.Type}' (expected one of {string.Join(", ", StepTypes.All)}).");
            return;
        }

        void Target(string field, string? target)
        {
            if (target is not null && !ids.Contains(target))
            {
                errors.Add($"{key}.{field}", $"{name}: '{field}' points to unknown step '{target}'.");
            }
        }

        void Duration(string field, string? value, bool required, bool positive)
        {
            if (value is null)
            {
                if (required)
                {
                    errors.Add($"{key}.{field}", $"{name}: '{field}' is required (an ISO 8601 duration such as P2D or PT30S).");
                }

                return;
            }

            if (!Durations.TryParse(value, out var d))
            {
                errors.Add($"{key}.{field}", $"{name}: '{value}' is not a valid ISO 8601 duration.");
            }
            else if (positive && d <= TimeSpan.Zero)
            {
                errors.Add($"{key}.{field}", $"{name}: '{field}' must be positive.");
            }
        }

        void Template(string field, string? templateId)
        {
            if (string.IsNullOrWhiteSpace(templateId))
            {
                errors.Add($"{key}.{field}", $"{name}: a template is required.");
            }
            else if (templates is not null && !templates.Contains(templateId))
            {
                errors.Add($"{key}.{field}", $"{name}: template '{templateId}' does not exist.");
            }
        }

        if (step.Type is not (StepTypes.Branch or StepTypes.Split))
        {
            Target("next", step.Next);
        }

        if (step.AutoWinner is not null)
        {
            ValidateAutoWinner(definition, step, errors);
        }

        switch (step.Type)
        {
            case StepTypes.Send:
                if (step.Variants is { Count: > 0 } variants)
                {
                    var variantIds = new HashSet<string>(StringComparer.Ordinal);
                    for (var i = 0; i < variants.Count; i++)
                    {
                        var v = variants[i];
                        if (v.Weight <= 0)
                        {
                            errors.Add($"{key}.variants[{i}].weight", $"{name}: variant weights must be greater than 0.");
                        }

                        if (string.IsNullOrWhiteSpace(v.Id) || !variantIds.Add(v.Id))
                        {
                            errors.Add($"{key}.variants[{i}].id", $"{name}: each variant needs a unique id.");
                        }

                        Template($"variants[{i}].templateId", v.TemplateId ?? step.TemplateId);
                    }
                }
                else
                {
                    Template("templateId", step.TemplateId);
                }

                break;
            case StepTypes.Delay:
                Duration("duration", step.Duration, required: true, positive: true);
                break;
            case StepTypes.WaitUntil:
                var forms = (step.At is not null ? 1 : 0) + (step.Property is not null ? 1 : 0) + (step.TimeOfDay is not null ? 1 : 0);
                if (step.OptimalTime && forms > 0)
                {
                    errors.Add($"{key}.optimalTime", $"{name}: 'optimalTime' cannot be combined with 'at', 'property' or 'timeOfDay'.");
                }
                else if (!step.OptimalTime && forms != 1)
                {
                    errors.Add(key, $"{name}: a waitUntil step needs exactly one of 'at', 'property', 'timeOfDay' or 'optimalTime'.");
                }

                if (step.Within is not null)
                {
                    if (!step.OptimalTime)
                    {
                        errors.Add($"{key}.within", $"{name}: 'within' applies only with 'optimalTime'.");
                    }
                    else if (!Durations.TryParse(step.Within, out var within) || within < Journeys.SendTimeOptimizer.ShortestWithin || within > Journeys.SendTimeOptimizer.LongestWithin)
                    {
                        errors.Add($"{key}.within", $"{name}: 'within' must be an ISO 8601 duration from PT1H to P7D (got '{step.Within}').");
                    }
                }

                if (step.At is not null && !DateTimeOffset.TryParse(step.At, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out _))
                {
                    errors.Add($"{key}.at", $"{name}: '{step.At}' is not an ISO 8601 date/time.");
                }

                if (step.TimeOfDay is not null && !Durations.TryParseTimeOfDay(step.TimeOfDay, out _))
                {
                    errors.Add($"{key}.timeOfDay", $"{name}: '{step.TimeOfDay}' is not a time of day (HH:mm).");
                }

                Duration("offset", step.Offset, required: false, positive: false);
                break;
            case StepTypes.WaitForEvent:
                if (string.IsNullOrWhiteSpace(step.Event))
                {
                    errors.Add($"{key}.event", $"{name}: the event to wait for is required.");
                }

                Duration("timeout", step.Timeout, required: false, positive: true);
                if (step.OnTimeout is not null && step.Timeout is null)
                {
                    errors.Add($"{key}.timeout", $"{name}: 'onTimeout' needs a 'timeout'.");
                }

                Target("onTimeout", step.OnTimeout);
                if (step.Filter is { } filter)
                {
                    foreach (var problem in Conditions.Problems(filter, isFilter: true))
                    {
                        errors.Add($"{key}.filter", $"{name}: {problem}.");
                    }
                }

                break;
            case StepTypes.Branch:
                if (step.Conditions is not { Count: > 0 })
                {
                    errors.Add($"{key}.conditions", $"{name}: a branch needs at least one condition.");
                }

                for (var i = 0; i < (step.Conditions?.Count ?? 0); i++)
                {
                    var condition = step.Conditions![i];
                    Target($"conditions[{i}].next", condition.Next);
                    if (condition.When is not { } when)
                    {
                        errors.Add($"{key}.conditions[{i}].when", $"{name}: condition #{i} has no 'when'.");
                        continue;
                    }

                    foreach (var problem in Conditions.Problems(when))
                    {
                        errors.Add($"{key}.conditions[{i}].when", $"{name}: {problem}.");
                    }

                    foreach (var referenced in Conditions.ReferencedSteps(when))
                    {
                        if (definition.Find(referenced) is not { Type: StepTypes.Send })
                        {
                            errors.Add($"{key}.conditions[{i}].when", $"{name}: '{referenced}' is not a send step.");
                        }
                    }
                }

                Target("else", step.Else);
                break;
            case StepTypes.Split:
                if (step.Branches is not { Count: > 0 })
                {
                    errors.Add($"{key}.branches", $"{name}: a split needs at least one branch.");
                }

                for (var i = 0; i < (step.Branches?.Count ?? 0); i++)
                {
                    var branch = step.Branches![i];
                    if (branch.Weight <= 0 || double.IsNaN(branch.Weight))
                    {
                        errors.Add($"{key}.branches[{i}].weight", $"{name}: branch #{i} weight must be greater than 0.");
                    }

                    Target($"branches[{i}].next", branch.Next);
                }

                break;
            case StepTypes.UpdateContact:
                if (step.Set is not { ValueKind: JsonValueKind.Object })
                {
                    errors.Add($"{key}.set", $"{name}: 'set' must be an object of properties.");
                }

                break;
            case StepTypes.Webhook:
                if (!Uri.TryCreate(step.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    errors.Add($"{key}.url", $"{name}: '{step.Url}' is not an absolute http(s) URL.");
                }

                if (step.Method is not null && step.Method.ToUpperInvariant() is not ("GET" or "POST" or "PUT" or "PATCH" or "DELETE"))
                {
                    errors.Add($"{key}.method", $"{name}: '{step.Method}' is not an HTTP method.");
                }

                break;
        }
    }

    private static void ValidateAutoWinner(WorkflowDefinition definition, WorkflowStep step, ValidationErrors errors)
    {
        var key = $"steps.{step.Id}.autoWinner";
        var name = $"Step '{step.Id}'";
        var settings = step.AutoWinner!;
        var arms = step.Type switch
        {
            StepTypes.Send => step.Variants?.Select(v => v.Id).ToList(),
            StepTypes.Split => step.Branches?.Select(b => b.Id).ToList(),
            _ => null,
        };
        if (step.Type is not (StepTypes.Send or StepTypes.Split))
        {
            errors.Add(key, $"{name}: 'autoWinner' applies only to send steps with variants and to splits.");
        }
        else if (arms is not { Count: >= 2 })
        {
            errors.Add(key, $"{name}: 'autoWinner' needs at least two {(step.Type == StepTypes.Send ? "variants" : "branches")}.");
        }
        else if (arms.Any(string.IsNullOrWhiteSpace) || arms.Distinct(StringComparer.Ordinal).Count() != arms.Count)
        {
            errors.Add(key, $"{name}: 'autoWinner' needs every {(step.Type == StepTypes.Send ? "variant" : "branch")} to have a unique id, so that the winner can be named.");
        }

        if (settings.Metric is null || !WinnerMetrics.All.Contains(settings.Metric))
        {
            errors.Add($"{key}.metric", $"{name}: 'autoWinner.metric' must be one of {string.Join(", ", WinnerMetrics.All)}.");
        }
        else if (settings.Metric == WinnerMetrics.Goal && string.IsNullOrWhiteSpace(definition.Settings?.GoalEvent))
        {
            errors.Add($"{key}.metric", $"{name}: 'autoWinner.metric' is 'goal' but the workflow has no settings.goalEvent.");
        }
        else if (settings.Metric != WinnerMetrics.Goal && step.Type == StepTypes.Split && !SendsAfter(definition, step))
        {
            errors.Add($"{key}.metric", $"{name}: 'autoWinner.metric' is '{settings.Metric}' but no send step follows the split.");
        }

        if (settings.MinSamples is < SequentialWinnerTest.FloorSamples or > 10_000_000)
        {
            errors.Add($"{key}.minSamples", $"{name}: 'autoWinner.minSamples' must be between {SequentialWinnerTest.FloorSamples} and 10000000.");
        }

        if (double.IsNaN(settings.Confidence) || settings.Confidence is < 0.8 or > 0.999)
        {
            errors.Add($"{key}.confidence", $"{name}: 'autoWinner.confidence' must be between 0.8 and 0.999.");
        }
    }

    private static bool SendsAfter(WorkflowDefinition definition, WorkflowStep split)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(split.Targets);
        while (pending.TryPop(out var id))
        {
            if (!seen.Add(id) || definition.Find(id) is not { } step)
            {
                continue;
            }

            if (step.Type == StepTypes.Send)
            {
                return true;
            }

            foreach (var target in step.Targets)
            {
                pending.Push(target);
            }
        }

        return false;
    }

    private static HashSet<string> Reachable(WorkflowDefinition definition)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        queue.Enqueue(definition.Start!);
        while (queue.Count > 0)
        {
            var id = queue.Dequeue();
            if (!seen.Add(id) || definition.Find(id) is not { } step)
            {
                continue;
            }

            foreach (var target in step.Targets)
            {
                queue.Enqueue(target);
            }
        }

        return seen;
    }

    /// <summary>Cycles made only of steps that do not wait: a journey on one would loop forever in a single turn.</summary>
    /// <remarks>A depth-first search with its own stack, so a long chain of steps cannot overflow the thread's stack.</remarks>
    private static List<List<string>> InstantCycles(WorkflowDefinition definition)
    {
        var cycles = new List<List<string>>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal);
        var path = new List<string>();
        var pathIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var frames = new Stack<(string Id, List<string> Targets, int Next)>();

        bool Enter(string id)
        {
            if (definition.Find(id) is not { } step || StepTypes.Waits(step.Type))
            {
                return false;
            }

            state[id] = 1;
            pathIndex[id] = path.Count;
            path.Add(id);
            frames.Push((id, step.Targets.Distinct(StringComparer.Ordinal).ToList(), 0));
            return true;
        }

        foreach (var root in definition.Steps.Where(s => s.Id is not null))
        {
            if (state.GetValueOrDefault(root.Id!) != 0 || !Enter(root.Id!))
            {
                continue;
            }

            while (frames.Count > 0)
            {
                var (id, targets, next) = frames.Pop();
                if (next == targets.Count)
                {
                    path.RemoveAt(path.Count - 1);
                    pathIndex.Remove(id);
                    state[id] = 2;
                    continue;
                }

                frames.Push((id, targets, next + 1));
                var target = targets[next];
                var s = state.GetValueOrDefault(target);
                if (s == 1)
                {
                    var cycle = path.Skip(pathIndex[target]).ToList();
                    if (reported.Add(string.Join(",", cycle.Order(StringComparer.Ordinal))))
                    {
                        cycles.Add(cycle);
                    }
                }
                else if (s == 0)
                {
                    Enter(target);
                }
            }
        }

        return cycles;
    }
}
