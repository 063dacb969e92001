using System.Text.Json.Nodes;
using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

public sealed class WorkflowValidatorTests
{
    private readonly WorkflowValidator _validator = new();

    private ValidationErrors Validate(JsonObject node, IReadOnlySet<string>? templates = null) =>
        _validator.Validate(ExampleWorkflow.Parse(node), templates ?? ExampleWorkflow.Templates);

    private static void AssertError(ValidationErrors errors, string key, string mentions)
    {
        Assert.True(errors.All.ContainsKey(key), $"expected an error at '{key}', got: {errors}");
        Assert.Contains(errors.All[key], m => m.Contains(mentions, StringComparison.Ordinal));
    }

    [Fact]
    public void The_api_example_is_valid()
    {
        var errors = Validate(ExampleWorkflow.Node());

        Assert.True(errors.IsEmpty, errors.ToString());
    }

    [Fact]
    public void Every_step_type_and_trigger_parses_and_validates()
    {
        var json = """
        {
          "name": "All steps", "trigger": { "type": "event", "event": "order", "filter": { "plan": "pro" } },
          "settings": { "reentry": "P7D", "timeZone": "America/New_York" },
          "start": "a",
          "steps": [
            { "id": "a", "type": "send", "templateId": "tpl_1", "variants": [ { "id": "A", "weight": 1 }, { "id": "B", "weight": 1, "subject": "Hi" } ], "next": "b" },
            { "id": "b", "type": "waitUntil", "timeOfDay": "10:00", "next": "c" },
            { "id": "c", "type": "waitUntil", "property": "trial_ends_at", "offset": "-P3D", "next": "d" },
            { "id": "d", "type": "waitUntil", "at": "2030-01-01T00:00:00Z", "next": "e" },
            { "id": "e", "type": "updateContact", "set": { "stage": "warm" }, "next": "f" },
            { "id": "f", "type": "webhook", "url": "https://example.com/hook", "method": "POST", "body": { "x": 1 }, "next": "g" },
            { "id": "g", "type": "branch", "conditions": [ { "when": { "property": "plan", "op": "eq", "value": "pro" }, "next": "h" },
                                                         { "when": { "eventProperty": "amount", "op": "gt", "value": 10 }, "next": "h" } ], "else": "x" },
            { "id": "h", "type": "waitForEvent", "event": "paid", "filter": [ { "property": "amount", "op": "gte", "value": 5 } ], "next": "x" },
            { "id": "x", "type": "exit" }
          ]
        }
        """;

        var errors = _validator.Validate(WorkflowJson.ParseValid(json), ExampleWorkflow.Templates);

        Assert.True(errors.IsEmpty, errors.ToString());
    }

    [Fact]
    public void Unknown_next_names_the_step()
    {
        var node = ExampleWorkflow.Node();
        node.Step("wait")["next"] = "nowhere";

        AssertError(Validate(node), "steps.wait.next", "Step 'wait'");
    }

    [Fact]
    public void Unknown_branch_and_timeout_targets_name_the_step()
    {
        var node = ExampleWorkflow.Node();
        node.Step("opened?")["else"] = "ghost";
        node.Step("buy")["onTimeout"] = "ghost2";

        var errors = Validate(node);

        AssertError(errors, "steps.opened?.else", "ghost");
        AssertError(errors, "steps.buy.onTimeout", "ghost2");
    }

    [Fact]
    public void Unreachable_step_is_named()
    {
        var node = ExampleWorkflow.Node();
        node["steps"]!.AsArray().Add(JsonNode.Parse("""{ "id": "orphan", "type": "send", "templateId": "tpl_1" }"""));

        AssertError(Validate(node), "steps.orphan", "unreachable");
    }

    [Fact]
    public void Cycle_without_a_wait_is_rejected_naming_its_steps()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["next"] = "opened?";

        var errors = Validate(node);

