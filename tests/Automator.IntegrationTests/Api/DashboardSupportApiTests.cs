using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.WebApi.Identity;

namespace Automator.IntegrationTests.Api;

/// <summary>The routes the dashboard's contacts, suppressions, API keys and users pages read and write.</summary>
[Collection(ApiCollection.Name)]
public sealed class DashboardSupportApiTests(ApiFixture fixture)
{
    private static string NewEmail() => $"c-{Guid.NewGuid():N}@example.test";

    [Fact]
    public async Task Contacts_are_found_by_a_property_value_within_the_organization_only()
    {
        var tenant = await fixture.CreateTenantAsync();
        var other = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var pro = await tenant.CreateContactAsync(properties: new { plan = "pro", seats = 3 });
        await tenant.CreateContactAsync(properties: new { plan = "free" });
        await other.CreateContactAsync(properties: new { plan = "pro" });

        var found = await HttpAssert.JsonAsync(await client.GetAsync("/v1/contacts?property=plan&value=pro"), HttpStatusCode.OK);
        var bySeats = await HttpAssert.JsonAsync(await client.GetAsync("/v1/contacts?property=seats&value=3"), HttpStatusCode.OK);

        Assert.Equal([pro.GetProperty("id").GetGuid()], found.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
        Assert.Equal([pro.GetProperty("id").GetGuid()], bySeats.GetProperty("items").EnumerateArray().Select(c => c.GetProperty("id").GetGuid()));
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/contacts?property=plan"), HttpStatusCode.BadRequest, "value");
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/contacts?value=pro"), HttpStatusCode.BadRequest, "property");
    }

    [Fact]
    public async Task A_contact_profile_lists_its_lists_and_journeys_and_hides_other_organizations()
    {
        var tenant = await fixture.CreateTenantAsync();
        var other = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        using var otherClient = other.Client();
        var contactId = (await tenant.CreateContactAsync()).GetProperty("id").GetGuid();
        var listId = await tenant.CreateAsync("/v1/lists", new { name = "Newsletter" });
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { contactId } }), HttpStatusCode.OK);

        var lists = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contactId}/lists"), HttpStatusCode.OK);
        var journeys = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contactId}/journeys"), HttpStatusCode.OK);

        var list = Assert.Single(lists.GetProperty("items").EnumerateArray());
        Assert.Equal(listId, list.GetProperty("listId").GetGuid());
        Assert.Equal("Newsletter", list.GetProperty("name").GetString());
        Assert.Empty(journeys.GetProperty("items").EnumerateArray());
        await HttpAssert.ProblemAsync(await otherClient.GetAsync($"/v1/contacts/{contactId}/lists"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await otherClient.GetAsync($"/v1/contacts/{contactId}/journeys"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Suppressions_import_reports_bad_rows_and_removal_reactivates_the_contact()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        var email = contact.GetProperty("email").GetString()!;
        var fresh = NewEmail();

        var imported = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions/batch",
            new { emails = new[] { email, "not-an-address", fresh, fresh.ToUpperInvariant() }, reason = "unsubscribed" }), HttpStatusCode.OK);

        Assert.Equal(2, imported.GetProperty("added").GetInt32());
        Assert.Equal(1, Assert.Single(imported.GetProperty("rejected").EnumerateArray()).GetProperty("index").GetInt32());
        Assert.Equal("unsubscribed", (await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contact.GetProperty("id")}"), HttpStatusCode.OK)).GetProperty("status").GetString());
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/suppressions/batch", new { emails = Array.Empty<string>(), reason = "nope" }), HttpStatusCode.BadRequest, "emails");

        var removed = await client.DeleteAsync($"/v1/suppressions/{Uri.EscapeDataString(email)}");

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal("active", (await HttpAssert.JsonAsync(await client.GetAsync($"/v1/contacts/{contact.GetProperty("id")}"), HttpStatusCode.OK)).GetProperty("status").GetString());
        var left = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions"), HttpStatusCode.OK);
        Assert.Equal([fresh], left.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("email").GetString()));
        await HttpAssert.ProblemAsync(await client.DeleteAsync($"/v1/suppressions/{Uri.EscapeDataString(email)}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.DeleteAsync("/v1/suppressions/nope"), HttpStatusCode.BadRequest, "email");
    }

    [Fact]
    public async Task An_erased_address_cannot_be_taken_off_the_suppression_list()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/contacts/{contact.GetProperty("id")}")).StatusCode);

        var removed = await client.DeleteAsync($"/v1/suppressions/{Uri.EscapeDataString(contact.GetProperty("email").GetString()!)}");

        await HttpAssert.ProblemAsync(removed, HttpStatusCode.Conflict, "email");
    }

    [Fact]
    public async Task Scopes_and_roles_are_served_for_the_forms_that_choose_them()
    {
        var tenant = await fixture.CreateTenantAsync();
        var viewer = await fixture.CreateTenantAsync(Roles.Viewer);
        using var client = tenant.Client();
        using var viewerClient = viewer.Client();

        var scopes = await HttpAssert.JsonAsync(await client.GetAsync("/v1/api-keys/scopes"), HttpStatusCode.OK);
        var roles = await HttpAssert.JsonAsync(await viewerClient.GetAsync("/v1/users/roles"), HttpStatusCode.OK);

        Assert.Equal(Scopes.All, scopes.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()!));
        Assert.Equal(Roles.All, roles.GetProperty("roles").EnumerateArray().Select(r => r.GetProperty("name").GetString()!));
        var viewerRole = roles.GetProperty("roles").EnumerateArray().Single(r => r.GetProperty("name").GetString() == Roles.Viewer);
        Assert.All(viewerRole.GetProperty("scopes").EnumerateArray(), s => Assert.EndsWith(":read", s.GetString(), StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewerClient.GetAsync("/v1/api-keys/scopes")).StatusCode);
    }
}
