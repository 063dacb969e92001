using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.WebApi.Identity;

namespace Automator.IntegrationTests.Api;

/// <summary>
/// Walks every route of the OpenAPI document that takes an id, as organization B (bearer token and API key with
/// every scope) against organization A's ids: each answer must be 403 or 404 and A's data must be unchanged.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class TenantIsolationTests(ApiFixture fixture)
{
    [Fact]
    public async Task Organization_B_cannot_reach_any_resource_of_organization_A()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        using var aClient = a.Client();
        var contact = await a.CreateContactAsync(properties: new { plan = "pro" });
        var contactId = contact.GetProperty("id").GetGuid();
        var listId = await a.CreateAsync("/v1/lists", new { name = "A list" });
        await HttpAssert.JsonAsync(await aClient.PostAsJsonAsync($"/v1/lists/{listId}/members", new { contactIds = new[] { contactId } }), HttpStatusCode.OK);
        var segmentId = await a.CreateAsync("/v1/segments", new { name = "A seg", filter = new { all = new[] { new { property = "plan", op = "eq", value = "pro" } } } });
        var templateId = await a.CreateAsync("/v1/templates", new { name = "A tpl", subject = "s", html = "<p>{{ contact.email }}</p>" });
        var invitedId = await a.CreateAsync("/v1/users", new { email = $"a-{Guid.NewGuid():N}@example.test", role = "viewer" });
        var aKeyId = (await HttpAssert.JsonAsync(await aClient.PostAsJsonAsync("/v1/api-keys", new { name = "A key", scopes = new[] { "contacts:read" } }), HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var suppressed = $"a-{Guid.NewGuid():N}@example.test";
        await HttpAssert.JsonAsync(await aClient.PostAsJsonAsync("/v1/suppressions", new { email = suppressed, reason = "manual" }), HttpStatusCode.Created);
        var bContact = (await b.CreateContactAsync()).GetProperty("id").GetGuid();
        var bKey = await b.CreateKeyAsync([.. Scopes.All]);
        var ids = new Dictionary<string, Guid>
        {
            ["contacts"] = contactId, ["lists"] = listId, ["segments"] = segmentId, ["templates"] = templateId,
            ["users"] = invitedId, ["api-keys"] = aKeyId,
        };

        using var anonymous = fixture.Anonymous();
        var document = await HttpAssert.JsonAsync(await anonymous.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        var calls = new List<(string Method, string Path, string? Body)>();
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            if (!path.Name.Contains('{', StringComparison.Ordinal) || path.Name.StartsWith("/v1/auth", StringComparison.Ordinal))
            {
                continue;
            }

            var feature = path.Name.Split('/')[2];
            var url = path.Name.Replace("{id}", (ids.TryGetValue(feature, out var id) ? id : contactId).ToString(), StringComparison.Ordinal)
                .Replace("{contactId}", contactId.ToString(), StringComparison.Ordinal)
                .Replace("{email}", Uri.EscapeDataString(suppressed), StringComparison.Ordinal);
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "patch" or "delete"))
            {
                calls.Add((operation.Name.ToUpperInvariant(), url, BodyFor(operation.Name, path.Name, bContact)));
            }
        }

        calls.Add(("GET", $"/v1/contacts?segmentId={segmentId}", null));
        calls.Add(("GET", $"/v1/contacts?listId={listId}", null));
        Assert.True(calls.Count >= 20, $"only {calls.Count} routes with ids in the OpenAPI document");

        var failures = new List<string>();
        foreach (var (name, client) in new[] { ("token", b.Client()), ("key", fixture.WithKey(bKey)) })
        {
            using (client)
            {
                foreach (var (method, url, body) in calls)
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), url);
                    if (body is not null)
                    {
                        request.Content = HttpAssert.Raw(body);
                    }

                    var response = await client.SendAsync(request);
                    if (response.StatusCode is not (HttpStatusCode.NotFound or HttpStatusCode.Forbidden))
                    {
                        failures.Add($"{name} {method} {url} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }

                // B's own lists never show A's data.
                foreach (var list in new[] { "/v1/contacts", "/v1/lists", "/v1/segments", "/v1/templates", "/v1/users", "/v1/api-keys", "/v1/suppressions", $"/v1/contacts?email={Uri.EscapeDataString(contact.GetProperty("email").GetString()!)}" })
                {
                    var text = await (await client.GetAsync(list)).Content.ReadAsStringAsync();
                    foreach (var (feature, id) in ids)
                    {
                        if (text.Contains(id.ToString(), StringComparison.OrdinalIgnoreCase))
                        {
                            failures.Add($"{name} GET {list} shows A's {feature} {id}");
                        }
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
        var after = await HttpAssert.JsonAsync(await aClient.GetAsync($"/v1/contacts/{contactId}"), HttpStatusCode.OK);
        Assert.Equal("Ada", after.GetProperty("firstName").GetString());
        Assert.Equal("active", after.GetProperty("status").GetString());
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM list_members WHERE list_id = @l", ("l", listId)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM api_keys WHERE id = @k AND revoked_at IS NULL", ("k", aKeyId)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM users WHERE id = @u AND role = 'viewer'", ("u", invitedId)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM email_templates WHERE id = @t AND name = 'A tpl'", ("t", templateId)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM segments WHERE id = @s", ("s", segmentId)));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM list_members WHERE contact_id = @c", ("c", bContact)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @o AND email = @e", ("o", a.OrganizationId), ("e", suppressed)));
    }

    private static string? BodyFor(string method, string path, Guid ownContact) => (method, path) switch
    {
        ("patch", "/v1/contacts/{id}") => """{ "firstName": "Mallory", "properties": { "plan": "free" } }""",
        ("post", "/v1/lists/{id}/members") => JsonSerializer.Serialize(new { contactIds = new[] { ownContact } }),
        ("put", "/v1/templates/{id}") => """{ "name": "B", "subject": "s", "html": "<p>b</p>" }""",
        ("patch", "/v1/users/{id}") => """{ "role": "admin" }""",
        ("post", _) or ("put", _) or ("patch", _) => "{}",
        _ => null,
    };
}

public sealed class InMemoryModeApiTests
{
    [Fact]
    public async Task Without_postgres_the_api_answers_503_and_health_still_works()
    {
        await using var app = new Infrastructure.AutomatorApp(null, "mem-" + Guid.NewGuid().ToString("N")[..6]);
        using var client = app.CreateClient();

        var health = await client.GetAsync("/health/live");
        var api = await client.GetAsync("/v1/contacts");

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        await HttpAssert.ProblemAsync(api, HttpStatusCode.ServiceUnavailable);
    }
}
