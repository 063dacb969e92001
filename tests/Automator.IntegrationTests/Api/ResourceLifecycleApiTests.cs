using System.Net;
using System.Net.Http.Json;

namespace Automator.IntegrationTests.Api;

/// <summary>Read-by-id and delete for every resource that has them: 200, then 204, then 404, and an audit row.</summary>
[Collection(ApiCollection.Name)]
public sealed class ResourceLifecycleApiTests(ApiFixture fixture)
{
    public static TheoryData<string, string> Resources => new()
    {
        { "/v1/lists", """{ "name": "Newsletter" }""" },
        { "/v1/segments", """{ "name": "Pro", "filter": { "all": [ { "property": "plan", "op": "eq", "value": "pro" } ] } }""" },
        { "/v1/templates", """{ "name": "Hello", "subject": "Hi", "html": "<p>hi</p>" }""" },
    };

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task Resource_is_read_by_id_deleted_once_and_then_gone(string collection, string body)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var created = await HttpAssert.JsonAsync(await client.PostAsync(collection, HttpAssert.Raw(body)), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();

        var read = await HttpAssert.JsonAsync(await client.GetAsync($"{collection}/{id}"), HttpStatusCode.OK);
        var deleted = await client.DeleteAsync($"{collection}/{id}");

        Assert.Equal(id, read.GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await HttpAssert.ProblemAsync(await client.GetAsync($"{collection}/{id}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.DeleteAsync($"{collection}/{id}"), HttpStatusCode.NotFound);
        Assert.Equal(1, await fixture.ScalarAsync(
            "SELECT count(*) FROM audit_log WHERE organization_id = @org AND action LIKE '%.deleted' AND @id = ANY(entity_ids) AND actor_type = 'user' AND actor_id = @user",
            ("org", tenant.OrganizationId), ("id", id.ToString()), ("user", tenant.UserId)));
    }

    [Fact]
    public async Task A_user_is_read_by_id_within_the_organization_only()
    {
        var tenant = await fixture.CreateTenantAsync();
        var other = await fixture.CreateTenantAsync();
        using var client = tenant.Client();

        var me = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/users/{tenant.UserId}"), HttpStatusCode.OK);

        Assert.Equal("owner", me.GetProperty("role").GetString());
        Assert.Equal(tenant.OrganizationId, me.GetProperty("organizationId").GetGuid());
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/users/{other.UserId}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Writes_through_an_api_key_are_audited_with_the_key_as_actor()
    {
        var tenant = await fixture.CreateTenantAsync();
        var key = await tenant.CreateKeyAsync("lists:write");
        using var client = fixture.WithKey(key);

        var id = (await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/lists", new { name = "From a key" }), HttpStatusCode.Created)).GetProperty("id").GetGuid();

        Assert.Equal(1, await fixture.ScalarAsync(
            "SELECT count(*) FROM audit_log a JOIN api_keys k ON k.id = a.actor_id WHERE a.organization_id = @org AND a.actor_type = 'api_key' AND a.action = 'list.created' AND @id = ANY(a.entity_ids)",
            ("org", tenant.OrganizationId), ("id", id.ToString())));
    }
}
