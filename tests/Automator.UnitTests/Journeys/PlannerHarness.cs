using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.Journeys;
using Automator.Workflows;

namespace Automator.UnitTests.Journeys;

/// <summary>One journey driven through the planner, accumulating counters and actions like the grain would.</summary>
public sealed class PlannerHarness
{
    private readonly JourneyPlanner _planner = new();

    public PlannerHarness(WorkflowDefinition definition, Guid? contactId = null, string? timeZone = null, string? properties = null)
    {
        Definition = definition;
        State = new JourneyState { ContactId = contactId ?? Guid.NewGuid(), WorkflowId = Guid.NewGuid(), OrganizationId = Guid.NewGuid() };
        TimeZone = timeZone;
        Properties = properties is null ? null : JsonDocument.Parse(properties).RootElement.Clone();
    }

    public WorkflowDefinition Definition { get; }

    public JourneyState State { get; }

    public string? TimeZone { get; set; }

    public JsonElement? Properties { get; set; }

    public string Status { get; set; } = "active";

    public List<DateTimeOffset> RecentSends { get; } = [];

    public OpenHours? Opens { get; set; }

    public Dictionary<string, string>? Winners { get; set; }

    public List<JourneyAction> Actions { get; } = [];

    public Dictionary<string, long> Counters { get; } = new(StringComparer.Ordinal);

    public JourneyPlan? Last { get; private set; }

    public IEnumerable<string> SentSteps => Actions.OfType<JourneyAction.Send>().Select(s => s.Request.StepId);

    public long Counter(string name, string? step = null, string? variant = null) =>
        Counters.GetValueOrDefault($"{name}|{step}|{variant}");

    public JourneyPlan Enter(DateTimeOffset now, string? eventJson = null, DateTimeOffset? at = null) =>
        Apply(new JourneyStimulus.Enter(1, eventJson, at), now);

    public JourneyPlan Wake(DateTimeOffset now) => Apply(new JourneyStimulus.Wake(), now);

    public JourneyPlan Event(string name, DateTimeOffset now, string? properties = null) =>
        Apply(new JourneyStimulus.Event(name, properties, now), now);

    /// <summary>Wakes whenever the journey asks to, until <paramref name="until"/>.</summary>
    public void RunUntil(DateTimeOffset until)
    {
        for (var i = 0; i < 1000 && Last?.WakeAt is { } wake && wake <= until; i++)
        {
            Wake(wake);
        }
    }

    public JourneyPlan Apply(JourneyStimulus stimulus, DateTimeOffset now)
    {
        var context = new JourneyContext
        {
            JourneyId = "j1",
            WorkflowStatus = Status,
            ContactProperties = Properties,
            ContactTimeZone = TimeZone,
            RecentSends = RecentSends,
            Opens = Opens,
            Winners = Winners,
        };
        Last = _planner.Plan(Definition, State, stimulus, context, now);
        Properties = context.ContactProperties;
        Actions.AddRange(Last.Actions);
        foreach (var c in Last.Counters)
        {
            var key = $"{c.Name}|{c.StepId}|{c.Variant}";
            Counters[key] = Counters.GetValueOrDefault(key) + c.Delta;
        }

        return Last;
    }

    public static WorkflowDefinition Workflow(string steps, string settings = "{}", string start = "a") =>
        WorkflowJson.ParseValid(new JsonObject
        {
            ["name"] = "t",
            ["trigger"] = JsonNode.Parse("""{ "type": "event", "event": "go" }"""),
            ["settings"] = JsonNode.Parse(settings),
            ["start"] = start,
            ["steps"] = JsonNode.Parse(steps),
        }.ToJsonString());
}