        Assert.Contains(errors.All, e => e.Key.StartsWith("steps.", StringComparison.Ordinal) && e.Value.Any(m => m.Contains("cycle", StringComparison.Ordinal) && m.Contains("nudge", StringComparison.Ordinal)));
    }

    [Fact]
    public void Cycle_through_a_delay_is_allowed()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["next"] = "wait";

        Assert.True(Validate(node).IsEmpty);
    }

    [Fact]
    public void Missing_template_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["templateId"] = "tpl_gone";

        AssertError(Validate(node), "steps.nudge.templateId", "tpl_gone");
    }

    [Fact]
    public void Send_without_template_is_rejected()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge").Remove("templateId");

        AssertError(Validate(node, templates: null), "steps.nudge.templateId", "Step 'nudge'");
    }

    [Theory]
    [InlineData("2 days")]
    [InlineData("P2X")]
    [InlineData("-P1D")]
    [InlineData("PT0S")]
    public void Bad_delay_duration_is_named(string duration)
    {
        var node = ExampleWorkflow.Node();
        node.Step("wait")["duration"] = duration;

        AssertError(Validate(node), "steps.wait.duration", "Step 'wait'");
    }

    [Fact]
    public void Missing_delay_duration_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("wait").Remove("duration");

        AssertError(Validate(node), "steps.wait.duration", "required");
    }

    [Fact]
    public void Bad_timeout_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("buy")["timeout"] = "three days";

        AssertError(Validate(node), "steps.buy.timeout", "Step 'buy'");
    }

    [Fact]
    public void Bad_time_zone_is_rejected()
    {
        var node = ExampleWorkflow.Node();
        node["settings"]!["timeZone"] = "Mars/Olympus";

        AssertError(Validate(node), "settings.timeZone", "Mars/Olympus");
    }

    [Theory]
    [InlineData("25:00")]
    [InlineData("9am")]
    public void Bad_time_of_day_is_named(string time)
    {
        var node = ExampleWorkflow.Node();
        node.Step("wait")["type"] = "waitUntil";
        node.Step("wait").Remove("duration");
        node.Step("wait")["timeOfDay"] = time;

        AssertError(Validate(node), "steps.wait.timeOfDay", "Step 'wait'");
    }

    [Fact]
    public void Bad_send_window_is_rejected()
    {
        var node = ExampleWorkflow.Node();
        node["settings"]!["sendWindow"] = JsonNode.Parse("""{ "start": "9", "end": "18:00", "days": ["funday"] }""");

        var errors = Validate(node);

        AssertError(errors, "settings.sendWindow.start", "9");
        AssertError(errors, "settings.sendWindow.days", "funday");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Split_weight_not_positive_is_named(double weight)
    {
        var node = ExampleWorkflow.Node();
        node.Step("offer")["branches"]![0]!["weight"] = weight;

        AssertError(Validate(node), "steps.offer.branches[0].weight", "Step 'offer'");
    }

    [Fact]
    public void Variant_weight_not_positive_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["variants"] = JsonNode.Parse("""[ { "id": "A", "weight": 0 }, { "id": "B", "weight": 1 } ]""");

        AssertError(Validate(node), "steps.nudge.variants[0].weight", "Step 'nudge'");
    }

    [Theory]
    [InlineData("""{ "type": "event" }""", "trigger.event")]
    [InlineData("""{ "type": "segmentEntry" }""", "trigger.segmentId")]
    [InlineData("""{ "type": "listJoin", "listId": "nope" }""", "trigger.listId")]
    [InlineData("""{ "type": "dateProperty" }""", "trigger.property")]
    [InlineData("""{ "type": "dateProperty", "property": "trial_ends_at", "offset": "3 days" }""", "trigger.offset")]
    [InlineData("""{ "type": "webhook" }""", "trigger.secret")]
    [InlineData("""{ "type": "telepathy" }""", "trigger.type")]
    public void Trigger_missing_fields_is_rejected(string trigger, string key)
    {
        var node = ExampleWorkflow.Node();
        node["trigger"] = JsonNode.Parse(trigger);

        Assert.True(Validate(node).All.ContainsKey(key), Validate(node).ToString());
    }

    [Fact]
    public void Missing_trigger_is_rejected()
    {
        var node = ExampleWorkflow.Node();
        node.Remove("trigger");

        Assert.True(Validate(node).All.ContainsKey("trigger"));
    }

    [Fact]
    public void Unknown_step_type_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["type"] = "teleport";

        AssertError(Validate(node), "steps.nudge.type", "teleport");
    }

    [Fact]
    public void Duplicate_step_id_is_named()
    {
        var node = ExampleWorkflow.Node();
        node["steps"]!.AsArray().Add(JsonNode.Parse("""{ "id": "nudge", "type": "exit" }"""));

        AssertError(Validate(node), "steps.nudge.id", "more than one");
    }

    [Fact]
    public void Unknown_start_is_rejected()
    {
        var node = ExampleWorkflow.Node();
        node["start"] = "nope";

        AssertError(Validate(node), "start", "nope");
    }

    [Fact]
    public void Branch_on_engagement_with_a_non_send_step_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("opened?")["conditions"]![0]!["when"] = JsonNode.Parse("""{ "opened": "wait" }""");

        AssertError(Validate(node), "steps.opened?.conditions[0].when", "not a send step");
    }

    [Fact]
    public void Bad_branch_operator_is_named()
    {
        var node = ExampleWorkflow.Node();
        node.Step("opened?")["conditions"]![0]!["when"] = JsonNode.Parse("""{ "property": "plan", "op": "resembles", "value": 1 }""");

        AssertError(Validate(node), "steps.opened?.conditions[0].when", "resembles");
    }

    [Fact]
    public void Bad_reentry_and_frequency_cap_are_rejected()
    {
        var node = ExampleWorkflow.Node();
        node["settings"]!["reentry"] = "sometimes";
        node["settings"]!["frequencyCap"] = JsonNode.Parse("""{ "max": 0, "per": "daily" }""");

        var errors = Validate(node);

        Assert.True(errors.All.ContainsKey("settings.reentry"));
        Assert.True(errors.All.ContainsKey("settings.frequencyCap.max"));
        Assert.True(errors.All.ContainsKey("settings.frequencyCap.per"));
    }

    [Fact]
    public void Webhook_needs_an_http_url()
    {
        var node = ExampleWorkflow.Node();
        node.Step("nudge")["type"] = "webhook";
        node.Step("nudge")["url"] = "ftp://example.com";

        AssertError(Validate(node), "steps.nudge.url", "Step 'nudge'");
    }

    [Fact]
    public void Malformed_json_names_the_path()
    {
        var definition = WorkflowJson.Parse("""{ "name": "x", "steps": [ { "id": 5 } ] }""", out var errors);

        Assert.Null(definition);
        Assert.Contains(errors.All.Keys, k => k.Contains("steps", StringComparison.Ordinal));
    }

    [Fact]
    public void WaitUntil_needs_exactly_one_form()
    {
        var node = ExampleWorkflow.Node();
        node.Step("wait")["type"] = "waitUntil";
        node.Step("wait").Remove("duration");

        AssertError(Validate(node), "steps.wait", "exactly one");
    }

    private ValidationErrors ValidateWait(string wait) =>
        _validator.Validate(WorkflowJson.ParseValid($$"""
        {
          "name": "Optimal", "trigger": { "type": "event", "event": "order" }, "start": "best",
          "steps": [ {{wait}}, { "id": "mail", "type": "send", "templateId": "tpl_1" } ]
        }
        """), ExampleWorkflow.Templates);

    [Theory]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "P1D", "next": "mail" }""")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "next": "mail" }""")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "PT1H", "next": "mail" }""")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "P7D", "next": "mail" }""")]
    public void Optimal_time_waits_are_valid(string wait)
    {
        var errors = ValidateWait(wait);

        Assert.True(errors.IsEmpty, errors.ToString());
    }

    [Theory]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "timeOfDay": "09:00", "next": "mail" }""", "steps.best.optimalTime")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "at": "2030-01-01T00:00:00Z", "next": "mail" }""", "steps.best.optimalTime")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "property": "renews_at", "next": "mail" }""", "steps.best.optimalTime")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "PT30M", "next": "mail" }""", "steps.best.within")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "P8D", "next": "mail" }""", "steps.best.within")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "optimalTime": true, "within": "soon", "next": "mail" }""", "steps.best.within")]
    [InlineData("""{ "id": "best", "type": "waitUntil", "timeOfDay": "09:00", "within": "P1D", "next": "mail" }""", "steps.best.within")]
    public void Optimal_time_errors_name_the_step(string wait, string key)
    {
        AssertError(ValidateWait(wait), key, "best");
    }

    [Fact]
    public void A_layout_of_the_workflows_steps_is_valid_and_kept_by_a_round_trip()
    {
        var node = ExampleWorkflow.Node();
        node["layout"] = new JsonObject
        {
            ["welcome"] = new JsonObject { ["x"] = 80, ["y"] = 40.5 },
            ["offerB"] = new JsonObject { ["x"] = -1_000_000, ["y"] = 1_000_000 },
        };

        var definition = ExampleWorkflow.Parse(node);
        var errors = _validator.Validate(definition, ExampleWorkflow.Templates);
        var again = WorkflowJson.ParseValid(WorkflowJson.Serialize(definition));

        Assert.True(errors.IsEmpty, errors.ToString());
        Assert.Equal(40.5, again.Layout!["welcome"]!.Y);
        Assert.Equal(-1_000_000, again.Layout!["offerB"]!.X);
    }

    [Fact]
    public void A_workflow_without_a_layout_is_serialized_without_one()
    {
        Assert.DoesNotContain("layout", WorkflowJson.Serialize(ExampleWorkflow.Definition()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "nowhere": { "x": 1, "y": 2 } }""", "layout.nowhere", "not a step")]
    [InlineData("""{ "welcome": null }""", "layout.welcome", "needs a position")]
    [InlineData("""{ "welcome": { "x": 1000001, "y": 0 } }""", "layout.welcome.x", "finite number")]
    [InlineData("""{ "welcome": { "x": 0, "y": -1e300 } }""", "layout.welcome.y", "finite number")]
    [InlineData("""{ "welcome": { "x": 1e400, "y": 0 } }""", "layout.welcome.x", "finite number")]
    public void Layout_errors_name_the_field(string layout, string key, string mentions)
    {
        var node = ExampleWorkflow.Node();
        node["layout"] = JsonNode.Parse(layout);

        AssertError(Validate(node), key, mentions);
    }

    [Fact]
    public void A_layout_larger_than_the_step_limit_is_refused_before_its_entries_are_checked()
    {
        var node = ExampleWorkflow.Node();
        var layout = new JsonObject();
        for (var i = 0; i <= WorkflowValidator.DefaultMaxSteps; i++)
        {
            layout[$"s{i}"] = new JsonObject { ["x"] = 0, ["y"] = 0 };
        }

        node["layout"] = layout;
        var errors = Validate(node);

        AssertError(errors, "layout", "at most");
        Assert.DoesNotContain(errors.All.Keys, k => k.StartsWith("layout.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{ "welcome": { "x": "left", "y": 0 } }""")]
    [InlineData("""[ 1, 2 ]""")]
    public void A_layout_that_is_not_numbers_by_step_is_a_json_error_naming_the_layout(string layout)
    {
        var json = ExampleWorkflow.Json.TrimEnd().TrimEnd('}') + ", \"layout\": " + layout + " }";

        Assert.Null(WorkflowJson.Parse(json, out var errors));
        Assert.Contains(errors.All.Keys, k => k.StartsWith("layout", StringComparison.Ordinal));
    }

    private ValidationErrors ValidateAutoWinner(string step, string settings = """{ "goalEvent": "purchased" }""") =>
        _validator.Validate(PlannerHarnessWorkflow(step, settings), null);

    private static WorkflowDefinition PlannerHarnessWorkflow(string step, string settings) =>
        Journeys.PlannerHarness.Workflow($"[ {step}, {{ \"id\": \"x\", \"type\": \"send\", \"templateId\": \"t\" }} ]", settings);

    [Fact]
    public void Auto_winner_on_send_variants_and_on_a_split_is_valid()
    {
        var send = ValidateAutoWinner("""
            { "id": "a", "type": "send", "templateId": "t", "next": "x", "variants": [ { "id": "A" }, { "id": "B" } ],
              "autoWinner": { "metric": "clicked", "minSamples": 500, "confidence": 0.95 } }
            """);
        var split = ValidateAutoWinner("""
            { "id": "a", "type": "split", "branches": [ { "id": "L", "weight": 1, "next": "x" }, { "id": "R", "weight": 1, "next": "x" } ],
              "autoWinner": { "metric": "goal" } }
            """);

        Assert.True(send.IsEmpty, send.ToString());
        Assert.True(split.IsEmpty, split.ToString());
    }

    [Theory]
    [InlineData("""{ "id": "a", "type": "send", "templateId": "t", "next": "x", "autoWinner": { "metric": "clicked" } }""", "steps.a.autoWinner", "two variants")]
    [InlineData("""{ "id": "a", "type": "delay", "duration": "P1D", "next": "x", "autoWinner": { "metric": "clicked" } }""", "steps.a.autoWinner", "only to send steps")]
    [InlineData("""{ "id": "a", "type": "send", "templateId": "t", "next": "x", "variants": [ { "id": "A" }, { "id": "B" } ], "autoWinner": { "metric": "revenue" } }""", "steps.a.autoWinner.metric", "opened, clicked, goal")]
    [InlineData("""{ "id": "a", "type": "send", "templateId": "t", "next": "x", "variants": [ { "id": "A" }, { "id": "B" } ], "autoWinner": { "metric": "opened", "minSamples": 10 } }""", "steps.a.autoWinner.minSamples", "between 100")]
    [InlineData("""{ "id": "a", "type": "send", "templateId": "t", "next": "x", "variants": [ { "id": "A" }, { "id": "B" } ], "autoWinner": { "metric": "opened", "confidence": 0.5 } }""", "steps.a.autoWinner.confidence", "0.8 and 0.999")]
    [InlineData("""{ "id": "a", "type": "split", "branches": [ { "weight": 1, "next": "x" }, { "weight": 1, "next": "x" } ], "autoWinner": { "metric": "goal" } }""", "steps.a.autoWinner", "unique id")]
    public void Auto_winner_errors_name_the_field(string step, string key, string mentions)
    {
        AssertError(ValidateAutoWinner(step), key, mentions);
    }

    [Fact]
    public void Auto_winner_on_goals_needs_a_goal_event_and_a_split_on_clicks_needs_a_send_after_it()
    {
        var noGoal = ValidateAutoWinner("""
            { "id": "a", "type": "send", "templateId": "t", "next": "x", "variants": [ { "id": "A" }, { "id": "B" } ], "autoWinner": { "metric": "goal" } }
            """, "{}");
        var noSend = _validator.Validate(Journeys.PlannerHarness.Workflow("""
            [ { "id": "a", "type": "split", "branches": [ { "id": "L", "weight": 1, "next": "x" }, { "id": "R", "weight": 1, "next": "x" } ],
                "autoWinner": { "metric": "clicked" } },
              { "id": "x", "type": "delay", "duration": "P1D" } ]
            """), null);

        AssertError(noGoal, "steps.a.autoWinner.metric", "goalEvent");
        AssertError(noSend, "steps.a.autoWinner.metric", "no send step follows");
    }
}
