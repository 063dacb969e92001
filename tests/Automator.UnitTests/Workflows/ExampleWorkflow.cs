using System.Text.Json.Nodes;
using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

/// <summary>The example workflow of api.md, as JSON to mutate per test.</summary>
public static class ExampleWorkflow
{
    public const string Json = """
    {
      "name": "Welcome series",
      "trigger": { "type": "event", "event": "signed_up" },
      "settings": { "reentry": "never", "exitEvents": ["unsubscribed"], "goalEvent": "purchased",
                    "sendWindow": { "start": "09:00", "end": "18:00", "days": ["mon","tue","wed","thu","fri"] },
                    "frequencyCap": { "max": 3, "per": "P1D" }, "timeZone": "UTC" },
      "start": "welcome",
      "steps": [
        { "id": "welcome", "type": "send", "templateId": "tpl_1", "next": "wait" },
        { "id": "wait", "type": "delay", "duration": "P2D", "next": "opened?" },
        { "id": "opened?", "type": "branch", "conditions": [ { "when": { "opened": "welcome" }, "next": "buy" } ], "else": "nudge" },
        { "id": "nudge", "type": "send", "templateId": "tpl_2", "next": null },
        { "id": "buy", "type": "waitForEvent", "event": "purchased", "timeout": "P3D", "next": null, "onTimeout": "offer" },
        { "id": "offer", "type": "split", "branches": [ { "weight": 50, "next": "offerA" }, { "weight": 50, "next": "offerB" } ] },
        { "id": "offerA", "type": "send", "templateId": "tpl_3", "next": null },
        { "id": "offerB", "type": "send", "templateId": "tpl_4", "next": null }
      ]
    }
    """;

    public static readonly IReadOnlySet<string> Templates = new HashSet<string> { "tpl_1", "tpl_2", "tpl_3", "tpl_4" };

    public static JsonObject Node() => JsonNode.Parse(Json)!.AsObject();

    public static JsonObject Step(this JsonObject workflow, string id) =>
        workflow["steps"]!.AsArray().Select(s => s!.AsObject()).Single(s => (string?)s["id"] == id);

    public static WorkflowDefinition Parse(JsonObject node) => WorkflowJson.ParseValid(node.ToJsonString());

    public static WorkflowDefinition Definition() => WorkflowJson.ParseValid(Json);
}
