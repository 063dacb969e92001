using System.Text.Json.Nodes;
using Automator.Testing;
using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

/// <summary>The example workflow of api.md, as JSON to mutate per test.</summary>
public static class ExampleWorkflow
{
    public const string Json = ApiExamples.WelcomeWorkflow;

    public static readonly IReadOnlySet<string> Templates = new HashSet<string> { "tpl_1", "tpl_2", "tpl_3", "tpl_4" };

    public static JsonObject Node() => JsonNode.Parse(Json)!.AsObject();

    public static JsonObject Step(this JsonObject workflow, string id) =>
        workflow["steps"]!.AsArray().Select(s => s!.AsObject()).Single(s => (string?)s["id"] == id);

    public static WorkflowDefinition Parse(JsonObject node) => WorkflowJson.ParseValid(node.ToJsonString());

    public static WorkflowDefinition Definition() => WorkflowJson.ParseValid(Json);
}
