using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.Contacts;
using Automator.IntegrationTests.Infrastructure;
using Npgsql;

namespace Automator.IntegrationTests.Journeys;

/// <summary><c>POST /v1/events/batch</c> on real PostgreSQL: idempotency keys, many contacts, bad rows.</summary>
public sealed class EventBatchTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private static async Task<JsonObject> PostBatchAsync(HttpClient client, JsonArray events)
    {
        var response = await client.PostAsync("/v1/events/batch", Json(new JsonObject { ["events"] = events }.ToJsonString()));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private async Task<long> ScalarAsync(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> ActivateAsync(HttpClient client, string workflow)
    {
        var created = await client.PostAsync("/v1/workflows", Json(workflow));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (string)(await created.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        return id;
    }

    private Task<long> EventsOfAsync(Guid organizationId, string name) =>
        ScalarAsync("SELECT count(*) FROM events WHERE organization_id = $1 AND name = $2", organizationId, name);

    [Fact]
    public async Task A_key_repeated_within_a_batch_or_across_batches_is_accepted_and_recorded_once()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "ev-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var email = $"keys-{Guid.NewGuid():N}@example.test";
        JsonObject Event(string key) => new() { ["email"] = email, ["name"] = "clicked", ["idempotencyKey"] = key };

        var first = await PostBatchAsync(client, [Event("k1"), Event("k1"), Event("k2"), new JsonObject { ["email"] = email, ["name"] = "clicked" }]);
        Assert.Equal(4, (int)first["accepted"]!);
        Assert.Empty(first["rejected"]!.AsArray());
        Assert.Equal(3, await EventsOfAsync(tenant.OrganizationId, "clicked"));

        var second = await PostBatchAsync(client, [Event("k2"), Event("k3"), Event("k3")]);
        Assert.Equal(3, (int)second["accepted"]!);
        Assert.Equal(4, await EventsOfAsync(tenant.OrganizationId, "clicked"));
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM events WHERE organization_id = $1 AND idempotency_key = 'k2'", tenant.OrganizationId));

        // Another organization's keys are its own.
        var other = await TestTenant.CreateAsync(app);
        using var otherClient = other.Client(app);
        await PostBatchAsync(otherClient, [Event("k1")]);
        Assert.Equal(1, await EventsOfAsync(other.OrganizationId, "clicked"));
    }

    [Fact]
    public async Task A_key_seen_more_than_24_hours_ago_counts_as_new()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "ev-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var body = new JsonObject { ["email"] = $"old-{Guid.NewGuid():N}@example.test", ["name"] = "renewed", ["idempotencyKey"] = "renewal-2026" };

        await PostBatchAsync(client, [body.DeepClone()]);
        await PostBatchAsync(client, [body.DeepClone()]);
        Assert.Equal(1, await EventsOfAsync(tenant.OrganizationId, "renewed"));

        await ScalarAsync("WITH aged AS (UPDATE event_idempotency_keys SET created_at = now() - interval '25 hours' WHERE organization_id = $1 RETURNING 1) SELECT count(*) FROM aged", tenant.OrganizationId);
        await PostBatchAsync(client, [body.DeepClone()]);
        Assert.Equal(2, await EventsOfAsync(tenant.OrganizationId, "renewed"));
    }

    [Fact]
    public async Task A_batch_touching_many_contacts_starts_each_ones_journey()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "ev-" + Guid.NewGuid().ToString("N")[..6], JourneyApiTests.LogSends);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var templates = await JourneyApiTests.CreateTemplatesAsync(database.ConnectionString, tenant.OrganizationId, 1);
        var workflow = $$"""
            { "name": "Onboarding", "trigger": { "type": "event", "event": "signed_up" }, "settings": { "reentry": "never" }, "start": "hi",
              "steps": [ { "id": "hi", "type": "send", "templateId": "{{templates[0]}}", "next": "wait" }, { "id": "wait", "type": "delay", "duration": "P1D" } ] }
            """;
        var id = await ActivateAsync(client, workflow);

        const int Contacts = 60;
        var events = new JsonArray();
        for (var i = 0; i < Contacts; i++)
        {
            events.Add(new JsonObject { ["email"] = $"many-{i}-{tenant.OrganizationId:N}@example.test", ["name"] = "signed_up", ["properties"] = new JsonObject { ["n"] = i } });
        }

        // The same contact twice in one batch: its events arrive in order, and "never" re-entry keeps it to one journey.
        events.Add(new JsonObject { ["email"] = $"many-0-{tenant.OrganizationId:N}@example.test", ["name"] = "signed_up" });
        events.Add(new JsonObject { ["email"] = $"many-1-{tenant.OrganizationId:N}@example.test", ["name"] = "page_viewed" });

        var result = await PostBatchAsync(client, events);
        Assert.Equal(Contacts + 2, (int)result["accepted"]!);

        var stats = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["entered"]! >= Contacts, TimeSpan.FromSeconds(30), "every contact to enter");
        Assert.Equal(Contacts, (long)stats!["entered"]!);
        var waiting = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["steps"]!["wait"]!["waiting"]! == Contacts, TimeSpan.FromSeconds(30), "every journey to wait");
        Assert.Equal(Contacts, (long)waiting!["steps"]!["hi"]!["sent"]!);
    }

    [Fact]
    public async Task Only_contacts_an_event_can_matter_to_reach_their_grains()
    {
        var shopper = Guid.NewGuid();
        var bystander = Guid.NewGuid();
        var newcomer = $"newcomer-{Guid.NewGuid():N}@example.test";
        await using var app = new AutomatorApp(database.ConnectionString, "ev-" + Guid.NewGuid().ToString("N")[..6], JourneyApiTests.LogSends);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var templates = await JourneyApiTests.CreateTemplatesAsync(database.ConnectionString, tenant.OrganizationId, 1);
        var workflow = $$"""
            { "name": "Checkout", "trigger": { "type": "event", "event": "signed_up" }, "start": "buy",
              "steps": [ { "id": "buy", "type": "waitForEvent", "event": "purchased", "timeout": "P3D", "next": "thanks", "onTimeout": null },
                         { "id": "thanks", "type": "send", "templateId": "{{templates[0]}}", "next": null } ] }
            """;
        var id = await ActivateAsync(client, workflow);

        // Contacts whose grains have never been activated: rows written directly, as an import would.
        await ScalarAsync(
            "WITH c AS (INSERT INTO contacts (id, organization_id, email) VALUES ($1, $3, $4), ($2, $3, $5) RETURNING 1) SELECT count(*) FROM c",
            shopper, bystander, tenant.OrganizationId, $"shopper-{shopper:N}@example.test", $"bystander-{bystander:N}@example.test");
        var management = app.Grains.GetGrain<IManagementGrain>(0);
        IContactGrain Grain(Guid contactId) => app.Grains.GetGrain<IContactGrain>(ContactKey.Of(tenant.OrganizationId, contactId));
        async Task<bool> IsActiveAsync(Guid contactId)
        {
            var grainId = Grain(contactId).GetGrainId();
            return (await management.GetActiveGrains(grainId.Type)).Contains(grainId);
        }

        var first = await PostBatchAsync(client,
        [
            new JsonObject { ["contactId"] = shopper.ToString(), ["name"] = "signed_up" },
            new JsonObject { ["contactId"] = bystander.ToString(), ["name"] = "page_viewed" },
            new JsonObject { ["email"] = newcomer, ["name"] = "page_viewed" },
        ]);
        Assert.Equal(3, (int)first["accepted"]!);
        Assert.Equal(2, await EventsOfAsync(tenant.OrganizationId, "page_viewed"));

        // The bystander's event is recorded but wakes no grain; the newcomer's grain takes its profile from the event.
        Assert.False(await IsActiveAsync(bystander));
        var newcomerId = (await ScalarGuidAsync("SELECT id FROM contacts WHERE organization_id = $1 AND email = $2", tenant.OrganizationId, newcomer))!.Value;
        Assert.True(await IsActiveAsync(newcomerId));
        Assert.Equal(newcomer, (await Grain(newcomerId).GetProfileAsync())?.Email);
        await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["steps"]!["buy"]!["waiting"]! == 1, TimeSpan.FromSeconds(30), "the shopper to wait for a purchase");
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM journey_grain_state WHERE has_active_journeys AND grain_id = $1", Grain(shopper).GetGrainId().ToString()));

        // "purchased" starts nothing, yet the shopper is in a journey that waits for it: the event must reach it, even
        // with the shopper's grain deactivated in between.
        await management.DeactivateGrain(Grain(shopper).GetGrainId());
        await Eventually.WaitAsync(() => IsActiveAsync(shopper), active => !active, TimeSpan.FromSeconds(10), "the shopper's grain to deactivate");
        await PostBatchAsync(client,
        [
            new JsonObject { ["contactId"] = shopper.ToString(), ["name"] = "purchased" },
            new JsonObject { ["contactId"] = bystander.ToString(), ["name"] = "purchased" },
        ]);
        var done = await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{id}/stats"), s => (long)s!["completed"]! == 1, TimeSpan.FromSeconds(30), "the shopper's journey to complete");
        Assert.Equal(1, (long)done!["steps"]!["thanks"]!["sent"]!);
        Assert.False(await IsActiveAsync(bystander));
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM journey_grain_state WHERE has_active_journeys AND grain_id = $1", Grain(shopper).GetGrainId().ToString()));
    }

    private async Task<Guid?> ScalarGuidAsync(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return await command.ExecuteScalarAsync() as Guid?;
    }

    [Fact]
    public async Task Bad_rows_are_kept_out_while_good_rows_go_in()
    {
        await using var app = new AutomatorApp(database.ConnectionString, "ev-" + Guid.NewGuid().ToString("N")[..6]);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var good = $"good-{Guid.NewGuid():N}@example.test";
        var strangerContact = Guid.NewGuid();

        var result = await PostBatchAsync(client,
        [
            new JsonObject { ["email"] = good, ["name"] = "ordered", ["idempotencyKey"] = "o-1" },
            new JsonObject { ["email"] = "not-an-email", ["name"] = "ordered" },
            new JsonObject { ["contactId"] = strangerContact.ToString(), ["name"] = "ordered" },
            new JsonObject { ["email"] = $"nameless-{Guid.NewGuid():N}@example.test" },
            new JsonObject { ["email"] = good, ["name"] = "ordered", ["properties"] = new JsonArray(1, 2) },
            new JsonObject { ["email"] = good, ["name"] = "ordered", ["idempotencyKey"] = "o-2", ["timestamp"] = "2026-11-01T10:00:00Z" },
        ]);

        Assert.Equal(2, (int)result["accepted"]!);
        var rejected = result["rejected"]!.AsArray();
        Assert.Equal([1, 2, 3, 4], rejected.Select(r => (int)r!["index"]!));
        Assert.True(rejected[0]!["errors"]!.AsObject().ContainsKey("email"));
        Assert.True(rejected[1]!["errors"]!.AsObject().ContainsKey("contactId"));
        Assert.True(rejected[2]!["errors"]!.AsObject().ContainsKey("name"));
        Assert.True(rejected[3]!["errors"]!.AsObject().ContainsKey("properties"));

        Assert.Equal(2, await EventsOfAsync(tenant.OrganizationId, "ordered"));
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM events WHERE organization_id = $1 AND occurred_at = '2026-11-01T10:00:00Z'", tenant.OrganizationId));
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = $1 AND email LIKE 'nameless-%'", tenant.OrganizationId));
        Assert.Equal(0, await ScalarAsync("SELECT count(*) FROM events WHERE contact_id = $1", strangerContact));
    }
}
