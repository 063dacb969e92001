using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.Contacts;

namespace Automator.IntegrationTests.Api;

[Collection(ApiCollection.Name)]
public sealed class ContactsApiTests(ApiFixture fixture)
{
    private static string NewEmail() => $"c-{Guid.NewGuid():N}@example.test";

    [Fact]
    public async Task Upsert_creates_then_updates_by_email_and_ignores_server_owned_fields()
    {
        var tenant = await fixture.CreateTenantAsync();
        var other = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var email = NewEmail();

        var created = await client.PostAsJsonAsync("/v1/contacts", new
        {
            email, firstName = "Ada", timeZone = "Europe/Paris", properties = new { plan = "free", seats = 3 },
            id = Guid.NewGuid(), organizationId = other.OrganizationId, status = "unsubscribed", engagementScore = 99,
        });
        var first = await HttpAssert.JsonAsync(created, HttpStatusCode.Created);
        var updated = await client.PostAsJsonAsync("/v1/contacts", new { email = email.ToUpperInvariant(), lastName = "Lovelace", properties = new { plan = "pro" } });
        var second = await HttpAssert.JsonAsync(updated, HttpStatusCode.OK);

        Assert.Equal(first.GetProperty("id").GetGuid(), second.GetProperty("id").GetGuid());
        Assert.Equal("active", first.GetProperty("status").GetString());
        Assert.Equal(0, first.GetProperty("engagementScore").GetInt32());
        Assert.Equal("Ada", second.GetProperty("firstName").GetString());
        Assert.Equal("Lovelace", second.GetProperty("lastName").GetString());
        Assert.Equal("Europe/Paris", second.GetProperty("timeZone").GetString());
        Assert.Equal("pro", second.GetProperty("properties").GetProperty("plan").GetString());
        Assert.Equal(3, second.GetProperty("properties").GetProperty("seats").GetInt32());
        foreach (var field in new[] { "id", "email", "firstName", "lastName", "timeZone", "properties", "status", "engagementScore", "createdAt", "updatedAt" })
        {
            Assert.True(second.TryGetProperty(field, out _), field);
        }

        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", other.OrganizationId)));
        Assert.Contains(fixture.Sync.Profiles, p => p.Id == first.GetProperty("id").GetGuid() && p.OrganizationId == tenant.OrganizationId && p.PropertiesJson.Contains("pro", StringComparison.Ordinal));
        Assert.Equal(2, await fixture.ScalarAsync("SELECT count(*) FROM audit_log WHERE organization_id = @org AND entity_type = 'contact' AND actor_id = @user", ("org", tenant.OrganizationId), ("user", tenant.UserId)));
    }

    [Fact]
    public async Task Upsert_rejects_bad_fields_naming_each()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();

