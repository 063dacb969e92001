using System.Text.Json.Nodes;
using Automator.Contacts;
using Automator.GrainTests.Infrastructure;
using Automator.Journeys;
using Automator.Testing;
using Automator.Workflows;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.GrainTests.Journeys;

[Collection(ClusterCollection.Name)]
public sealed class JourneyGrainTests(ClusterFixture fixture)
{
    private const string Example = ApiExamples.WelcomeWorkflow;

    private readonly Guid _organizationId = Guid.NewGuid();

    private async Task<Guid> CreateActiveWorkflowAsync(string json)
    {
        var id = Guid.NewGuid();
        var definition = WorkflowJson.ParseValid(json);
        var grain = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, id));
        Assert.Null((await grain.CreateAsync(WorkflowJson.Serialize(definition), definition.Trigger!.Type!, definition.Name)).Error);
        Assert.Null((await grain.ActivateAsync(null)).Error);
        return id;
    }

    private IContactGrain Contact(Guid contactId) => fixture.Grains.GetGrain<IContactGrain>(ContactKey.Of(_organizationId, contactId));

    private IJourneyGrain Journey(Guid workflowId, Guid contactId) => fixture.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, workflowId, contactId));

    private async Task<Guid> SignUpAsync(string name = "signed_up", string properties = "{}")
    {
        var contactId = Guid.NewGuid();
        await Contact(contactId).UpdateProfileAsync(new ContactProfile { Email = $"{contactId:N}@example.test" });
        await Contact(contactId).TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = name, PropertiesJson = properties, OccurredAt = fixture.Time.GetUtcNow() });
        return contactId;
    }

    private async Task TrackAsync(Guid contactId, string name, string properties = "{}") =>
        await Contact(contactId).TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = name, PropertiesJson = properties, OccurredAt = fixture.Time.GetUtcNow() });

    private async Task AdvanceAndWakeAsync(TimeSpan by, params IJourneyGrain[] journeys)
    {
        fixture.Time.Advance(by);
        foreach (var journey in journeys)
        {
            await journey.WakeAsync();
        }
    }

    private List<string> SentSteps(Guid contactId) => fixture.Sends.For(contactId).Select(s => s.StepId!).ToList();

    [Fact]
    public async Task Example_contact_who_does_not_open_gets_the_nudge()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);

        var contactId = await SignUpAsync();
        var journey = Journey(workflowId, contactId);
        var waiting = await journey.GetAsync();
        Assert.Equal("waiting", waiting!.Status);
        Assert.Equal("wait", waiting.StepId);
        Assert.Equal(["welcome"], SentSteps(contactId));
        Assert.Equal($"{JourneyKey.PublicId(workflowId, contactId)}:welcome:1", fixture.Sends.For(contactId)[0].SendKey);

        await AdvanceAndWakeAsync(TimeSpan.FromDays(2), journey);

        var done = await journey.GetAsync();
        Assert.Equal("completed", done!.Status);
        Assert.Equal(["nudge", "welcome"], SentSteps(contactId).Order().ToList());
        Assert.Empty(await Contact(contactId).GetActiveJourneysAsync());
        await fixture.FlushCountersAsync();
        var stats = await fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId)).GetStatsAsync();
        Assert.Equal(1, stats.Entered);
        Assert.Equal(1, stats.Completed);
        Assert.Equal(0, stats.Active);
        Assert.Equal(1, stats.Steps["nudge"]["sent"]);
        Assert.Equal(0, stats.Steps["wait"]["waiting"]);
    }

    [Fact]
    public async Task Example_contact_who_opens_and_buys_completes_with_a_goal()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();
        var journey = Journey(workflowId, contactId);

        fixture.Time.Advance(TimeSpan.FromHours(1));
        await TrackAsync(contactId, "email.opened", $$"""{ "sendKey": "{{JourneyKey.PublicId(workflowId, contactId)}}:welcome:1" }""");
        await AdvanceAndWakeAsync(TimeSpan.FromDays(2), journey);
        var waiting = await journey.GetAsync();
        Assert.Equal("buy", waiting!.StepId);
        Assert.Equal("event", waiting.WaitingFor);

        await TrackAsync(contactId, "purchased");

        var done = await journey.GetAsync();
        Assert.Equal("completed", done!.Status);
        Assert.True(done.GoalReached);
        Assert.Equal(["welcome"], SentSteps(contactId));
        await fixture.FlushCountersAsync();
        var stats = await fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId)).GetStatsAsync();
        Assert.Equal(1, stats.Goals);
        Assert.Equal(1, stats.Steps["welcome"]["opened"]);
        Assert.Equal(1, stats.Steps["buy"]["goals"]);
    }

    [Fact]
    public async Task Example_contact_who_opens_but_does_not_buy_gets_an_offer_on_monday()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();
        var journey = Journey(workflowId, contactId);
        await TrackAsync(contactId, "email.opened");
        await AdvanceAndWakeAsync(TimeSpan.FromDays(2), journey);

        // The wait times out on Saturday; the offer is held for Monday 09:00.
        await AdvanceAndWakeAsync(TimeSpan.FromDays(3), journey);
        var held = await journey.GetAsync();
        Assert.Equal("window", held!.WaitingFor);
        Assert.Equal(DayOfWeek.Monday, held.DueAt!.Value.DayOfWeek);
        await AdvanceAndWakeAsync(held.DueAt.Value - fixture.Time.GetUtcNow(), journey);

        var done = await journey.GetAsync();
        Assert.Equal("completed", done!.Status);
        var sent = SentSteps(contactId);
        Assert.Equal(2, sent.Count);
        Assert.Contains(sent, s => s is "offerA" or "offerB");
    }

    [Fact]
    public async Task Exit_event_ends_a_waiting_journey()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();

        await TrackAsync(contactId, "unsubscribed");

        var journey = await Journey(workflowId, contactId).GetAsync();
        Assert.Equal("exited", journey!.Status);
        Assert.Empty(await Contact(contactId).GetActiveJourneysAsync());
    }

    [Fact]
    public async Task Repeated_and_late_wakes_send_each_step_once()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();
        var journey = Journey(workflowId, contactId);

        await AdvanceAndWakeAsync(TimeSpan.FromDays(3), journey, journey, journey);

        Assert.Equal(2, fixture.Sends.For(contactId).Count);
        // Each step made one send of entry 1. A new activation may re-issue a pending send under the same key (its
        // acknowledgement is not written on its own); delivery drops it as a duplicate, so it is never a second send.
        Assert.All(fixture.Sends.For(contactId), s => Assert.EndsWith(":1", s.SendKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reentry_never_keeps_a_contact_out_after_it_finished()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();
        await TrackAsync(contactId, "unsubscribed");

        await TrackAsync(contactId, "signed_up");

        var journey = await Journey(workflowId, contactId).GetAsync();
        Assert.Equal(1, journey!.Entry);
        Assert.Equal("exited", journey.Status);
    }

    [Fact]
    public async Task Pause_holds_journeys_before_their_next_send_and_resume_continues_them()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var workflow = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId));
        var contactId = await SignUpAsync();
        var journey = Journey(workflowId, contactId);

        Assert.Null((await workflow.PauseAsync()).Error);
        var refused = await SignUpAsync();
        Assert.Null(await Journey(workflowId, refused).GetAsync());
        await AdvanceAndWakeAsync(TimeSpan.FromDays(2), journey);
        var held = await journey.GetAsync();
        Assert.Equal("paused", held!.WaitingFor);
        Assert.Equal("nudge", held.StepId);
        Assert.Equal(["welcome"], SentSteps(contactId));

        Assert.Null((await workflow.ResumeAsync()).Error);

        var done = await journey.GetAsync();
        Assert.Equal("completed", done!.Status);
        Assert.Equal(["nudge", "welcome"], SentSteps(contactId).Order().ToList());
    }

    [Fact]
    public async Task Archive_ends_active_journeys()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync(Example);
        var contactId = await SignUpAsync();

        await fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId)).ArchiveAsync();

        var journey = await Journey(workflowId, contactId).GetAsync();
        Assert.Equal("exited", journey!.Status);
        Assert.Equal("archived", journey.EndReason);
    }

    [Fact]
    public async Task Publishing_v2_while_v1_journeys_wait_finishes_them_on_v1_and_starts_new_ones_on_v2()
    {
        fixture.MoveToNextMonday10();
        var templateV1 = Guid.NewGuid();
        var templateV2 = Guid.NewGuid();
        string Definition(Guid template) => $$"""
            { "name": "Versions", "trigger": { "type": "event", "event": "joined" }, "start": "wait",
              "steps": [ { "id": "wait", "type": "delay", "duration": "P1D", "next": "mail" }, { "id": "mail", "type": "send", "templateId": "{{template}}" } ] }
            """;
        var workflowId = await CreateActiveWorkflowAsync(Definition(templateV1));
        var workflow = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId));
        var early = await SignUpAsync("joined");

        Assert.Null((await workflow.UpdateDraftAsync(WorkflowJson.Serialize(WorkflowJson.ParseValid(Definition(templateV2))), "event", "Versions")).Error);
        var published = await workflow.PublishAsync(null);
        Assert.Equal(2, published.Workflow!.Version);
        Assert.Equal(2, published.Workflow.ActiveVersion);
        var late = await SignUpAsync("joined");
        Assert.Equal(1, (await Journey(workflowId, early).GetAsync())!.Version);
        Assert.Equal(2, (await Journey(workflowId, late).GetAsync())!.Version);

        await AdvanceAndWakeAsync(TimeSpan.FromDays(1), Journey(workflowId, early), Journey(workflowId, late));

        Assert.Equal(templateV1, fixture.Sends.For(early).Single().TemplateId);
        Assert.Equal(templateV2, fixture.Sends.For(late).Single().TemplateId);
    }

    [Fact]
    public async Task Frequency_cap_is_shared_by_two_workflows()
    {
        fixture.MoveToNextMonday10();
        const string Capped = """
            { "name": "Capped", "trigger": { "type": "event", "event": "promo" }, "settings": { "frequencyCap": { "max": 1, "per": "P1D" } }, "start": "a",
              "steps": [ { "id": "a", "type": "send", "templateId": "t" } ] }
            """;
        var first = await CreateActiveWorkflowAsync(Capped);
        var second = await CreateActiveWorkflowAsync(Capped);

        var contactId = await SignUpAsync("promo");

        var views = new[] { await Journey(first, contactId).GetAsync(), await Journey(second, contactId).GetAsync() };
        Assert.Single(fixture.Sends.For(contactId));
        Assert.Single(views, v => v!.WaitingFor == "cap");
        var held = views.Single(v => v!.WaitingFor == "cap")!;
        await AdvanceAndWakeAsync(TimeSpan.FromDays(1), Journey(held.WorkflowId, contactId));
        Assert.Equal(2, fixture.Sends.For(contactId).Count);
    }

    [Fact]
    public async Task Wait_for_event_inside_an_event_triggered_journey_and_update_contact()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync("""
            { "name": "Cart", "trigger": { "type": "event", "event": "cart" }, "start": "w",
              "steps": [ { "id": "w", "type": "waitForEvent", "event": "cart", "filter": [ { "property": "stage", "op": "eq", "value": "checkout" } ], "timeout": "PT1H", "onTimeout": "remind", "next": "tag" },
                         { "id": "tag", "type": "updateContact", "set": { "checkedOut": true }, "next": null },
                         { "id": "remind", "type": "send", "templateId": "t" } ] }
            """);
        var contactId = await SignUpAsync("cart", """{ "stage": "browse" }""");
        var journey = Journey(workflowId, contactId);
        Assert.Equal("event", (await journey.GetAsync())!.WaitingFor);

        await TrackAsync(contactId, "cart", """{ "stage": "checkout" }""");

        Assert.Equal("completed", (await journey.GetAsync())!.Status);
        var profile = await Contact(contactId).GetProfileAsync();
        Assert.True(JsonNode.Parse(profile!.PropertiesJson)!["checkedOut"]!.GetValue<bool>());
        Assert.Empty(fixture.Sends.For(contactId));
    }

    [Fact]
    public async Task Optimal_time_wait_sends_at_the_hour_the_contact_opens()
    {
        fixture.MoveToNextMonday10();
        var contactId = Guid.NewGuid();
        var opens = fixture.SiloServices.GetRequiredService<InMemoryOpenHistory>();
        var monday = fixture.Time.GetUtcNow();
        for (var day = 1; day <= 3; day++)
        {
            opens.AddOpen(_organizationId, contactId, monday.AddDays(-day).AddHours(5).AddMinutes(10 * day));
        }

        var workflowId = await CreateActiveWorkflowAsync("""
            { "name": "Best hour", "trigger": { "type": "event", "event": "signed_up" }, "start": "best",
              "steps": [ { "id": "best", "type": "waitUntil", "optimalTime": true, "within": "P1D", "next": "mail" },
                         { "id": "mail", "type": "send", "templateId": "t" } ] }
            """);
        await Contact(contactId).UpdateProfileAsync(new ContactProfile { Email = $"{contactId:N}@example.test" });
        await TrackAsync(contactId, "signed_up");
        var journey = Journey(workflowId, contactId);

        var waiting = await journey.GetAsync();
        Assert.Equal("waiting", waiting!.Status);
        Assert.Equal(monday.AddHours(5), waiting.DueAt);
        Assert.Empty(SentSteps(contactId));

        await AdvanceAndWakeAsync(TimeSpan.FromHours(5), journey);

        Assert.Equal(["mail"], SentSteps(contactId));
    }

    [Fact]
    public async Task An_auto_winner_is_declared_from_real_journeys_and_later_contacts_all_get_it()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync("""
            { "name": "Subject test", "trigger": { "type": "event", "event": "signed_up" }, "start": "mail",
              "steps": [ { "id": "mail", "type": "send", "templateId": "t", "next": "wait",
                           "variants": [ { "id": "A", "weight": 1 }, { "id": "B", "weight": 1, "subject": "Better" } ],
                           "autoWinner": { "metric": "clicked", "minSamples": 100, "confidence": 0.95 } },
                         { "id": "wait", "type": "delay", "duration": "P3D" } ] }
            """);
        var workflow = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, workflowId));

        // B is clicked by every second contact sent it, A by every tenth: the counts are exact, not sampled. Contacts
        // sign up until each variant has the 100 samples the test needs.
        var sentTo = new Dictionary<string, int> { ["A"] = 0, ["B"] = 0 };
        while (sentTo.Values.Min() < 100)
        {
            var contacts = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => SignUpAsync()));
            var clicks = new List<Task>();
            foreach (var contactId in contacts)
            {
                var send = Assert.Single(fixture.Sends.For(contactId));
                var n = ++sentTo[send.Variant!];
                if (n % (send.Variant == "B" ? 2 : 10) == 0)
                {
                    clicks.Add(TrackAsync(contactId, "email.clicked", $$"""{ "sendKey": "{{send.SendKey}}" }"""));
                }
            }

            await Task.WhenAll(clicks);
        }

        await fixture.FlushCountersAsync();
        var stats = await workflow.GetStatsAsync();
        var test = stats.AutoWinners["mail"];
        Assert.Equal("decided", test.Status);
        Assert.Equal("B", test.Winner);
        Assert.Equal("A", test.RunnerUp);
        Assert.Equal(1, test.Version);
        Assert.True(test.Statistic >= test.Threshold);
        Assert.Equal(sentTo["B"], test.Tallies.Single(t => t.Variant == "B").Samples);
        Assert.Equal(sentTo["B"] / 2, test.Tallies.Single(t => t.Variant == "B").Successes);
        Assert.Equal(sentTo["A"] / 10, test.Tallies.Single(t => t.Variant == "A").Successes);
        Assert.Equal(new Dictionary<string, string> { ["mail"] = "B" }, await workflow.GetWinnersAsync());

        // Each silo reads winners again after its refresh interval; from then on every contact gets B.
        fixture.Time.Advance(TimeSpan.FromSeconds(11));
        var later = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => SignUpAsync()));
        Assert.All(later, contactId => Assert.Equal("B", Assert.Single(fixture.Sends.For(contactId)).Variant));

        // The decision is kept: more evidence for A does not reopen it.
        Assert.Equal("B", (await workflow.GetStatsAsync()).AutoWinners["mail"].Winner);
    }
}
