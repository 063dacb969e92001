using System.Text.Json.Nodes;
using Automator.Infrastructure.Storage;
using Automator.Journeys;
using Automator.Workflows;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Automator.UnitTests.Deployment;

/// <summary>
/// State and messages written by an earlier version, checked in under Fixtures/, must stay readable by this one: a rolling
/// upgrade runs old and new silos side by side on the same rows and exchanges messages between them (see
/// docs/operations.md, "Upgrade"). A fixture is never regenerated to make a test pass; a new format gets a new fixture.
/// </summary>
public sealed class StoredStateCompatibilityTests
{
    private static readonly Guid Organization = Guid.Parse("0b9f6a52-6f3e-4c1e-9a57-1f2a3b4c5d6e");
    private static readonly Guid Workflow = Guid.Parse("5a1c2e3f-4b5d-4e6f-8a7b-9c0d1e2f3a4b");
    private static readonly Guid Contact = Guid.Parse("c0ffee00-1234-4abc-8def-0123456789ab");
    private static readonly DateTimeOffset Entered = new(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Deployment", "Fixtures", name);

    [Fact]
    public void A_journey_state_row_written_by_the_previous_version_reads_back_field_by_field()
    {
        // The payload column of journey_grain_state, as BatchedGrainStorage stores it.
        var state = new JsonGrainStateSerializer().Deserialize<JourneyState>(new BinaryData(File.ReadAllBytes(Fixture("journey-state.v1.json"))));

        Assert.Equal((Organization, Workflow, Contact), (state.OrganizationId, state.WorkflowId, state.ContactId));
        Assert.Equal((3, 2, JourneyStatus.Waiting, "wait-2d", WaitKind.Delay), (state.Version, state.Entry, state.Status, state.StepId, state.Wait));
        Assert.Equal(Entered.AddDays(2), state.DueAt);
        Assert.Equal(Entered, state.EnteredAt);
        Assert.Null(state.EndedAt);
        Assert.Equal(["enter", "send", "wait"], state.History.Select(h => h.Kind));
        Assert.Equal("welcome", state.History[1].StepId);
        Assert.Equal(3, state.History[2].Version);
        var send = Assert.Single(state.Sends);
        Assert.Equal(("welcome", "journey-key:welcome:2", "B"), (send.Key, send.Value.SendKey, send.Value.Variant));
        Assert.Equal(["delivered", "opened"], send.Value.Engagements);
        Assert.Equal(["signed_up"], state.EventsSeen);
        Assert.Equal("""{"plan":"pro"}""", state.TriggerEventJson);
        var pending = Assert.Single(state.PendingSends);
        Assert.Equal(("nudge", "tpl-nudge", "ada@example.com", true), (pending.StepId, pending.TemplateId, pending.Email, pending.Transactional));
        Assert.Equal(["welcome/B", "split-1/a"], state.Variants);
        Assert.Equal(Entered.AddMinutes(5), state.PendingSendsRetryAt);
        var webhook = Assert.Single(state.PendingWebhooks);
        Assert.Equal(("https://hooks.example.com/crm", "PUT", 2), (webhook.Url, webhook.Method, webhook.Attempts));
        Assert.Equal(Entered.AddMinutes(5), state.WakeAt);
    }

    [Fact]
    public void A_field_written_by_a_newer_version_is_ignored_so_a_rolled_back_silo_still_reads_the_row()
    {
        var json = JsonNode.Parse(File.ReadAllText(Fixture("journey-state.v1.json")))!.AsObject();
        json["fieldOfTheNextVersion"] = new JsonObject { ["nested"] = 1 };

        var state = new JsonGrainStateSerializer().Deserialize<JourneyState>(new BinaryData(json.ToJsonString()));

        Assert.Equal((Contact, JourneyStatus.Waiting, "wait-2d"), (state.ContactId, state.Status, state.StepId));
    }

    [Fact]
    public void A_field_this_version_added_reads_as_its_default_from_a_row_written_before_it_existed()
    {
        var json = JsonNode.Parse(File.ReadAllText(Fixture("journey-state.v1.json")))!.AsObject();
        json.Remove("pendingWebhooks");
        json.Remove("pendingSendsRetryAt");

        var state = new JsonGrainStateSerializer().Deserialize<JourneyState>(new BinaryData(json.ToJsonString()));

        Assert.Empty(state.PendingWebhooks);
        Assert.Null(state.PendingSendsRetryAt);
        Assert.Equal(Entered.AddDays(2), state.WakeAt);
    }

    [Fact]
    public void A_workflow_state_row_written_by_the_previous_version_reads_back_field_by_field()
    {
        var state = new JsonGrainStateSerializer().Deserialize<WorkflowState>(new BinaryData(File.ReadAllBytes(Fixture("workflow-state.v1.json"))));

        Assert.True(state.Exists);
        Assert.Equal(("Welcome series", WorkflowStatuses.Active, 2), (state.Name, state.Status, state.ActiveVersion));
        Assert.Equal([1, 2], state.Versions.Keys.Order());
        Assert.Contains("\"trigger\"", state.Versions[2], StringComparison.Ordinal);
        Assert.Equal(Entered, state.CreatedAt);
        Assert.Equal([Contact], state.Held);
    }

    [Fact]
    public void Messages_serialized_by_the_previous_version_deserialize_with_this_versions_codecs()
    {
        // JourneyEntry and ContactSnapshot travel from contact grains to journey grains, often between silos of different
        // versions during a rolling upgrade. The file holds each as base64 of Orleans' binary format, one per line.
        using var services = new ServiceCollection()
            .AddSerializer(b => b.AddAssembly(typeof(JourneyEntry).Assembly))
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var lines = File.ReadAllLines(Fixture("journey-messages.v1.b64")).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();

        var entry = serializer.Deserialize<JourneyEntry>(Convert.FromBase64String(lines[0]))!;
        var contact = serializer.Deserialize<ContactSnapshot>(Convert.FromBase64String(lines[1]))!;

        Assert.Equal((3, """{"plan":"pro"}""", Entered, "event"), (entry.Version, entry.EventJson, entry.At, entry.Source));
        Assert.Equal(("ada@example.com", "Europe/Paris", "Ada", "Lovelace", "active"), (contact.Email, contact.TimeZone, contact.FirstName, contact.LastName, contact.Status));
        Assert.Equal([Entered.AddDays(-1)], contact.RecentSends);
        Assert.Equal("""{"plan":"pro"}""", contact.PropertiesJson);
    }
}