        var response = await client.PostAsJsonAsync("/v1/contacts", new { email = "nope", timeZone = "Mars/Olympus", properties = new { bio = new string('x', 10_000) } });

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "email");
        Assert.True(problem.GetProperty("errors").TryGetProperty("timeZone", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("properties.bio", out _));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Batch_keeps_good_rows_and_reports_bad_ones_by_index()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var existing = await tenant.CreateContactAsync();
        var rows = new List<object>
        {
            new { email = NewEmail(), firstName = "A" },
            new { email = "broken" },
            new { email = existing.GetProperty("email").GetString(), properties = new { plan = "pro" } },
            new { email = NewEmail(), timeZone = "Not/AZone" },
        };
        var duplicate = NewEmail();
        rows.Add(new { email = duplicate, firstName = "First" });
        rows.Add(new { email = duplicate.ToUpperInvariant(), lastName = "Second" });

        var response = await client.PostAsJsonAsync("/v1/contacts/batch", new { contacts = rows });

        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(2, body.GetProperty("created").GetInt32());
        Assert.Equal(2, body.GetProperty("updated").GetInt32());
        var rejected = body.GetProperty("rejected").EnumerateArray().ToList();
        Assert.Equal([1, 3], rejected.Select(r => r.GetProperty("index").GetInt32()));
        Assert.True(rejected[0].GetProperty("errors").TryGetProperty("email", out _));
        Assert.True(rejected[1].GetProperty("errors").TryGetProperty("timeZone", out _));
        Assert.Equal(3, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
        // Names are stored encrypted: the merged row is read back through the API.
        var merged = (await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts?email={Uri.EscapeDataString(duplicate)}"), HttpStatusCode.OK)).GetProperty("items").EnumerateArray().Single();
        Assert.Equal("First", merged.GetProperty("firstName").GetString());
        Assert.Equal("Second", merged.GetProperty("lastName").GetString());
    }

    [Fact]
    public async Task Batch_of_ten_thousand_is_accepted_in_one_call()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var rows = Enumerable.Range(0, 10_000).Select(i => new { email = $"bulk-{i}-{tenant.OrganizationId:N}@example.test", properties = new { i } });

        var response = await client.PostAsJsonAsync("/v1/contacts/batch", new { contacts = rows });

        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.Equal(10_000, body.GetProperty("created").GetInt32());
        Assert.Equal(10_000, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Batch_over_ten_thousand_is_400_and_writes_nothing()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var rows = Enumerable.Range(0, 10_001).Select(i => new { email = $"over-{i}@example.test" });

        var response = await client.PostAsJsonAsync("/v1/contacts/batch", new { contacts = rows });

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "contacts");
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Get_list_filter_and_page_contacts()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contacts = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            contacts.Add(await tenant.CreateContactAsync());
        }

        var one = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contacts[2].GetProperty("id").GetGuid()}"), HttpStatusCode.OK);
        Assert.Equal(contacts[2].GetProperty("email").GetString(), one.GetProperty("email").GetString());
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/contacts/{Guid.NewGuid()}"), HttpStatusCode.NotFound);

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            var page = await HttpAssert.JsonAsync(await client.GetAsync("/v1/contacts?limit=2" + (cursor is null ? "" : "&cursor=" + cursor)), HttpStatusCode.OK);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(contacts.Select(c => c.GetProperty("id").GetGuid()).Order(), seen.Order());
        Assert.Equal(5, seen.Distinct().Count());

        var byEmail = await HttpAssert.JsonAsync(await client.GetAsync("/v1/contacts?email=" + Uri.EscapeDataString(contacts[4].GetProperty("email").GetString()!.ToUpperInvariant())), HttpStatusCode.OK);
        Assert.Equal(contacts[4].GetProperty("id").GetGuid(), Assert.Single(byEmail.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/contacts?listId={Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/contacts?cursor=bogus"), HttpStatusCode.BadRequest, "cursor");
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/contacts?limit=0"), HttpStatusCode.BadRequest, "limit");
    }

    [Theory]
    [InlineData("/v1/contacts?segmentId=not-a-guid", "segmentId")]
    [InlineData("/v1/contacts?listId=1", "listId")]
    [InlineData("/v1/contacts?limit=abc", "limit")]
    [InlineData("/v1/contacts?limit=99999999999999999999", "limit")]
    public async Task Query_values_that_do_not_parse_are_400_naming_the_parameter(string url, string field)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        await HttpAssert.ProblemAsync(await client.GetAsync(url), HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task A_missing_body_is_400_naming_body()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        await HttpAssert.ProblemAsync(await client.PostAsync("/v1/contacts", HttpAssert.Raw("")), HttpStatusCode.BadRequest, "body");
        await HttpAssert.ProblemAsync(await client.PostAsync("/v1/contacts", HttpAssert.Raw("{\"email\": 5}")), HttpStatusCode.BadRequest, "email");
    }

    [Fact]
    public async Task Patch_changes_given_fields_and_removes_null_properties()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync(properties: new { plan = "free", company = "Acme" });
        var id = contact.GetProperty("id").GetGuid();

        var patched = await HttpAssert.JsonAsync(await client.PatchAsJsonAsync($"/v1/contacts/{id}", new { firstName = (string?)null, timeZone = "America/New_York", properties = new { plan = "pro", company = (string?)null } }), HttpStatusCode.OK);

        Assert.Equal(JsonValueKind.Null, patched.GetProperty("firstName").ValueKind);
        Assert.Equal("America/New_York", patched.GetProperty("timeZone").GetString());
        Assert.Equal("pro", patched.GetProperty("properties").GetProperty("plan").GetString());
        Assert.False(patched.GetProperty("properties").TryGetProperty("company", out _));
        await HttpAssert.ProblemAsync(await client.PatchAsJsonAsync($"/v1/contacts/{id}", new { timeZone = "EST5EDT-ish" }), HttpStatusCode.BadRequest, "timeZone");
        await HttpAssert.ProblemAsync(await client.PatchAsJsonAsync($"/v1/contacts/{Guid.NewGuid()}", new { firstName = "x" }), HttpStatusCode.NotFound);
        var taken = await tenant.CreateContactAsync();
        await HttpAssert.ProblemAsync(await client.PatchAsJsonAsync($"/v1/contacts/{id}", new { email = taken.GetProperty("email").GetString() }), HttpStatusCode.Conflict, "email");
    }

    [Fact]
    public async Task Delete_erases_pii_everywhere_and_keeps_only_a_hash_in_suppressions()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var email = NewEmail();
        var contact = await tenant.CreateContactAsync(email, new { phone = "+33 6 00 00 00 00" });
        var id = contact.GetProperty("id").GetGuid();
        var listId = await tenant.CreateAsync("/v1/lists", new { name = "news" });
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { id } }), HttpStatusCode.OK);
        await SeedHistoryAsync(tenant.OrganizationId, id, email);

        var response = await client.DeleteAsync($"/v1/contacts/{id}");

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        (string, object)[] p = [("org", tenant.OrganizationId), ("id", id), ("email", email)];
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE id = @id", p));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM list_members WHERE contact_id = @id", p));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM events WHERE contact_id = @id AND properties <> '{}'::jsonb", p));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM email_sends WHERE contact_id = @id AND (email ILIKE '%' || @email || '%' OR subject <> '')", p));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM journey_events WHERE contact_id = @id AND detail IS NOT NULL", p));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @org AND email IS NULL AND reason = 'erased' AND hash_key IS NOT NULL", p));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @org AND email_hash = sha256(convert_to(lower(@email), 'UTF8'))", p));
        var leftovers = await fixture.ScalarAsync("""
            SELECT (SELECT count(*) FROM events WHERE properties::text ILIKE '%' || @email || '%')
                 + (SELECT count(*) FROM email_sends WHERE email ILIKE @email)
                 + (SELECT count(*) FROM suppressions WHERE email ILIKE @email)
                 + (SELECT count(*) FROM audit_log WHERE detail::text ILIKE '%' || @email || '%')
                 + (SELECT count(*) FROM idempotency_keys WHERE response::text ILIKE '%' || @email || '%')
            """, p);
        Assert.Equal(0, leftovers);
        Assert.Contains(fixture.Sync.Erasures, e => e == (tenant.OrganizationId, id));
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/contacts/{id}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.DeleteAsync($"/v1/contacts/{id}"), HttpStatusCode.NotFound);

        var suppressions = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions"), HttpStatusCode.OK);
        var entry = Assert.Single(suppressions.GetProperty("items").EnumerateArray());
        Assert.Equal("erased", entry.GetProperty("reason").GetString());
        Assert.False(entry.TryGetProperty("emailHash", out _), "the suppression hash is never shown");
    }

    private async Task SeedHistoryAsync(Guid organizationId, Guid contactId, string email)
    {
        var now = DateTimeOffset.UtcNow;
        await fixture.ExecuteAsync("""
            INSERT INTO events (id, organization_id, contact_id, name, properties, occurred_at) VALUES (gen_random_uuid(), @org, @id, 'purchased', jsonb_build_object('email', @email, 'amount', 42), @at - interval '3 minutes');
            INSERT INTO journey_events (organization_id, workflow_id, contact_id, journey_id, version, entry, kind, step_id, detail, occurred_at)
            VALUES (@org, gen_random_uuid(), @id, 'j-1', 1, 1, 'entered', 'welcome', jsonb_build_object('to', @email), @at - interval '2 minutes');
            INSERT INTO email_sends (id, organization_id, send_key, contact_id, email, subject, status, created_at)
            VALUES (gen_random_uuid(), @org, 'k-' || gen_random_uuid(), @id, @email, 'Welcome Ada', 'sent', @at - interval '1 minute');
            """, ("org", organizationId), ("id", contactId), ("email", email), ("at", now));
    }

    [Fact]
    public async Task Export_holds_everything_on_the_contact_and_timeline_is_newest_first()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var email = NewEmail();
        var contact = await tenant.CreateContactAsync(email);
        var id = contact.GetProperty("id").GetGuid();
        var listId = await tenant.CreateAsync("/v1/lists", new { name = "news" });
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { id } }), HttpStatusCode.OK);
        await SeedHistoryAsync(tenant.OrganizationId, id, email);

        var export = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{id}/export"), HttpStatusCode.OK);
        Assert.Equal(email, export.GetProperty("profile").GetProperty("email").GetString());
        foreach (var section in new[] { "events", "lists", "sends", "journeyEvents", "suppressions", "segments" })
        {
            Assert.Equal(JsonValueKind.Array, export.GetProperty(section).ValueKind);
        }

        Assert.Equal(1, export.GetProperty("events").GetArrayLength());
        Assert.Equal(1, export.GetProperty("sends").GetArrayLength());
        Assert.Equal(1, export.GetProperty("journeyEvents").GetArrayLength());
        Assert.Equal(listId, export.GetProperty("lists")[0].GetProperty("listId").GetGuid());
        Assert.True(export.TryGetProperty("consent", out _));

        var timeline = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{id}/timeline?limit=2"), HttpStatusCode.OK);
        var items = timeline.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["send", "journey"], items.Select(i => i.GetProperty("type").GetString()));
        var rest = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{id}/timeline?limit=2&cursor={timeline.GetProperty("nextCursor").GetString()}"), HttpStatusCode.OK);
        Assert.Equal("event", Assert.Single(rest.GetProperty("items").EnumerateArray()).GetProperty("type").GetString());
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/contacts/{Guid.NewGuid()}/export"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/contacts/{Guid.NewGuid()}/timeline"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Timeline_pages_items_that_share_a_timestamp_without_loss()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var id = (await tenant.CreateContactAsync()).GetProperty("id").GetGuid();
        await fixture.ExecuteAsync("""
            INSERT INTO events (id, organization_id, contact_id, name, occurred_at)
            SELECT gen_random_uuid(), @org, @id, 'tick', '2026-01-01T00:00:00Z' FROM generate_series(1, 5)
            """, ("org", tenant.OrganizationId), ("id", id));

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{id}/timeline?limit=2" + (cursor is null ? "" : "&cursor=" + cursor)), HttpStatusCode.OK);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(5, seen.Distinct().Count());
        Assert.Equal(5, seen.Count);
    }

    [Fact]
    public async Task Unsubscribe_sets_the_status_and_suppresses_the_address()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        var id = contact.GetProperty("id").GetGuid();

        var response = await HttpAssert.JsonAsync(await client.PostAsync($"/v1/contacts/{id}/unsubscribe", null), HttpStatusCode.OK);

        Assert.Equal("unsubscribed", response.GetProperty("status").GetString());
        var list = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions"), HttpStatusCode.OK);
        Assert.Equal("unsubscribed", Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("reason").GetString());
        Assert.Contains(fixture.Sync.Profiles, p => p.Id == id && p.Status == "unsubscribed");
        await HttpAssert.ProblemAsync(await client.PostAsync($"/v1/contacts/{Guid.NewGuid()}/unsubscribe", null), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Suppressions_can_be_added_and_listed()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        var email = contact.GetProperty("email").GetString();

        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email, reason = "bounced" }), HttpStatusCode.Created);
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email, reason = "complained" }), HttpStatusCode.OK);
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email = NewEmail(), reason = "manual" }), HttpStatusCode.Created);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email, reason = "erased" }), HttpStatusCode.BadRequest, "reason");

        var page = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions?limit=1"), HttpStatusCode.OK);
        Assert.Single(page.GetProperty("items").EnumerateArray());
        var next = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions?limit=1&cursor=" + page.GetProperty("nextCursor").GetString()), HttpStatusCode.OK);
        Assert.Single(next.GetProperty("items").EnumerateArray());
        var stored = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contact.GetProperty("id").GetGuid()}"), HttpStatusCode.OK);
        Assert.Equal("complained", stored.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_contact_created_for_a_suppressed_address_keeps_the_suppression_status()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var email = NewEmail();
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email = email.ToUpperInvariant(), reason = "unsubscribed" }), HttpStatusCode.Created);

        var created = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email }), HttpStatusCode.Created);
        var batch = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts/batch", new { contacts = new[] { new { email = NewEmail() } } }), HttpStatusCode.OK);

        Assert.Equal("unsubscribed", created.GetProperty("status").GetString());
        Assert.Equal(1, batch.GetProperty("created").GetInt32());
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org AND status = 'active'", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Consent_is_recorded_with_source_and_time()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var email = NewEmail();
        var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

        var created = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email, consent = new { source = "signup_form", at } }), HttpStatusCode.Created);
        var updated = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email, firstName = "Later" }), HttpStatusCode.OK);
        var export = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{created.GetProperty("id").GetGuid()}/export"), HttpStatusCode.OK);

        Assert.Equal("signup_form", created.GetProperty("consent").GetProperty("source").GetString());
        Assert.Equal(at, updated.GetProperty("consent").GetProperty("at").GetDateTimeOffset());
        Assert.Equal("signup_form", export.GetProperty("consent").GetProperty("source").GetString());
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/contacts", new { email, consent = new { at } }), HttpStatusCode.BadRequest, "consent.source");
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/contacts", new { email, consent = new { source = "form", at = DateTimeOffset.UtcNow.AddDays(3) } }), HttpStatusCode.BadRequest, "consent.at");
    }

    [Fact]
    public async Task Idempotency_key_replays_the_first_response()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var key = Guid.NewGuid().ToString();

        async Task<HttpResponseMessage> PostAsync(object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/lists") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await client.SendAsync(request);
        }

        var first = await HttpAssert.JsonAsync(await PostAsync(new { name = "once" }), HttpStatusCode.Created);
        var replay = await PostAsync(new { name = "twice" });
        var second = await HttpAssert.JsonAsync(replay, HttpStatusCode.Created);

        Assert.Equal(first.GetProperty("id").GetGuid(), second.GetProperty("id").GetGuid());
        Assert.Equal("once", second.GetProperty("name").GetString());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM email_lists WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Idempotency_key_of_a_rejected_request_can_be_reused()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var key = Guid.NewGuid().ToString();

        async Task<HttpResponseMessage> PostAsync(object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/contacts") { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await client.SendAsync(request);
        }

        await HttpAssert.ProblemAsync(await PostAsync(new { email = "bad" }), HttpStatusCode.BadRequest, "email");
        await HttpAssert.JsonAsync(await PostAsync(new { email = NewEmail() }), HttpStatusCode.Created);
    }
}
