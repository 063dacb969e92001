using Automator.Contacts;
using Automator.GrainTests.Infrastructure;
using Automator.Journeys;
using Automator.Workflows;

namespace Automator.GrainTests.Journeys;

[Collection(ClusterCollection.Name)]
public sealed class TriggerGrainTests(ClusterFixture fixture)
{
    private readonly Guid _organizationId = Guid.NewGuid();

    private async Task<Guid> CreateActiveWorkflowAsync(string trigger)
    {
        var id = Guid.NewGuid();
        var json = $$"""{ "name": "Triggered", "trigger": {{trigger}}, "start": "hi", "steps": [ { "id": "hi", "type": "send", "templateId": "t", "next": "wait" }, { "id": "wait", "type": "delay", "duration": "P30D" } ] }""";
        var definition = WorkflowJson.ParseValid(json);
        Assert.True(new WorkflowValidator().Validate(definition).IsEmpty);
        var grain = fixture.Grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(_organizationId, id));
        await grain.CreateAsync(WorkflowJson.Serialize(definition), definition.Trigger!.Type!, definition.Name);
        await grain.ActivateAsync(null);
        return id;
    }

    private IContactGrain Contact(Guid contactId) => fixture.Grains.GetGrain<IContactGrain>(ContactKey.Of(_organizationId, contactId));

    private Task<JourneyView?> JourneyAsync(Guid workflowId, Guid contactId) =>
        fixture.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, workflowId, contactId)).GetAsync();

    [Fact]
    public async Task Date_property_trigger_schedules_the_entry_relative_to_the_date()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync("""{ "type": "dateProperty", "property": "trial_ends_at", "offset": "-P3D" }""");
        var contactId = Guid.NewGuid();
        var trialEnds = fixture.Time.GetUtcNow().AddDays(5);

        await Contact(contactId).UpdateProfileAsync(new ContactProfile { Email = "d@example.test", PropertiesJson = $$"""{ "trial_ends_at": "{{trialEnds:O}}" }""" });

        var scheduled = await JourneyAsync(workflowId, contactId);
        Assert.Equal("scheduled", scheduled!.Status);
        Assert.Equal(trialEnds.AddDays(-3), scheduled.DueAt);
        fixture.Time.Advance(TimeSpan.FromDays(2));
        await fixture.Grains.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, workflowId, contactId)).WakeAsync();
        var entered = await JourneyAsync(workflowId, contactId);
        Assert.Equal("waiting", entered!.Status);
        Assert.Single(fixture.Sends.For(contactId));
    }

    [Fact]
    public async Task Segment_entry_and_list_join_triggers_enter_the_contact()
    {
        fixture.MoveToNextMonday10();
        var segmentId = Guid.NewGuid();
        var listId = Guid.NewGuid();
        var bySegment = await CreateActiveWorkflowAsync($$"""{ "type": "segmentEntry", "segmentId": "{{segmentId}}" }""");
        var byList = await CreateActiveWorkflowAsync($$"""{ "type": "listJoin", "listId": "{{listId}}" }""");
        var contactId = Guid.NewGuid();
        await Contact(contactId).UpdateProfileAsync(new ContactProfile { Email = "s@example.test" });

        await Contact(contactId).OnSegmentChangedAsync(Guid.NewGuid(), entered: true);
        await Contact(contactId).OnSegmentChangedAsync(segmentId, entered: false);
        Assert.Null(await JourneyAsync(bySegment, contactId));
        await Contact(contactId).OnSegmentChangedAsync(segmentId, entered: true);
        await Contact(contactId).OnListJoinedAsync(listId);

        Assert.Equal("waiting", (await JourneyAsync(bySegment, contactId))!.Status);
        Assert.Equal("waiting", (await JourneyAsync(byList, contactId))!.Status);
        Assert.Equal(2, (await Contact(contactId).GetActiveJourneysAsync()).Count);
    }

    [Fact]
    public async Task Manual_enrollment_enters_once_and_erasure_ends_the_journey()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync("""{ "type": "manual" }""");
        var contactId = Guid.NewGuid();
        await Contact(contactId).UpdateProfileAsync(new ContactProfile { Email = "m@example.test" });

        Assert.Null((await Contact(contactId).EnrollAsync(workflowId, "manual")).Rejected);
        Assert.NotNull((await Contact(contactId).EnrollAsync(workflowId, "manual")).Rejected);
        await Contact(contactId).EraseAsync();

        var journey = await JourneyAsync(workflowId, contactId);
        Assert.Equal("exited", journey!.Status);
        Assert.Equal("erased", journey.EndReason);
        Assert.Empty(await Contact(contactId).GetActiveJourneysAsync());
    }

    [Fact]
    public async Task Event_trigger_filter_on_event_properties()
    {
        fixture.MoveToNextMonday10();
        var workflowId = await CreateActiveWorkflowAsync("""{ "type": "event", "event": "order", "filter": [ { "property": "total", "op": "gte", "value": 100 } ] }""");
        var small = Guid.NewGuid();
        var big = Guid.NewGuid();

        await Contact(small).TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = "order", PropertiesJson = """{ "total": 20 }""", Email = "s@example.test" });
        await Contact(big).TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = "order", PropertiesJson = """{ "total": 250 }""", Email = "b@example.test" });

        Assert.Null(await JourneyAsync(workflowId, small));
        Assert.Equal("waiting", (await JourneyAsync(workflowId, big))!.Status);
    }
}
