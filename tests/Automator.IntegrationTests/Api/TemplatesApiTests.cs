using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Automator.IntegrationTests.Api;

[Collection(ApiCollection.Name)]
public sealed class TemplatesApiTests(ApiFixture fixture)
{
    private static readonly object Welcome = new
    {
        name = "Welcome",
        subject = "Hi {{ contact.firstName | default: \"there\" }}",
        html = "<p>Hello {{ contact.firstName | default: \"there\" }}, plan {{ contact.properties.plan }}, bought {{ event.properties.item }}.</p><a href=\"{{ unsubscribe_url }}\">unsubscribe</a>",
        text = "Hello {{ contact.firstName }}",
    };

    [Fact]
    public async Task Templates_are_created_read_updated_and_listed()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();

        var created = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/templates", Welcome), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        var read = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/templates/{id}"), HttpStatusCode.OK);
        var updated = await HttpAssert.JsonAsync(await client.PutAsJsonAsync($"/v1/templates/{id}", new { name = "Welcome v2", subject = "Hey", html = "<p>hi</p>" }), HttpStatusCode.OK);
        var list = await HttpAssert.JsonAsync(await client.GetAsync("/v1/templates"), HttpStatusCode.OK);

        Assert.Equal("Welcome", read.GetProperty("name").GetString());
        Assert.Equal("Welcome v2", updated.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, updated.GetProperty("text").ValueKind);
        Assert.Equal(id, Assert.Single(list.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/templates/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.PutAsJsonAsync($"/v1/templates/{Guid.NewGuid()}", Welcome), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_template_that_does_not_parse_is_400_naming_field_line_and_column()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();

        var response = await client.PostAsJsonAsync("/v1/templates", new { name = "Broken", subject = "ok", html = "<p>line one</p>\n<p>{% if contact.firstName %}no end</p>" });

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "html");
        var message = problem.GetProperty("errors").GetProperty("html")[0].GetString()!;
        Assert.Contains("line 2", message);
        Assert.Contains("column", message);
        var located = Assert.Single(problem.GetProperty("liquidErrors").EnumerateArray());
        Assert.Equal(2, located.GetProperty("line").GetInt32());
        Assert.True(located.GetProperty("column").GetInt32() > 0);
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM email_templates WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    [Fact]
    public async Task Preview_renders_with_a_stored_contact_or_an_inline_one()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var id = await tenant.CreateAsync("/v1/templates", Welcome);
        var contact = await tenant.CreateContactAsync(properties: new { plan = "pro" });

        var stored = await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/templates/{id}/preview", new { contactId = contact.GetProperty("id").GetGuid(), @event = new { name = "purchased", properties = new { item = "<b>Book</b>" } } }), HttpStatusCode.OK);
        var inline = await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/templates/{id}/preview", new { contact = new { properties = new { plan = "free" } } }), HttpStatusCode.OK);

        Assert.Equal("Hi Ada", stored.GetProperty("subject").GetString());
        var html = stored.GetProperty("html").GetString()!;
        Assert.Contains("plan pro", html);
        Assert.Contains("&lt;b&gt;Book&lt;/b&gt;", html);
        Assert.Contains("/u/", html);
        Assert.Equal("Hello Ada", stored.GetProperty("text").GetString());
        Assert.Equal("Hi there", inline.GetProperty("subject").GetString());
        Assert.Contains("plan free", inline.GetProperty("html").GetString());
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync($"/v1/templates/{id}/preview", new { contactId = Guid.NewGuid() }), HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync($"/v1/templates/{Guid.NewGuid()}/preview", new { }), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Preview_of_a_runaway_loop_is_bounded()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var id = await tenant.CreateAsync("/v1/templates", new { name = "Loop", subject = "s", html = "{% for i in (1..100000000) %}{{ i }}{% endfor %}" });

        var response = await client.PostAsJsonAsync($"/v1/templates/{id}/preview", new { });

        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "html");
    }
}
