using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.IntegrationTests.Api;

[Collection(ApiCollection.Name)]
public sealed class ListsAndSegmentsApiTests(ApiFixture fixture)
{
    private static string NewEmail() => $"s-{Guid.NewGuid():N}@example.test";

    [Fact]
    public async Task Lists_take_members_by_id_and_email_and_let_them_go()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        var contactId = contact.GetProperty("id").GetGuid();
        var list = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/lists", new { name = "Newsletter", description = "weekly" }), HttpStatusCode.Created);
        var listId = list.GetProperty("id").GetGuid();
        var unknownId = Guid.NewGuid();
        var newEmail = NewEmail();

        var added = await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { contactId, unknownId }, emails = new[] { newEmail } }), HttpStatusCode.OK);
        var again = await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { contactId } }), HttpStatusCode.OK);

        Assert.Equal(2, added.GetProperty("added").GetInt32());
        Assert.Equal(1, added.GetProperty("contactsCreated").GetInt32());
        Assert.Equal(unknownId, Assert.Single(added.GetProperty("notFound").EnumerateArray()).GetGuid());
        Assert.Equal(0, again.GetProperty("added").GetInt32());
        Assert.Equal(1, again.GetProperty("alreadyMembers").GetInt32());
        Assert.Contains(fixture.Sync.ListJoins, j => j == (tenant.OrganizationId, listId, contactId));
        var members = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts?listId={listId}"), HttpStatusCode.OK);
        Assert.Equal(2, members.GetProperty("items").GetArrayLength());
        var lists = await HttpAssert.JsonAsync(await client.GetAsync("/v1/lists"), HttpStatusCode.OK);
        Assert.Equal(2, Assert.Single(lists.GetProperty("items").EnumerateArray()).GetProperty("memberCount").GetInt64());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/lists/{listId}/members/{contactId}")).StatusCode);
        await HttpAssert.ProblemAsync(await client.DeleteAsync($"/v1/lists/{listId}/members/{contactId}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync($"/v1/lists/{Guid.NewGuid()}/members", new { contactIds = new[] { contactId } }), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { }), HttpStatusCode.BadRequest, "contactIds");
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { emails = new[] { "ok@example.test", "bad" } }), HttpStatusCode.BadRequest, "emails[1]");
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/lists", new { description = "no name" }), HttpStatusCode.BadRequest, "name");
    }

    [Fact]
    public async Task Segment_membership_follows_property_changes_and_reports_entry_and_exit()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var pro = await tenant.CreateContactAsync(properties: new { plan = "pro", seats = 10, tags = new[] { "vip" } });
        var free = await tenant.CreateContactAsync(properties: new { plan = "free", seats = 1 });
        var proId = pro.GetProperty("id").GetGuid();
        var freeId = free.GetProperty("id").GetGuid();

        var segment = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/segments", new
        {
            name = "Pro teams",
            filter = new { all = new object[] { new { property = "plan", op = "eq", value = "pro" }, new { property = "seats", op = "gte", value = 5 } } },
        }), HttpStatusCode.Created);
        var segmentId = segment.GetProperty("id").GetGuid();

        var count = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/segments/{segmentId}/count"), HttpStatusCode.OK);
        Assert.Equal(1, count.GetProperty("count").GetInt64());
        var members = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/segments/{segmentId}/contacts"), HttpStatusCode.OK);
        Assert.Equal(proId, Assert.Single(members.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        Assert.Contains(fixture.Sync.SegmentChanges, c => c == (tenant.OrganizationId, segmentId, proId, true));

        await HttpAssert.JsonAsync(await client.PatchAsJsonAsync($"/v1/contacts/{freeId}", new { properties = new { plan = "pro", seats = 7 } }), HttpStatusCode.OK);
        await HttpAssert.JsonAsync(await client.PatchAsJsonAsync($"/v1/contacts/{proId}", new { properties = new { seats = 2 } }), HttpStatusCode.OK);

        Assert.Contains(fixture.Sync.SegmentChanges, c => c == (tenant.OrganizationId, segmentId, freeId, true));
        Assert.Contains(fixture.Sync.SegmentChanges, c => c == (tenant.OrganizationId, segmentId, proId, false));
        var filtered = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts?segmentId={segmentId}"), HttpStatusCode.OK);
        Assert.Equal(freeId, Assert.Single(filtered.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
    }

    public static TheoryData<string, string> Filters => new()
    {
        { """{ "all": [ { "property": "plan", "op": "neq", "value": "free" } ] }""", "a,b,c" },
        { """{ "any": [ { "property": "seats", "op": "gt", "value": 5 }, { "property": "plan", "op": "eq", "value": "free" } ] }""", "a,d" },
        { """{ "all": [ { "property": "seats", "op": "lt", "value": 5 } ] }""", "b" },
        { """{ "all": [ { "property": "seats", "op": "lte", "value": 3 } ] }""", "b" },
        { """{ "all": [ { "property": "company", "op": "contains", "value": "ACME" } ] }""", "a,b" },
        { """{ "all": [ { "property": "tags", "op": "contains", "value": "vip" } ] }""", "a" },
        { """{ "all": [ { "property": "company", "op": "exists" } ] }""", "a,b" },
        { """{ "all": [ { "property": "company", "op": "exists", "value": false } ] }""", "c,d" },
        { """{ "all": [ { "property": "address.city", "op": "eq", "value": "Paris" } ] }""", "c" },
        { """{ "all": [ { "property": "trialEndsAt", "op": "lt", "value": "2026-06-01" } ] }""", "b" },
        { """{ "all": [ { "event": "purchased", "op": "countGte", "value": 2 } ] }""", "a" },
        { """{ "all": [ { "event": "purchased", "op": "countGte", "value": 1, "within": "P7D" } ] }""", "b" },
        { """{ "all": [ { "event": "purchased", "op": "countEq", "value": 0 } ] }""", "c,d" },
        { """{ "all": [ { "property": "plan", "op": "eq", "value": "pro" }, { "any": [ { "property": "seats", "op": "gte", "value": 10 }, { "property": "address.city", "op": "eq", "value": "Paris" } ] } ] }""", "a,c" },
        { """{ "all": [ { "property": "plan", "op": "eq", "value": "' OR 1=1; DROP TABLE contacts; --" } ] }""", "" },
        { """{ "all": [ { "property": "x') OR true --", "op": "exists" } ] }""", "" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Filter_language_selects_the_expected_contacts(string filter, string expected)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var ids = new Dictionary<string, Guid>
        {
            ["a"] = (await tenant.CreateContactAsync(properties: new { plan = "pro", seats = 10, company = "Acme Corp", tags = new[] { "vip" } })).GetProperty("id").GetGuid(),
            ["b"] = (await tenant.CreateContactAsync(properties: new { plan = "team", seats = 3, company = "acme labs", trialEndsAt = "2026-05-01T00:00:00Z" })).GetProperty("id").GetGuid(),
            ["c"] = (await tenant.CreateContactAsync(properties: new { plan = "pro", seats = 5, address = new { city = "Paris" }, trialEndsAt = "2026-07-01" })).GetProperty("id").GetGuid(),
            ["d"] = (await tenant.CreateContactAsync(properties: new { plan = "free", seats = "2" })).GetProperty("id").GetGuid(),
        };
        var now = DateTimeOffset.UtcNow;
        await fixture.ExecuteAsync("""
            INSERT INTO events (id, organization_id, contact_id, name, occurred_at) VALUES
              (gen_random_uuid(), @org, @a, 'purchased', @now - interval '20 days'),
              (gen_random_uuid(), @org, @a, 'purchased', @now - interval '30 days'),
              (gen_random_uuid(), @org, @b, 'purchased', @now - interval '1 day'),
              (gen_random_uuid(), @org, @c, 'viewed', @now)
            """, ("org", tenant.OrganizationId), ("a", ids["a"]), ("b", ids["b"]), ("c", ids["c"]), ("now", now));
        // d's "seats" is the string "2": numeric comparisons never match it.
        var body = "{\"name\":\"s\",\"filter\":" + filter + "}";
        var segment = await HttpAssert.JsonAsync(await client.PostAsync("/v1/segments", HttpAssert.Raw(body)), HttpStatusCode.Created);
        var members = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/segments/{segment.GetProperty("id").GetGuid()}/contacts"), HttpStatusCode.OK);

        var expectedIds = expected.Length == 0 ? [] : expected.Split(',').Select(k => ids[k]).Order().ToArray();
        var actual = members.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()).Order().ToArray();
        var names = ids.ToDictionary(p => p.Value, p => p.Key);
        Assert.True(expectedIds.SequenceEqual(actual), $"expected {expected}, got {string.Join(",", actual.Select(a => names[a]))}");
        Assert.Equal(4, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Contacts_leave_a_time_windowed_segment_when_their_events_age_out()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contactId = (await tenant.CreateContactAsync()).GetProperty("id").GetGuid();
        var eventId = Guid.NewGuid();
        await fixture.ExecuteAsync("INSERT INTO events (id, organization_id, contact_id, name, occurred_at) VALUES (@e, @org, @c, 'visited', now() - interval '1 hour')",
            ("e", eventId), ("org", tenant.OrganizationId), ("c", contactId));
        var segmentId = await tenant.CreateAsync("/v1/segments", new { name = "recent", filter = new { all = new[] { new { @event = "visited", op = "countGte", value = 1, within = "PT2H" } } } });
        Assert.Contains(fixture.Sync.SegmentChanges, c => c == (tenant.OrganizationId, segmentId, contactId, true));

        await fixture.ExecuteAsync("UPDATE events SET occurred_at = now() - interval '3 hours' WHERE id = @e", ("e", eventId));
        var store = fixture.Factory.Services.GetRequiredService<Automator.WebApi.Segments.SegmentStore>();
        Assert.True(await store.SweepTimeWindowedAsync(CancellationToken.None) >= 1);

        Assert.Contains(fixture.Sync.SegmentChanges, c => c == (tenant.OrganizationId, segmentId, contactId, false));
        var count = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/segments/{segmentId}/count"), HttpStatusCode.OK);
        Assert.Equal(0, count.GetProperty("count").GetInt64());
    }

    [Fact]
    public async Task Segment_routes_404_for_unknown_ids_and_400_name_the_bad_condition()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/segments/{Guid.NewGuid()}/count"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/segments/{Guid.NewGuid()}/contacts"), HttpStatusCode.NotFound);
        var bad = await client.PostAsync("/v1/segments", HttpAssert.Raw("""{ "name": "x", "filter": { "all": [ { "property": "plan", "op": "like", "value": "p%" } ] } }"""));
        await HttpAssert.ProblemAsync(bad, HttpStatusCode.BadRequest, "filter.all[0].op");
        var list = await HttpAssert.JsonAsync(await client.GetAsync("/v1/segments"), HttpStatusCode.OK);
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }
}
