using Automator.Journeys;
using Automator.UnitTests.Workflows;

namespace Automator.UnitTests.Journeys;

public sealed class JourneyPlannerTests
{
    // Monday 23 November 2026, 10:00 UTC: inside the example's send window.
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Example_not_opened_path_sends_welcome_then_nudge()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());

        h.Enter(Monday10);
        Assert.Equal(["welcome"], h.SentSteps);
        Assert.Equal(JourneyStatus.Waiting, h.State.Status);
        Assert.Equal(Monday10.AddDays(2), h.Last!.WakeAt);

        h.Wake(Monday10.AddDays(2));

        Assert.Equal(["welcome", "nudge"], h.SentSteps);
        Assert.Equal(JourneyStatus.Completed, h.State.Status);
        Assert.Equal(1, h.Counter("completed"));
        Assert.Equal(0, h.Counter("active"));
        Assert.Equal(0, h.Counter("waiting", "wait"));
        Assert.Equal(1, h.Counter("passed", "wait"));
        Assert.Null(h.Last!.WakeAt);
    }

    [Fact]
    public void Example_opened_then_purchased_path_completes_with_a_goal()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);
        h.Event("email.opened", Monday10.AddHours(1), """{ "sendKey": "j1:welcome:1" }""");
        h.Wake(Monday10.AddDays(2));
        Assert.Equal("buy", h.State.StepId);
        Assert.Equal(WaitKind.Event, h.State.Wait);

        h.Event("purchased", Monday10.AddDays(3));

        Assert.Equal(JourneyStatus.Completed, h.State.Status);
        Assert.Equal(["welcome"], h.SentSteps);
        Assert.Equal(1, h.Counter("goals"));
        Assert.Equal(1, h.Counter("goals", "buy"));
        Assert.Equal(1, h.Counter("opened", "welcome"));
    }

    [Fact]
    public void Example_opened_then_timeout_path_takes_a_split_offer()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);
        h.Event("email.opened", Monday10.AddHours(1));
        h.Wake(Monday10.AddDays(2));

        // The wait times out on Saturday: the offer waits for Monday's send window.
        h.Wake(Monday10.AddDays(5));
        Assert.Equal(WaitKind.Window, h.State.Wait);
        h.RunUntil(Monday10.AddDays(8));

        Assert.Equal(JourneyStatus.Completed, h.State.Status);
        var sent = h.SentSteps.ToList();
        Assert.Equal("welcome", sent[0]);
        Assert.Contains(sent[1], new[] { "offerA", "offerB" });
        Assert.Single(h.State.Variants, v => v.StartsWith("offer/", StringComparison.Ordinal));
    }

    [Fact]
    public void Late_wake_catches_up_every_overdue_step_from_due_times()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);
        h.Event("email.opened", Monday10.AddHours(1));

        // Nothing ran for ten days: the delay ended on day 2, the wait for purchase timed out on day 5.
        h.Wake(Monday10.AddDays(10));

        Assert.Equal(JourneyStatus.Completed, h.State.Status);
        Assert.Equal(2, h.SentSteps.Count());
    }

    [Fact]
    public void Repeated_and_early_wakes_change_nothing()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);
        var early = h.Wake(Monday10.AddDays(1));
        Assert.False(early.Changed);
        Assert.Equal(Monday10.AddDays(2), early.WakeAt);

        h.Wake(Monday10.AddDays(2));
        var again = h.Wake(Monday10.AddDays(2).AddSeconds(1));

        Assert.False(again.Changed);
        Assert.Empty(again.Actions);
        Assert.Equal(2, h.SentSteps.Count());
    }

    [Fact]
    public void Send_keys_are_journey_step_entry()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);

        var send = Assert.Single(h.Actions.OfType<JourneyAction.Send>());
        Assert.Equal("j1:welcome:1", send.Request.SendKey);
        Assert.Equal("tpl_1", send.Request.TemplateId);
    }

    [Fact]
    public void Send_outside_the_window_waits_for_monday_morning()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        var saturday = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

        h.Enter(saturday);

        Assert.Empty(h.SentSteps);
        Assert.Equal(WaitKind.Window, h.State.Wait);
        Assert.Equal(new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero), h.Last!.WakeAt);
        Assert.Equal(1, h.Counter("waiting", "welcome"));

        h.Wake(h.Last!.WakeAt!.Value);

        Assert.Equal(["welcome"], h.SentSteps);
        Assert.Equal(0, h.Counter("waiting", "welcome"));
    }

    [Fact]
    public void Send_window_in_new_york_across_the_march_dst_change()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition(), timeZone: "America/New_York");

        // Saturday 7 March 2026 20:00 EST; clocks go forward on Sunday 8 March.
        h.Enter(new DateTimeOffset(2026, 3, 8, 1, 0, 0, TimeSpan.Zero));

        // Monday 9 March 09:00 EDT (UTC-4).
        Assert.Equal(new DateTimeOffset(2026, 3, 9, 13, 0, 0, TimeSpan.Zero), h.Last!.WakeAt);
    }

    [Fact]
    public void Send_window_in_new_york_across_the_november_dst_change()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition(), timeZone: "America/New_York");

        // Saturday 31 October 2026 20:00 EDT; clocks go back on Sunday 1 November.
        h.Enter(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));

        // Monday 2 November 09:00 EST (UTC-5).
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 14, 0, 0, TimeSpan.Zero), h.Last!.WakeAt);
    }

    [Fact]
    public void Send_window_evening_close_in_new_york_is_local()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition(), timeZone: "America/New_York");

        // Monday 23 November 2026 17:30 EST (22:30 UTC): open locally although 22:30 UTC is past 18:00.
        h.Enter(new DateTimeOffset(2026, 11, 23, 22, 30, 0, TimeSpan.Zero));

        Assert.Equal(["welcome"], h.SentSteps);
    }

    [Theory]
    [InlineData("2026-03-07T17:00:00Z", "10:00", "2026-03-08T14:00:00Z")] // Sat noon EST -> Sun 10:00 EDT
    [InlineData("2026-10-31T16:00:00Z", "10:00", "2026-11-01T15:00:00Z")] // Sat noon EDT -> Sun 10:00 EST
    [InlineData("2026-03-08T05:00:00Z", "02:30", "2026-03-08T07:30:00Z")] // 02:30 does not exist: 03:30 EDT
    [InlineData("2026-11-01T04:00:00Z", "01:30", "2026-11-01T05:30:00Z")] // 01:30 happens twice: the first (EDT)
    [InlineData("2026-03-09T15:00:00Z", "10:00", "2026-03-10T14:00:00Z")] // already past today's 10:00 -> tomorrow
    public void WaitUntil_time_of_day_in_new_york_across_dst(string from, string timeOfDay, string expected)
    {
        var definition = PlannerHarness.Workflow($$"""[ { "id": "a", "type": "waitUntil", "timeOfDay": "{{timeOfDay}}", "next": "b" }, { "id": "b", "type": "send", "templateId": "t" } ]""");
        var h = new PlannerHarness(definition, timeZone: "America/New_York");

        h.Enter(DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), h.Last!.WakeAt);
        h.Wake(h.Last!.WakeAt!.Value);
        Assert.Equal(["b"], h.SentSteps);
    }

    [Fact]
    public void WaitUntil_property_with_offset_and_fixed_date()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitUntil", "property": "trial_ends_at", "offset": "-P3D", "next": "b" },
              { "id": "b", "type": "waitUntil", "at": "2026-12-25T12:00:00Z", "next": "c" },
              { "id": "c", "type": "send", "templateId": "t" } ]
            """);
        var h = new PlannerHarness(definition, properties: """{ "trial_ends_at": "2026-12-10T08:00:00Z" }""");

        h.Enter(Monday10);
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero), h.Last!.WakeAt);
        h.Wake(h.Last!.WakeAt!.Value);
        Assert.Equal(new DateTimeOffset(2026, 12, 25, 12, 0, 0, TimeSpan.Zero), h.Last!.WakeAt);
        h.Wake(h.Last!.WakeAt!.Value);

        Assert.Equal(["c"], h.SentSteps);
    }

    [Fact]
    public void WaitUntil_a_past_date_or_missing_property_moves_on()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitUntil", "property": "missing", "next": "b" },
              { "id": "b", "type": "waitUntil", "at": "2020-01-01T00:00:00Z", "next": "c" },
              { "id": "c", "type": "send", "templateId": "t" } ]
            """);
        var h = new PlannerHarness(definition);

        h.Enter(Monday10);

        Assert.Equal(["c"], h.SentSteps);
    }

    [Fact]
    public void Split_is_within_two_points_of_its_weights_over_10000_contacts_and_stable()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "split", "branches": [ { "weight": 20, "next": "x" }, { "weight": 30, "next": "y" }, { "weight": 50, "next": "z" } ] },
              { "id": "x", "type": "exit" }, { "id": "y", "type": "exit" }, { "id": "z", "type": "exit" } ]
            """);
        var counts = new Dictionary<string, int>();
        var contacts = Enumerable.Range(0, 10_000).Select(i => new Guid(i, 7, 7, [1, 2, 3, 4, 5, 6, 7, 8])).ToList();
        foreach (var contact in contacts)
        {
            var h = new PlannerHarness(definition, contact);
            h.Enter(Monday10);
            counts[h.State.StepId!] = counts.GetValueOrDefault(h.State.StepId!) + 1;
        }

        Assert.InRange(counts["x"] / 100.0, 18, 22);
        Assert.InRange(counts["y"] / 100.0, 28, 32);
        Assert.InRange(counts["z"] / 100.0, 48, 52);
        foreach (var contact in contacts.Take(200))
        {
            var first = new PlannerHarness(definition, contact);
            var second = new PlannerHarness(definition, contact);
            first.Enter(Monday10);
            second.Enter(Monday10.AddDays(3));
            Assert.Equal(first.State.StepId, second.State.StepId);
        }
    }

    [Fact]
    public void Send_variants_are_chosen_per_contact_and_counted()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "send", "templateId": "t", "variants": [ { "id": "A", "weight": 1 }, { "id": "B", "weight": 1, "templateId": "t2", "subject": "Hey" } ] } ]
            """);
        var chosen = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var h = new PlannerHarness(definition);
            h.Enter(Monday10);
            var send = h.Actions.OfType<JourneyAction.Send>().Single().Request;
            chosen.Add(send.Variant!);
            Assert.Equal(1, h.Counter("sent", null, $"a/{send.Variant}"));
            if (send.Variant == "B")
            {
                Assert.Equal("t2", send.TemplateId);
                Assert.Equal("Hey", send.Subject);
            }
        }

        Assert.Equal(["A", "B"], chosen.Order());
    }

    [Fact]
    public void Reentry_never_refuses_a_second_entry()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "reentry": "never" }"""));
        h.Enter(Monday10);

        var again = h.Enter(Monday10.AddDays(30));

        Assert.NotNull(again.Rejected);
        Assert.Equal(1, h.State.Entry);
    }

    [Fact]
    public void Reentry_always_allows_entering_again_after_the_end()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "reentry": "always" }"""));
        h.Enter(Monday10);

        h.Enter(Monday10.AddMinutes(1));

        Assert.Equal(2, h.State.Entry);
        Assert.Equal(["j1:a:1", "j1:a:2"], h.Actions.OfType<JourneyAction.Send>().Select(s => s.Request.SendKey));
        Assert.Equal(2, h.Counter("entered"));
    }

    [Fact]
    public void Reentry_always_never_enters_twice_at_once()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "delay", "duration": "P1D" } ]""", """{ "reentry": "always" }"""));
        h.Enter(Monday10);

        Assert.NotNull(h.Enter(Monday10.AddMinutes(1)).Rejected);
    }

    [Fact]
    public void Reentry_after_a_duration_counts_from_the_last_entry()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "reentry": "P7D" }"""));
        h.Enter(Monday10);

        Assert.NotNull(h.Enter(Monday10.AddDays(3)).Rejected);
        Assert.Null(h.Enter(Monday10.AddDays(7)).Rejected);
        Assert.Equal(2, h.State.Entry);
    }

    [Fact]
    public void Frequency_cap_shared_across_workflows_holds_the_send()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "frequencyCap": { "max": 2, "per": "P1D" } }"""));
        // Two sends from another workflow earlier today (the contact grain supplies them).
        h.RecentSends.Add(Monday10.AddHours(-5));
        h.RecentSends.Add(Monday10.AddHours(-2));

        h.Enter(Monday10);

        Assert.Empty(h.SentSteps);
        Assert.Equal(WaitKind.Cap, h.State.Wait);
        Assert.Equal(Monday10.AddHours(19), h.Last!.WakeAt);
        h.Wake(Monday10.AddHours(19));
        Assert.Equal(["a"], h.SentSteps);
    }

    [Fact]
    public void Frequency_cap_counts_sends_of_the_same_journey()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "send", "templateId": "t", "next": "b" }, { "id": "b", "type": "send", "templateId": "t", "next": "c" },
              { "id": "c", "type": "send", "templateId": "t" } ]
            """, """{ "frequencyCap": { "max": 2, "per": "PT1H" } }"""));

        h.Enter(Monday10);

        Assert.Equal(["a", "b"], h.SentSteps);
        Assert.Equal(Monday10.AddHours(1), h.Last!.WakeAt);
    }

    public static TheoryData<string, string> WaitingSteps => new()
    {
        { """[ { "id": "a", "type": "delay", "duration": "P1D" } ]""", "{}" },
        { """[ { "id": "a", "type": "waitUntil", "timeOfDay": "08:00" } ]""", "{}" },
        { """[ { "id": "a", "type": "waitForEvent", "event": "paid", "timeout": "P1D", "onTimeout": "b" }, { "id": "b", "type": "exit" } ]""", "{}" },
        { """[ { "id": "a", "type": "waitForEvent", "event": "paid" } ]""", "{}" },
        { """[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "sendWindow": { "start": "01:00", "end": "02:00" } }""" },
        { """[ { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "frequencyCap": { "max": 1, "per": "P1D" } }""" },
    };

    [Theory]
    [MemberData(nameof(WaitingSteps))]
    public void Exit_event_leaves_at_every_kind_of_waiting_step(string steps, string settings)
    {
        var settingsNode = System.Text.Json.Nodes.JsonNode.Parse(settings)!.AsObject();
        settingsNode["exitEvents"] = new System.Text.Json.Nodes.JsonArray("unsubscribed");
        var h = new PlannerHarness(PlannerHarness.Workflow(steps, settingsNode.ToJsonString()));
        h.RecentSends.Add(Monday10.AddHours(-1));
        h.Enter(Monday10);
        Assert.Equal(JourneyStatus.Waiting, h.State.Status);

        h.Event("unsubscribed", Monday10.AddMinutes(5));

        Assert.Equal(JourneyStatus.Exited, h.State.Status);
        Assert.Equal(1, h.Counter("exited"));
        Assert.Equal(1, h.Counter("exited", "a"));
        Assert.Equal(0, h.Counter("waiting", "a"));
        Assert.Equal(0, h.Counter("active"));
        Assert.Null(h.Last!.WakeAt);
        Assert.Empty(h.SentSteps);
    }

    [Fact]
    public void Exit_event_while_held_by_a_paused_workflow()
    {
        var h2 = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "w", "type": "delay", "duration": "PT1M", "next": "a" }, { "id": "a", "type": "send", "templateId": "t" } ]""", """{ "exitEvents": ["bye"] }""", "w"));
        h2.Enter(Monday10);
        h2.Status = "paused";
        h2.Wake(Monday10.AddMinutes(1));
        Assert.True(h2.Last!.Held);
        Assert.Equal(WaitKind.Paused, h2.State.Wait);

        h2.Event("bye", Monday10.AddMinutes(2));

        Assert.Equal(JourneyStatus.Exited, h2.State.Status);
        Assert.Empty(h2.SentSteps);
    }

    [Fact]
    public void Exit_step_ends_the_journey()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "exit" } ]"""));

        h.Enter(Monday10);

        Assert.Equal(JourneyStatus.Exited, h.State.Status);
        Assert.Equal("exitStep", h.State.EndReason);
    }

    [Fact]
    public void Goal_is_counted_once_per_entry_for_the_step_and_variants()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "s", "type": "split", "branches": [ { "id": "L", "weight": 1, "next": "a" }, { "id": "R", "weight": 1, "next": "a" } ] },
              { "id": "a", "type": "send", "templateId": "t", "variants": [ { "id": "A", "weight": 1 }, { "id": "B", "weight": 1 } ], "next": "w" },
              { "id": "w", "type": "delay", "duration": "P1D" } ]
            """, """{ "goalEvent": "purchased" }""", "s"));
        h.Enter(Monday10);

        h.Event("purchased", Monday10.AddHours(1));
        h.Event("purchased", Monday10.AddHours(2));

        Assert.Equal(1, h.Counter("goals"));
        Assert.Equal(1, h.Counter("goals", "w"));
        Assert.Equal(1, h.Counters.Where(c => c.Key.StartsWith("goals||s/", StringComparison.Ordinal)).Sum(c => c.Value));
        Assert.Equal(1, h.Counters.Where(c => c.Key.StartsWith("goals||a/", StringComparison.Ordinal)).Sum(c => c.Value));
        Assert.Equal(JourneyStatus.Waiting, h.State.Status);
    }

    [Fact]
    public void WaitForEvent_ignores_non_matching_filter_and_moves_on_a_match()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitForEvent", "event": "paid", "filter": { "plan": "pro" }, "timeout": "P1D", "onTimeout": "late", "next": "thanks" },
              { "id": "thanks", "type": "send", "templateId": "t1" }, { "id": "late", "type": "send", "templateId": "t2" } ]
            """));
        h.Enter(Monday10);

        h.Event("paid", Monday10.AddHours(1), """{ "plan": "free" }""");
        Assert.Equal(WaitKind.Event, h.State.Wait);
        h.Event("other", Monday10.AddHours(1));
        Assert.Equal(WaitKind.Event, h.State.Wait);
        h.Event("paid", Monday10.AddHours(2), """{ "plan": "pro" }""");

        Assert.Equal(["thanks"], h.SentSteps);
    }

    [Fact]
    public void WaitForEvent_condition_filter_on_event_properties()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitForEvent", "event": "paid", "filter": [ { "property": "amount", "op": "gte", "value": 100 } ], "next": "big" },
              { "id": "big", "type": "send", "templateId": "t1" } ]
            """));
        h.Enter(Monday10);

        h.Event("paid", Monday10.AddHours(1), """{ "amount": 20 }""");
        Assert.Empty(h.SentSteps);
        h.Event("paid", Monday10.AddHours(1), """{ "amount": 150 }""");
        Assert.Equal(["big"], h.SentSteps);
    }

    [Fact]
    public void WaitForEvent_times_out_to_its_timeout_branch()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitForEvent", "event": "paid", "timeout": "PT5S", "onTimeout": "late", "next": "thanks" },
              { "id": "thanks", "type": "send", "templateId": "t1" }, { "id": "late", "type": "send", "templateId": "t2" } ]
            """));
        h.Enter(Monday10);

        h.Wake(Monday10.AddSeconds(5));
        h.Event("paid", Monday10.AddSeconds(6));

        Assert.Equal(["late"], h.SentSteps);
    }

    [Fact]
    public void An_event_after_the_timeout_but_before_the_wake_takes_the_timeout_branch()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitForEvent", "event": "paid", "timeout": "PT5S", "onTimeout": "late", "next": "thanks" },
              { "id": "thanks", "type": "send", "templateId": "t1" }, { "id": "late", "type": "send", "templateId": "t2" } ]
            """));
        h.Enter(Monday10);

        h.Event("paid", Monday10.AddSeconds(9));

        Assert.Equal(["late"], h.SentSteps);
    }

    [Fact]
    public void Branch_on_contact_properties()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "b", "type": "branch", "conditions": [ { "when": { "property": "plan", "op": "eq", "value": "pro" }, "next": "pro" },
                                                           { "when": { "all": [ { "property": "age", "op": "gte", "value": 18 }, { "not": { "property": "country", "op": "in", "value": ["XX"] } } ] }, "next": "adult" } ], "else": "other" },
              { "id": "pro", "type": "send", "templateId": "t" }, { "id": "adult", "type": "send", "templateId": "t" }, { "id": "other", "type": "send", "templateId": "t" } ]
            """, start: "b");

        string Route(string properties)
        {
            var h = new PlannerHarness(definition, properties: properties);
            h.Enter(Monday10);
            return h.SentSteps.Single();
        }

        Assert.Equal("pro", Route("""{ "plan": "pro" }"""));
        Assert.Equal("adult", Route("""{ "plan": "free", "age": 30, "country": "FR" }"""));
        Assert.Equal("other", Route("""{ "age": 30, "country": "XX" }"""));
        Assert.Equal("other", Route("{}"));
    }

    [Fact]
    public void Branch_on_trigger_event_properties_and_events_seen()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "w", "type": "delay", "duration": "PT1M", "next": "b" },
              { "id": "b", "type": "branch", "conditions": [ { "when": { "eventProperty": "amount", "op": "gt", "value": 100 }, "next": "big" },
                                                           { "when": { "event": "browsed" }, "next": "browser" } ], "else": "other" },
              { "id": "big", "type": "send", "templateId": "t" }, { "id": "browser", "type": "send", "templateId": "t" }, { "id": "other", "type": "send", "templateId": "t" } ]
            """, start: "w");

        var big = new PlannerHarness(definition);
        big.Enter(Monday10, """{ "amount": 250 }""");
        big.Wake(Monday10.AddMinutes(1));
        var browser = new PlannerHarness(definition);
        browser.Enter(Monday10, """{ "amount": 5 }""");
        browser.Event("browsed", Monday10.AddSeconds(30));
        browser.Wake(Monday10.AddMinutes(1));

        Assert.Equal(["big"], big.SentSteps);
        Assert.Equal(["browser"], browser.SentSteps);
    }

    [Fact]
    public void Branch_on_engagement_with_an_earlier_send()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "send", "templateId": "t", "next": "w" }, { "id": "w", "type": "delay", "duration": "P1D", "next": "b" },
              { "id": "b", "type": "branch", "conditions": [ { "when": { "clicked": "a" }, "next": "clicker" }, { "when": { "delivered": "a" }, "next": "delivered" } ], "else": "none" },
              { "id": "clicker", "type": "send", "templateId": "t" }, { "id": "delivered", "type": "send", "templateId": "t" }, { "id": "none", "type": "send", "templateId": "t" } ]
            """);

        string Route(params string[] engagements)
        {
            var h = new PlannerHarness(definition);
            h.Enter(Monday10);
            foreach (var e in engagements)
            {
                h.Event(e, Monday10.AddHours(1), """{ "stepId": "a" }""");
            }

            h.Wake(Monday10.AddDays(1));
            return h.SentSteps.Last();
        }

        Assert.Equal("clicker", Route("email.delivered", "email.clicked"));
        Assert.Equal("delivered", Route("email.delivered"));
        Assert.Equal("none", Route());
    }

    [Fact]
    public void Engagement_is_counted_once_per_send()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t", "next": "w" }, { "id": "w", "type": "delay", "duration": "P1D" } ]"""));
        h.Enter(Monday10);

        h.Event("email.opened", Monday10.AddMinutes(1));
        h.Event("email.opened", Monday10.AddMinutes(2));
        h.Event("email.clicked", Monday10.AddMinutes(3), """{ "sendKey": "j1:a:1" }""");

        Assert.Equal(1, h.Counter("opened", "a"));
        Assert.Equal(1, h.Counter("clicked", "a"));
        Assert.Equal(1, h.Counter("sent", "a"));
    }

    [Fact]
    public void UpdateContact_emits_the_update_and_later_branches_see_it()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "u", "type": "updateContact", "set": { "stage": "warm" }, "next": "b" },
              { "id": "b", "type": "branch", "conditions": [ { "when": { "property": "stage", "op": "eq", "value": "warm" }, "next": "warm" } ], "else": "cold" },
              { "id": "warm", "type": "webhook", "url": "https://example.com/h", "body": { "x": 1 } }, { "id": "cold", "type": "exit" } ]
            """, start: "u"), properties: """{ "stage": "cold" }""");

        h.Enter(Monday10);

        var update = Assert.Single(h.Actions.OfType<JourneyAction.UpdateContact>());
        Assert.Contains("warm", update.SetJson, StringComparison.Ordinal);
        var webhook = Assert.Single(h.Actions.OfType<JourneyAction.Webhook>());
        Assert.Equal("POST", webhook.Method);
        Assert.Equal(JourneyStatus.Completed, h.State.Status);
    }

    [Fact]
    public void Delay_counts_from_its_due_time_not_the_late_wake()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""
            [ { "id": "a", "type": "delay", "duration": "PT10S", "next": "b" }, { "id": "b", "type": "delay", "duration": "PT10S", "next": "c" },
              { "id": "c", "type": "send", "templateId": "t" } ]
            """));
        h.Enter(Monday10);

        h.Wake(Monday10.AddSeconds(13));

        Assert.Equal(Monday10.AddSeconds(20), h.Last!.WakeAt);
    }

    [Fact]
    public void Paused_workflow_holds_before_the_send_and_resume_sends()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "w", "type": "delay", "duration": "PT1M", "next": "a" }, { "id": "a", "type": "send", "templateId": "t" } ]""", start: "w"));
        h.Enter(Monday10);
        h.Status = "paused";

        var held = h.Wake(Monday10.AddMinutes(1));
        Assert.True(held.Held);
        Assert.Empty(h.SentSteps);
        Assert.Equal(1, h.Counter("waiting", "a"));

        h.Status = "active";
        h.Apply(new JourneyStimulus.Resume(), Monday10.AddMinutes(30));

        Assert.Equal(["a"], h.SentSteps);
        Assert.Equal(JourneyStatus.Completed, h.State.Status);
    }

    [Fact]
    public void Paused_or_archived_workflow_refuses_entries()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition()) { Status = "paused" };

        Assert.NotNull(h.Enter(Monday10).Rejected);
        h.Status = "archived";
        Assert.NotNull(h.Enter(Monday10).Rejected);
        Assert.Equal(0, h.State.Entry);
    }

    [Fact]
    public void Archived_workflow_ends_a_waiting_journey_on_its_next_wake()
    {
        var h = new PlannerHarness(ExampleWorkflow.Definition());
        h.Enter(Monday10);
        h.Status = "archived";

        h.Wake(Monday10.AddHours(1));

        Assert.Equal(JourneyStatus.Exited, h.State.Status);
        Assert.Equal("archived", h.State.EndReason);
        Assert.Equal(0, h.Counter("active"));
    }

    [Fact]
    public void Scheduled_entry_starts_at_its_time()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t" } ]"""));

        h.Enter(Monday10, at: Monday10.AddDays(4));
        Assert.Equal(JourneyStatus.Scheduled, h.State.Status);
        Assert.Equal(Monday10.AddDays(4), h.Last!.WakeAt);
        Assert.Empty(h.SentSteps);

        h.Wake(Monday10.AddDays(4));

        Assert.Equal(["a"], h.SentSteps);
        Assert.Equal(1, h.Counter("entered"));
    }

    [Fact]
    public void History_is_bounded()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "delay", "duration": "PT1S", "next": "a" } ]"""));
        h.Enter(Monday10);

        h.Wake(Monday10.AddMinutes(10));

        Assert.Equal(JourneyPlanner.HistoryLimit, h.State.History.Count);
        Assert.Equal(JourneyStatus.Waiting, h.State.Status);
    }
}

public sealed class SendOutcomeTests
{
    [Fact]
    public void A_failed_send_is_counted_once_and_visible_to_branches()
    {
        var h = new PlannerHarness(PlannerHarness.Workflow("""[ { "id": "a", "type": "send", "templateId": "t", "next": "w" }, { "id": "w", "type": "delay", "duration": "P1D" } ]"""));
        h.Enter(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        var planner = new JourneyPlanner();

        var first = planner.RecordSendOutcome(h.State, "j1:a:1", "failed", DateTimeOffset.UnixEpoch);
        var again = planner.RecordSendOutcome(h.State, "j1:a:1", "failed", DateTimeOffset.UnixEpoch);
        var unknown = planner.RecordSendOutcome(h.State, "j1:zz:1", "failed", DateTimeOffset.UnixEpoch);

        Assert.Equal([new CounterDelta("failed", "a", null, 1)], first.Counters);
        Assert.Empty(again.Counters);
        Assert.False(unknown.Changed);
        Assert.Contains("failed", h.State.Sends["a"].Engagements);
    }
}
