using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Npgsql;

namespace Automator.IntegrationTests.Journeys;

/// <summary>The workflow, journey and event routes over HTTP, on real PostgreSQL.</summary>
public sealed class JourneyApiTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    internal static readonly Dictionary<string, string?> LogSends = new() { ["Automator:Journeys:SendStep"] = "log" };

    internal static async Task<List<Guid>> CreateTemplatesAsync(string connectionString, Guid organizationId, int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.NewGuid()).ToList();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var id in ids)
        {
            await using var command = new NpgsqlCommand("INSERT INTO email_templates (id, organization_id, name, subject, html) VALUES ($1, $2, 'T', 'Hi', '<p>Hi</p>')", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = id });
            command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
            await command.ExecuteNonQueryAsync();
        }

        return ids;
    }

    private static string Example(IReadOnlyList<Guid> templates) => $$"""
        {
          "name": "Welcome series",
          "trigger": { "type": "event", "event": "signed_up" },
          "settings": { "reentry": "never", "exitEvents": ["unsubscribed"], "goalEvent": "purchased", "frequencyCap": { "max": 3, "per": "P1D" }, "timeZone": "UTC" },
          "start": "welcome",
          "steps": [
            { "id": "welcome", "type": "send", "templateId": "{{templates[0]}}", "next": "wait" },
            { "id": "wait", "type": "delay", "duration": "P2D", "next": "opened?" },
            { "id": "opened?", "type": "branch", "conditions": [ { "when": { "opened": "welcome" }, "next": "buy" } ], "else": "nudge" },
            { "id": "nudge", "type": "send", "templateId": "{{templates[1]}}", "next": null },
            { "id": "buy", "type": "waitForEvent", "event": "purchased", "timeout": "P3D", "next": null, "onTimeout": "offer" },
            { "id": "offer", "type": "split", "branches": [ { "weight": 50, "next": "offerA" }, { "weight": 50, "next": "offerB" } ] },
            { "id": "offerA", "type": "send", "templateId": "{{templates[2]}}", "next": null },
            { "id": "offerB", "type": "send", "templateId": "{{templates[3]}}", "next": null }
          ]
        }
        """;

    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    [Fact]
    public async Task Workflow_lifecycle_event_entry_stats_and_journey_over_http()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6], LogSends);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var templates = await CreateTemplatesAsync(database.ConnectionString, tenant.OrganizationId, 4);

        var created = await client.PostAsync("/v1/workflows", Json(Example(templates)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var workflow = (await created.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("draft", (string?)workflow["status"]);
        var id = (string)workflow["id"]!;

        var activated = await client.PostAsync($"/v1/workflows/{id}/activate", null);
        Assert.Equal(HttpStatusCode.OK, activated.StatusCode);
        var active = (await activated.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("active", (string?)active["status"]);
        Assert.Equal(1, (int)active["version"]!);

        var email = $"new-{Guid.NewGuid():N}@example.test";
        var tracked = await client.PostAsync("/v1/events", Json($$"""{ "email": "{{email}}", "name": "signed_up", "properties": { "plan": "pro" } }"""));
        Assert.Equal(HttpStatusCode.Accepted, tracked.StatusCode);
        var contactId = (await tracked.Content.ReadFromJsonAsync<JsonObject>())!["contactId"]!.GetValue<Guid>();
        var journeyId = $"{Guid.Parse(id):N}-{contactId:N}";

        var journey = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["stepId"] == "wait", TimeSpan.FromSeconds(10), "the journey to wait");
        Assert.Equal("waiting", (string?)journey!["status"]);
        Assert.Contains(journey["history"]!.AsArray(), h => (string?)h!["kind"] == "send");

        var stats = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["entered"]! == 1, TimeSpan.FromSeconds(10), "stats");
        Assert.Equal(1, (long)stats!["active"]!);
        Assert.Equal(1, (long)stats["steps"]!["welcome"]!["sent"]!);
        Assert.Equal(1, (long)stats["steps"]!["wait"]!["waiting"]!);

        var journeys = await client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/journeys?stepId=wait&status=waiting");
        Assert.Single(journeys!["items"]!.AsArray());
        Assert.Null(journeys["nextCursor"]);

        var list = await client.GetFromJsonAsync<JsonObject>("/v1/workflows?limit=10");
        Assert.Contains(list!["items"]!.AsArray(), w => (string?)w!["id"] == id);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/v1/workflows/{id}/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/resume", null)).StatusCode);
        var enrolled = await client.PostAsync($"/v1/workflows/{id}/enroll", Json($$"""{ "emails": ["{{email}}"] }"""));
        Assert.Equal(HttpStatusCode.Accepted, enrolled.StatusCode);
        Assert.Equal(0, (int)(await enrolled.Content.ReadFromJsonAsync<JsonObject>())!["enrolled"]!);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/archive", null)).StatusCode);
        var ended = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["status"] == "exited", TimeSpan.FromSeconds(10), "archive to end the journey");
        Assert.Equal("archived", (string?)ended!["endReason"]);
    }

    [Fact]
    public async Task Invalid_workflow_is_a_400_naming_the_steps()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var templates = await CreateTemplatesAsync(database.ConnectionString, tenant.OrganizationId, 4);
        var broken = JsonNode.Parse(Example(templates))!.AsObject();
        broken["steps"]![1]!["duration"] = "two days";
        broken["steps"]![3]!["templateId"] = Guid.NewGuid().ToString();
        broken["steps"]![5]!["branches"]![0]!["next"] = "nowhere";

        var response = await client.PostAsync("/v1/workflows", Json(broken.ToJsonString()));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var errors = (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        Assert.Contains("steps.wait.duration", errors.Select(e => e.Key));
        Assert.Contains("steps.nudge.templateId", errors.Select(e => e.Key));
        Assert.Contains("steps.offer.branches[0].next", errors.Select(e => e.Key));
    }

    [Fact]
    public async Task Another_organizations_workflow_and_journey_are_404()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6]);
        var owner = await TestTenant.CreateAsync(app);
        var stranger = await TestTenant.CreateAsync(app);
        using var ownerClient = owner.Client(app);
        using var strangerClient = stranger.Client(app);
        var templates = await CreateTemplatesAsync(database.ConnectionString, owner.OrganizationId, 4);
        var id = (string)(await (await ownerClient.PostAsync("/v1/workflows", Json(Example(templates)))).Content.ReadFromJsonAsync<JsonObject>())!["id"]!;

        Assert.Equal(HttpStatusCode.NotFound, (await strangerClient.GetAsync($"/v1/workflows/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await strangerClient.GetAsync($"/v1/workflows/{id}/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await strangerClient.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await strangerClient.GetAsync($"/v1/journeys/{Guid.Parse(id):N}-{Guid.NewGuid():N}")).StatusCode);
        Assert.DoesNotContain((await strangerClient.GetFromJsonAsync<JsonObject>("/v1/workflows"))!["items"]!.AsArray(), w => (string?)w!["id"] == id);
    }

    [Fact]
    public async Task Bad_events_are_400_naming_the_field_and_a_batch_keeps_its_good_rows()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var big = new string('x', 70 * 1024);

        async Task<JsonObject> ErrorsOfAsync(string body)
        {
            var response = await client.PostAsync("/v1/events", Json(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!["errors"]!.AsObject();
        }

        Assert.True((await ErrorsOfAsync("""{ "email": "a@example.test" }""")).ContainsKey("name"));
        Assert.True((await ErrorsOfAsync("""{ "email": "a@example.test", "name": "x", "timestamp": "yesterday" }""")).ContainsKey("timestamp"));
        Assert.True((await ErrorsOfAsync($$"""{ "email": "a@example.test", "name": "x", "properties": { "blob": "{{big}}" } }""")).ContainsKey("properties"));

        var email = $"batch-{Guid.NewGuid():N}@example.test";
        var batch = await client.PostAsync("/v1/events/batch", Json($$"""
            { "events": [ { "email": "{{email}}", "name": "ok1" }, { "email": "{{email}}" }, { "email": "{{email}}", "name": "ok2", "timestamp": "2026-01-01T00:00:00Z" },
                          { "email": "{{email}}", "name": "x", "timestamp": "not a time" } ] }
            """));
        Assert.Equal(HttpStatusCode.Accepted, batch.StatusCode);
        var result = (await batch.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, (int)result["accepted"]!);
        var rejected = result["rejected"]!.AsArray();
        Assert.Equal([1, 3], rejected.Select(r => (int)r!["index"]!));
        Assert.True(rejected[0]!["errors"]!.AsObject().ContainsKey("name"));
        Assert.True(rejected[1]!["errors"]!.AsObject().ContainsKey("timestamp"));

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id WHERE c.organization_id = $1 AND lower(c.email) = $2", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenant.OrganizationId });
        count.Parameters.Add(new NpgsqlParameter { Value = email });
        Assert.Equal(2L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Repeated_idempotency_key_is_accepted_and_ignored()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var email = $"idem-{Guid.NewGuid():N}@example.test";
        var body = $$"""{ "email": "{{email}}", "name": "clicked_buy", "idempotencyKey": "k-{{Guid.NewGuid():N}}" }""";

        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/v1/events", Json(body))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync("/v1/events", Json(body))).StatusCode);

        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM events e JOIN contacts c ON c.id = e.contact_id WHERE c.organization_id = $1 AND lower(c.email) = $2", connection);
        count.Parameters.Add(new NpgsqlParameter { Value = tenant.OrganizationId });
        count.Parameters.Add(new NpgsqlParameter { Value = email });
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Signed_inbound_webhook_enrolls_the_contact_and_a_bad_signature_records_nothing()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "api-" + Guid.NewGuid().ToString("N")[..6], LogSends);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var templates = await CreateTemplatesAsync(database.ConnectionString, tenant.OrganizationId, 1);
        const string Secret = "a-very-secret-webhook-key";
        var workflow = $$"""
            { "name": "Hooked", "trigger": { "type": "webhook", "secret": "{{Secret}}" }, "start": "hi",
              "steps": [ { "id": "hi", "type": "send", "templateId": "{{templates[0]}}", "next": "wait" }, { "id": "wait", "type": "delay", "duration": "P1D" } ] }
            """;
        var id = (string)(await (await client.PostAsync("/v1/workflows", Json(workflow))).Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        using var anonymous = app.CreateClient();
        var url = $"/hooks/workflows/{tenant.OrganizationId}/{id}";
        var body = $$"""{ "email": "hook-{{Guid.NewGuid():N}}@example.test", "properties": { "source": "crm" } }""";

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var forged = new HttpRequestMessage(HttpMethod.Post, url) { Content = Json(body) };
        forged.Headers.Add("X-Automator-Timestamp", now.ToString(System.Globalization.CultureInfo.InvariantCulture));
        forged.Headers.Add("X-Automator-Signature", Automator.WebApi.Workflows.WorkflowWebhookEndpoints.Sign("wrong-secret-wrong-secret", now, body));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(forged)).StatusCode);

        var signed = new HttpRequestMessage(HttpMethod.Post, url) { Content = Json(body) };
        signed.Headers.Add("X-Automator-Timestamp", now.ToString(System.Globalization.CultureInfo.InvariantCulture));
        signed.Headers.Add("X-Automator-Signature", Automator.WebApi.Workflows.WorkflowWebhookEndpoints.Sign(Secret, now, body));
        Assert.Equal(HttpStatusCode.Accepted, (await anonymous.SendAsync(signed)).StatusCode);

        var stats = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["entered"]! >= 1, TimeSpan.FromSeconds(10), "the webhook entry");
        Assert.Equal(1, (long)stats!["entered"]!);
    }
}
