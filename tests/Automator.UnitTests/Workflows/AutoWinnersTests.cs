using System.Text.Json.Nodes;
using Automator.Journeys;
using Automator.UnitTests.Journeys;
using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

public sealed class AutoWinnersTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static WorkflowDefinition SendTest(string metric = "clicked", int minSamples = 100, double confidence = 0.95) => PlannerHarness.Workflow($$"""
        [ { "id": "a", "type": "send", "templateId": "t", "next": "w",
            "variants": [ { "id": "A", "weight": 1 }, { "id": "B", "weight": 1, "subject": "Other" } ],
            "autoWinner": { "metric": "{{metric}}", "minSamples": {{minSamples}}, "confidence": {{confidence}} } },
          { "id": "w", "type": "delay", "duration": "P1D", "next": "b" },
          { "id": "b", "type": "send", "templateId": "t" } ]
        """, """{ "goalEvent": "bought" }""");

    private static WorkflowDefinition SplitTest(string metric) => PlannerHarness.Workflow($$"""
        [ { "id": "s", "type": "split", "autoWinner": { "metric": "{{metric}}", "minSamples": 100 },
            "branches": [ { "id": "L", "weight": 1, "next": "x" }, { "id": "R", "weight": 1, "next": "y" } ] },
          { "id": "x", "type": "send", "templateId": "t", "next": "x2" },
          { "id": "x2", "type": "delay", "duration": "P1D", "next": "x3" },
          { "id": "x3", "type": "send", "templateId": "t", "next": "x4" },
          { "id": "x4", "type": "delay", "duration": "P3D" },
          { "id": "y", "type": "send", "templateId": "t" } ]
        """, """{ "goalEvent": "bought" }""", start: "s");

    private static Dictionary<string, long> Counters(params (string Name, string Variant, long Value)[] values) =>
        values.ToDictionary(v => CounterBuffer.Key(v.Name, null, v.Variant), v => v.Value, StringComparer.Ordinal);

    [Fact]
    public void Clicks_are_judged_per_contact_sent_and_a_clear_difference_decides()
    {
        var step = SendTest().Find("a")!;
        var counters = Counters(("sent", "a/A", 600), ("clicked", "a/A", 30), ("sent", "a/B", 600), ("clicked", "a/B", 60), ("entered", "a/A", 9999));

        var test = AutoWinners.Evaluate(step, counters, 3, Now);

        Assert.Equal(AutoWinners.Decided, test.Status);
        Assert.Equal("B", test.Winner);
        Assert.Equal("A", test.RunnerUp);
        Assert.Equal(3, test.Version);
        Assert.Equal(Now, test.DecidedAt);
        Assert.Equal(20, test.Threshold, 6);
        Assert.True(test.Statistic >= test.Threshold);
        Assert.Equal([("A", 600L, 30L), ("B", 600L, 60L)], test.Tallies.Select(t => (t.Variant, t.Samples, t.Successes)));
        Assert.Equal(0.1, test.Tallies[1].Rate, 6);
    }

    [Fact]
    public void Below_min_samples_the_test_keeps_running_and_reports_its_figures()
    {
        var step = SendTest(minSamples: 1000).Find("a")!;
        var counters = Counters(("sent", "a/A", 600), ("clicked", "a/A", 30), ("sent", "a/B", 600), ("clicked", "a/B", 60));

        var test = AutoWinners.Evaluate(step, counters, 1, Now);

        Assert.Equal(AutoWinners.Testing, test.Status);
        Assert.Null(test.Winner);
        Assert.Null(test.DecidedAt);
        Assert.Equal(1000, test.MinSamples);
        Assert.NotNull(test.Statistic);
        Assert.Equal(SequentialWinnerTest.LikelihoodRatio(new VariantTally("B", 600, 60), new VariantTally("A", 600, 30)), test.Statistic!.Value, 9);
    }

    [Fact]
    public void A_small_difference_does_not_decide_however_large_min_samples_is_met()
    {
        var counters = Counters(("sent", "a/A", 400), ("opened", "a/A", 100), ("sent", "a/B", 400), ("opened", "a/B", 104));

        var test = AutoWinners.Evaluate(SendTest("opened").Find("a")!, counters, 1, Now);

        Assert.Equal(AutoWinners.Testing, test.Status);
        Assert.True(test.Statistic < test.Threshold);
    }

    [Fact]
    public void Goals_are_judged_per_contact_entered()
    {
        var counters = Counters(("entered", "a/A", 500), ("goals", "a/A", 100), ("entered", "a/B", 500), ("goals", "a/B", 40), ("sent", "a/A", 1), ("sent", "a/B", 1));

        var test = AutoWinners.Evaluate(SendTest("goal").Find("a")!, counters, 1, Now);

        Assert.Equal("A", test.Winner);
        Assert.Equal([500L, 500L], test.Tallies.Select(t => t.Samples));
    }

    [Fact]
    public void Split_branches_are_judged_per_contact_entered()
    {
        var counters = Counters(("entered", "s/L", 500), ("opened", "s/L", 250), ("entered", "s/R", 500), ("opened", "s/R", 150));

        var test = AutoWinners.Evaluate(SplitTest("opened").Find("s")!, counters, 1, Now);

        Assert.Equal("L", test.Winner);
    }

    [Fact]
    public void A_decided_step_is_not_decided_again()
    {
        var definition = SendTest();
        var counters = Counters(("sent", "a/A", 600), ("clicked", "a/A", 30), ("sent", "a/B", 600), ("clicked", "a/B", 60));
        Assert.Single(AutoWinners.NewlyDecided(definition, new Dictionary<string, WinnerTest>(), counters, 1, Now));

        var decided = new Dictionary<string, WinnerTest> { ["a"] = new() { StepId = "a", Status = AutoWinners.Decided, Winner = "A" } };

        Assert.Empty(AutoWinners.NewlyDecided(definition, decided, counters, 1, Now));
    }

    [Fact]
    public void Simulated_population_where_B_clicks_twice_as_often_crowns_B_and_later_contacts_all_get_B()
    {
        var definition = SendTest(minSamples: 100);
        var counters = new Dictionary<string, long>(StringComparer.Ordinal);
        var winners = new Dictionary<string, string>(StringComparer.Ordinal);
        var random = new Random(20261206);
        int? decidedAfter = null;
        var afterDecision = new List<string>();
        for (var contact = 0; contact < 6000; contact++)
        {
            var h = new PlannerHarness(definition) { Winners = winners };
            h.Enter(Now);
            var variant = h.Actions.OfType<JourneyAction.Send>().Single().Request.Variant!;
            if (decidedAfter is not null)
            {
                afterDecision.Add(variant);
            }

            if (random.NextDouble() < (variant == "B" ? 0.10 : 0.05))
            {
                h.Event("email.clicked", Now.AddHours(1));
            }

            foreach (var (key, value) in h.Counters)
            {
                counters[key] = counters.GetValueOrDefault(key) + value;
            }

            if (decidedAfter is null && AutoWinners.NewlyDecided(definition, new Dictionary<string, WinnerTest>(), counters, 1, Now) is [var decision])
            {
                Assert.Equal("B", decision.Winner);
                winners["a"] = decision.Winner!;
                decidedAfter = contact + 1;
            }
        }

        // docs/journeys.md: 5% against 10% is decided within 3,000 sends per variant.
        Assert.NotNull(decidedAfter);
        Assert.True(decidedAfter <= 6000);
        Assert.NotEmpty(afterDecision);
        Assert.All(afterDecision, v => Assert.Equal("B", v));
    }

    [Fact]
    public void The_planner_routes_to_a_declared_winner_and_ignores_an_unknown_one()
    {
        var h = new PlannerHarness(SendTest()) { Winners = new() { ["a"] = "A" } };
        h.Enter(Now);
        Assert.Equal("A", h.Actions.OfType<JourneyAction.Send>().Single().Request.Variant);

        var contacts = Enumerable.Range(0, 40).Select(_ => new PlannerHarness(SendTest()) { Winners = new() { ["a"] = "gone" } }).ToList();
        contacts.ForEach(c => c.Enter(Now));
        var variants = contacts.Select(c => c.Actions.OfType<JourneyAction.Send>().Single().Request.Variant).Distinct().ToList();
        Assert.Equal(2, variants.Count);
    }

    [Fact]
    public void A_split_winner_takes_every_contact_down_its_branch()
    {
        var contacts = Enumerable.Range(0, 20).Select(_ => new PlannerHarness(SplitTest("goal")) { Winners = new() { ["s"] = "R" } }).ToList();
        contacts.ForEach(c => c.Enter(Now));

        Assert.All(contacts, c => Assert.Equal(["y"], c.SentSteps));
        Assert.All(contacts, c => Assert.Equal(1, c.Counter("entered", null, "s/R")));
    }

    [Fact]
    public void Engagement_after_a_split_counts_once_per_entry_on_its_branch()
    {
        var h = Enumerable.Range(0, 100).Select(_ => new PlannerHarness(SplitTest("opened"))).First(c => { c.Enter(Now); return c.SentSteps.Contains("x"); });
        h.Event("email.opened", Now.AddHours(1));
        h.Wake(Now.AddDays(1));
        Assert.Equal(["x", "x3"], h.SentSteps);
        h.Event("email.opened", Now.AddDays(1).AddHours(1), """{ "stepId": "x3" }""");
        h.Event("email.clicked", Now.AddDays(1).AddHours(2), """{ "stepId": "x3" }""");

        Assert.Equal(1, h.Counter("opened", null, "s/L"));
        Assert.Equal(1, h.Counter("clicked", null, "s/L"));
        Assert.Equal(2, h.Counter("opened", "x") + h.Counter("opened", "x3"));
    }

    [Fact]
    public void Engagement_already_counted_from_the_send_log_still_counts_for_the_split()
    {
        var h = Enumerable.Range(0, 100).Select(_ => new PlannerHarness(SplitTest("clicked"))).First(c => { c.Enter(Now); return c.SentSteps.Contains("x"); });
        h.Event("email.clicked", Now.AddHours(1), """{ "stepId": "x", "countedOnStep": true }""");

        Assert.Equal(1, h.Counter("clicked", null, "s/L"));
        Assert.Equal(1, h.Counter("opened", null, "s/L"));
        Assert.Equal(0, h.Counter("clicked", "x"));
    }
}
