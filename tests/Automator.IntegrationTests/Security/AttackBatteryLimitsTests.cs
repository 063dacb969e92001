using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Microsoft.AspNetCore.Hosting;
using Npgsql;

namespace Automator.IntegrationTests.Security;

/// <summary>One system for the resource-limit attacks: a migrated database and the co-hosted silo, WebApi and dashboard.</summary>
public sealed class AttackBatteryLimitsFixture : IAsyncLifetime
{
    public AutomatorApp App { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedPostgres.CreateMigratedDatabaseAsync("attack");
        var settings = ApiFixture.HighLimits;
        settings["Automator:Journeys:AllowPrivateWebhooks"] = "true";
        App = new AutomatorApp(ConnectionString, "attack-" + Guid.NewGuid().ToString("N")[..6], settings);
        _ = App.Server;
    }

    public async Task DisposeAsync() => await App.DisposeAsync();

    public async Task<long> ScalarAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Each resource-limit exploit attempted as a tenant: the attack is refused or contained, the process still serves, and
/// another tenant's data is as it was.
/// </summary>
public sealed class AttackBatteryLimitsTests(AttackBatteryLimitsFixture fixture) : IClassFixture<AttackBatteryLimitsFixture>
{
    private AutomatorApp App => fixture.App;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task AssertStillServingAsync()
    {
        using var anonymous = App.CreateClient();
        var live = await anonymous.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    /// <summary>Another tenant with a workflow and a template, to check nothing of theirs moved.</summary>
    private async Task<(TestTenant Tenant, string Snapshot)> BystanderAsync()
    {
        var tenant = await TestTenant.CreateAsync(App);
        using var client = tenant.Client(App);
        var template = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/templates", new { name = "Hello", subject = "Hi", html = "<p>Hi {{ contact.firstName }}</p>" }), HttpStatusCode.Created);
        var templateId = template.GetProperty("id").GetGuid();
        var workflow = $$"""
            { "name": "Bystander", "trigger": { "type": "manual" }, "start": "a",
              "steps": [ { "id": "a", "type": "send", "templateId": "{{templateId}}", "next": null } ] }
            """;
        await HttpAssert.JsonAsync(await client.PostAsync("/v1/workflows", Json(workflow)), HttpStatusCode.Created);
        return (tenant, await SnapshotAsync(tenant));
    }

    private async Task<string> SnapshotAsync(TestTenant tenant)
    {
        using var client = tenant.Client(App);
        var workflows = await HttpAssert.JsonAsync(await client.GetAsync("/v1/workflows"), HttpStatusCode.OK);
        var templates = await HttpAssert.JsonAsync(await client.GetAsync("/v1/templates"), HttpStatusCode.OK);
        var sends = await HttpAssert.JsonAsync(await client.GetAsync("/v1/sends"), HttpStatusCode.OK);
        return string.Join("\n", workflows.GetRawText(), templates.GetRawText(), sends.GetRawText());
    }

    private async Task AssertUntouchedAsync((TestTenant Tenant, string Snapshot) bystander) =>
        Assert.Equal(bystander.Snapshot, await SnapshotAsync(bystander.Tenant));

    [Fact]
    public async Task Finding_2_a_workflow_of_20000_chained_steps_is_400_naming_steps_and_the_process_survives()
    {
        var bystander = await BystanderAsync();
        var attacker = await TestTenant.CreateAsync(App);
        using var client = attacker.Client(App);
        var steps = string.Join(",", Enumerable.Range(0, 20_000).Select(i => $$"""{"id":"s{{i}}","type":"updateContact","set":{},"next":{{(i + 1 < 20_000 ? $"\"s{i + 1}\"" : "null")}}}"""));
        var body = $$"""{"name":"Deep","trigger":{"type":"manual"},"start":"s0","steps":[{{steps}}]}""";
        Assert.True(Encoding.UTF8.GetByteCount(body) < 2 * 1024 * 1024, "the body stays under the request size limit");

        var response = await client.PostAsync("/v1/workflows", Json(body));

        var problem = await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "steps");
        Assert.Contains("500", problem.GetProperty("errors").GetProperty("steps")[0].GetString(), StringComparison.Ordinal);
        await AssertStillServingAsync();
        var mine = await HttpAssert.JsonAsync(await client.GetAsync("/v1/workflows"), HttpStatusCode.OK);
        Assert.Empty(mine.GetProperty("items").EnumerateArray());
        await AssertUntouchedAsync(bystander);
    }

    private const string DoublingTemplate = "{% assign s = \"x\" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s }}";

    [Fact]
    public async Task Finding_3_a_template_that_doubles_a_string_is_a_clear_error_in_preview_and_fails_its_send()
    {
        var bystander = await BystanderAsync();
        var attacker = await TestTenant.CreateAsync(App);
        using var client = attacker.Client(App);
        var template = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/templates", new { name = "Bomb", subject = "Hi", html = DoublingTemplate }), HttpStatusCode.Created);
        var templateId = template.GetProperty("id").GetGuid();

        var preview = await client.PostAsJsonAsync($"/v1/templates/{templateId}/preview", new { });

        var problem = await HttpAssert.ProblemAsync(preview, HttpStatusCode.BadRequest, "html");
        Assert.Contains("longer than", problem.GetProperty("errors").GetProperty("html")[0].GetString(), StringComparison.Ordinal);
        await AssertStillServingAsync();

        var email = $"bomb-{Guid.NewGuid():N}@example.test";
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email }), HttpStatusCode.Created);
        var workflow = await HttpAssert.JsonAsync(await client.PostAsync("/v1/workflows", Json($$"""
            { "name": "Bomb", "trigger": { "type": "manual" }, "start": "send",
              "steps": [ { "id": "send", "type": "send", "templateId": "{{templateId}}", "next": null } ] }
            """)), HttpStatusCode.Created);
        var workflowId = workflow.GetProperty("id").GetGuid();
        await HttpAssert.JsonAsync(await client.PostAsync($"/v1/workflows/{workflowId}/activate", null), HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/workflows/{workflowId}/enroll", Json($$"""{ "emails": ["{{email}}"] }"""))).StatusCode);

        var sends = await Eventually.WaitAsync(
            async () => await HttpAssert.JsonAsync(await client.GetAsync($"/v1/sends?workflowId={workflowId}"), HttpStatusCode.OK),
            s => s.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("status").GetString() == "failed"),
            TimeSpan.FromSeconds(30), "the send to fail");
        var send = Assert.Single(sends.GetProperty("items").EnumerateArray());
        Assert.Contains("html", send.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("longer than", send.GetProperty("error").GetString(), StringComparison.Ordinal);
        await AssertStillServingAsync();
        await AssertUntouchedAsync(bystander);
    }

    private async Task<Guid> ActiveWebhookWorkflowAsync(HttpClient client, string url)
    {
        var workflow = await HttpAssert.JsonAsync(await client.PostAsync("/v1/workflows", Json($$"""
            { "name": "Hook", "trigger": { "type": "manual" }, "start": "call",
              "steps": [ { "id": "call", "type": "webhook", "url": "{{url}}", "method": "POST", "body": { "hello": "world" }, "next": null } ] }
            """)), HttpStatusCode.Created);
        var id = workflow.GetProperty("id").GetGuid();
        await HttpAssert.JsonAsync(await client.PostAsync($"/v1/workflows/{id}/activate", null), HttpStatusCode.OK);
        return id;
    }

    private static async Task EnrollAsync(HttpClient client, Guid workflowId, int count)
    {
        var emails = Enumerable.Range(0, count).Select(_ => $"hook-{Guid.NewGuid():N}@example.test").ToList();
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts/batch", new { contacts = emails.Select(e => new { email = e }) }), HttpStatusCode.OK);
        var enrolled = await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/workflows/{workflowId}/enroll", new { emails }), HttpStatusCode.Accepted);
        Assert.Equal(count, enrolled.GetProperty("enrolled").GetInt32());
    }

    [Fact]
    public async Task Finding_7_webhook_steps_are_bounded_per_organization_read_little_of_a_huge_answer_and_are_signed()
    {
        await using var receiver = new WebhookReceiver();
        var bystander = await BystanderAsync();
        var attacker = await TestTenant.CreateAsync(App);
        using var client = attacker.Client(App);
        var workflowId = await ActiveWebhookWorkflowAsync(client, $"http://127.0.0.1:{receiver.Port}/held");

        await EnrollAsync(client, workflowId, 12);

        await Eventually.WaitAsync(() => Task.FromResult(receiver.Requests.Count), n => n >= 8, TimeSpan.FromSeconds(30), "eight webhook calls in flight");
        // The others wait for a slot; another organization's call is not held up by them.
        using var other = bystander.Tenant.Client(App);
        var otherWorkflow = await ActiveWebhookWorkflowAsync(other, $"http://127.0.0.1:{receiver.Port}/free");
        await EnrollAsync(other, otherWorkflow, 1);
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Requests.Count(r => r.Path == "/free")), n => n == 1, TimeSpan.FromSeconds(30), "the other organization's call");
        Assert.Equal(8, receiver.Requests.Count(r => r.Path == "/held"));

        receiver.Release();
        await Eventually.WaitAsync(() => Task.FromResult(receiver.BytesWritten.Count), n => n == 13, TimeSpan.FromSeconds(60), "every call answered and hung up");

        Assert.All(receiver.BytesWritten, written => Assert.True(written < 16 * 1024 * 1024, $"{written} bytes written before the caller hung up"));
        var secret = (await HttpAssert.JsonAsync(await client.GetAsync("/v1/organization/webhook-signing-secret"), HttpStatusCode.OK)).GetProperty("secret").GetString()!;
        var held = receiver.Requests.Where(r => r.Path == "/held").ToList();
        Assert.Equal(12, held.Count);
        Assert.All(held, r => Assert.True(WebhookSignature.Verify(secret, r.Headers[WebhookSignature.SignatureHeader], r.Body), "signed with the organization's secret"));
        Assert.Equal(12, held.Select(r => Guid.Parse(r.Headers[WebhookSignature.DeliveryHeader])).Distinct().Count());
        var free = Assert.Single(receiver.Requests, r => r.Path == "/free");
        Assert.False(WebhookSignature.Verify(secret, free.Headers[WebhookSignature.SignatureHeader], free.Body), "another organization signs with its own secret");
        await AssertStillServingAsync();
    }

    /// <summary>Starts a host of the same cluster database outside Development and returns why it failed, or null.</summary>
    private async Task<string?> StartProductionHostAsync(Dictionary<string, string?> settings, Func<HttpClient, Task>? probe = null)
    {
        // A production host needs a public base for its email links; each case here is about the other settings.
        settings.TryAdd("Automator:PublicBaseUrl", "https://mail.example.test");
        await using var app = new AutomatorApp(fixture.ConnectionString, "prod-" + Guid.NewGuid().ToString("N")[..6], settings);
        await using var production = app.WithWebHostBuilder(b => b.UseEnvironment("Production"));
        try
        {
            using var client = production.CreateClient();
            var live = await client.GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            if (probe is not null)
            {
                await probe(client);
            }

            return null;
        }
        catch (Exception ex)
        {
            return string.Join(" | ", Flatten(ex).Select(e => e.Message));
        }
    }

    private static IEnumerable<Exception> Flatten(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }

    [Fact]
    public async Task Finding_11_outside_development_the_demo_seed_and_a_public_signing_key_fail_start_up()
    {
        var bystander = await BystanderAsync();
        const string PublicKey = "local-development-signing-key-change-me-0123456789";
        const string OwnKey = "a-production-secret-of-forty-eight-bytes-000000000";

        var demo = await StartProductionHostAsync(new() { ["Automator:Demo:Seed"] = "true", ["Automator:Jwt:SigningKey"] = OwnKey });
        var publicKey = await StartProductionHostAsync(new() { ["Automator:Jwt:SigningKey"] = PublicKey });
        var missingKey = await StartProductionHostAsync(new() { ["Automator:Jwt:SigningKey"] = "" });
        var safe = await StartProductionHostAsync(new() { ["Automator:Jwt:SigningKey"] = OwnKey });

        Assert.Contains("Automator:Demo:Seed", demo, StringComparison.Ordinal);
        Assert.Contains("Automator:Jwt:SigningKey", publicKey, StringComparison.Ordinal);
        Assert.Contains("Automator:Jwt:SigningKey", missingKey, StringComparison.Ordinal);
        Assert.Null(safe);
        using var anonymous = App.CreateClient();
        var login = await anonymous.PostAsJsonAsync("/v1/auth/login", new { email = "demo@automator.local", password = "demo-password" });
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        await AssertStillServingAsync();
        await AssertUntouchedAsync(bystander);
    }

    private static void AssertEverywhereHeaders(HttpResponseMessage response)
    {
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    private static string Csp(HttpResponseMessage response) => response.Headers.GetValues("Content-Security-Policy").Single();

    [Fact]
    public async Task Finding_12_pages_and_answers_carry_security_headers_and_the_dashboard_and_api_reference_still_load()
    {
        var bystander = await BystanderAsync();
        var attacker = await TestTenant.CreateAsync(App);
        using var client = attacker.Client(App);

        var page = await client.GetAsync("/workflows");
        var api = await client.GetAsync("/v1/workflows");
        var health = await client.GetAsync("/health/live");
        var reference = await client.GetAsync("/scalar");
        var notFound = await client.GetAsync($"/v1/workflows/{Guid.NewGuid()}");

        foreach (var response in new[] { page, api, health, reference, notFound })
        {
            AssertEverywhereHeaders(response);
            Assert.False(response.Headers.Contains("Strict-Transport-Security"), "no HSTS in Development");
        }

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var dashboardPolicy = Csp(page);
        Assert.Contains("script-src 'self';", dashboardPolicy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", dashboardPolicy, StringComparison.Ordinal);
        Assert.Contains("object-src 'none'", dashboardPolicy, StringComparison.Ordinal);
        Assert.Matches(@"connect-src 'self' ws://[^; ]+", dashboardPolicy);
        // The built dashboard loads only its own bundle: every script and stylesheet is a same-origin path.
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=""/)[^>]*>\s*\S", html);
        Assert.All(System.Text.RegularExpressions.Regex.Matches(html, @"(?:src|href)=""([^""]+)""").Select(m => m.Groups[1].Value),
            url => Assert.StartsWith("/", url, StringComparison.Ordinal));
        Assert.Equal("default-src 'none'; frame-ancestors 'none'", Csp(api));
        Assert.Equal(HttpStatusCode.OK, reference.StatusCode);
        var referencePolicy = Csp(reference);
        Assert.Contains("frame-ancestors 'none'", referencePolicy, StringComparison.Ordinal);
        var referenceHtml = await reference.Content.ReadAsStringAsync();
        foreach (var src in System.Text.RegularExpressions.Regex.Matches(referenceHtml, @"<script[^>]*\bsrc=""([^""]+)""").Select(m => m.Groups[1].Value))
        {
            Assert.True(!src.StartsWith("http", StringComparison.Ordinal) || referencePolicy.Contains(new Uri(src).GetLeftPart(UriPartial.Authority), StringComparison.Ordinal), $"{src} is allowed by {referencePolicy}");
            if (!src.StartsWith("http", StringComparison.Ordinal))
            {
                var script = await client.GetAsync(new Uri(new Uri("http://localhost/scalar/"), src).PathAndQuery);
                Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            }
        }

        HttpResponseMessage? productionLive = null;
        var failure = await StartProductionHostAsync(new() { ["Automator:Jwt:SigningKey"] = "a-production-secret-of-forty-eight-bytes-000000000" }, async production =>
            productionLive = await production.GetAsync("/health/live"));
        Assert.Null(failure);
        AssertEverywhereHeaders(productionLive!);
        Assert.StartsWith("max-age=", productionLive!.Headers.GetValues("Strict-Transport-Security").Single(), StringComparison.Ordinal);
        await AssertStillServingAsync();
        await AssertUntouchedAsync(bystander);
    }

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Finding_14_suppression_hashes_are_keyed_never_shown_and_old_plain_hashes_still_suppress_until_rekeyed()
    {
        var bystander = await BystanderAsync();
        var viewer = await TestTenant.CreateAsync(App);
        using var client = viewer.Client(App);
        var listed = $"listed-{Guid.NewGuid():N}@example.test";
        var erased = $"erased-{Guid.NewGuid():N}@example.test";
        var kept = $"kept-{Guid.NewGuid():N}@example.test";
        var org = ("org", (object)viewer.OrganizationId);

        // Added through the API, and a contact erased: neither row may hold the plain SHA-256 a viewer could confirm.
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email = listed, reason = "manual" }), HttpStatusCode.Created);
        var contact = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email = erased }), HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/contacts/{contact.GetProperty("id").GetGuid()}")).StatusCode);

        var page = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions"), HttpStatusCode.OK);
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        Assert.All(page.GetProperty("items").EnumerateArray(), item => Assert.False(item.TryGetProperty("emailHash", out _), item.GetRawText()));
        Assert.DoesNotContain("emailHash", page.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(0, await fixture.ScalarAsync(
            "SELECT count(*) FROM suppressions WHERE organization_id = @org AND (email_hash = sha256(convert_to(@a, 'UTF8')) OR email_hash = sha256(convert_to(@b, 'UTF8')) OR hash_key IS NULL)",
            org, ("a", listed), ("b", erased)));
        var firstPage = await HttpAssert.JsonAsync(await client.GetAsync("/v1/suppressions?limit=1"), HttpStatusCode.OK);
        var secondPage = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/suppressions?limit=1&cursor={firstPage.GetProperty("nextCursor").GetString()}"), HttpStatusCode.OK);
        Assert.Equal(1, secondPage.GetProperty("items").GetArrayLength());
        Assert.Matches("^[0-9]+$", firstPage.GetProperty("nextCursor").GetString()!);

        // Rows written before keyed hashes: an erased one (no address) still suppresses through its plain hash ...
        await ExecuteAsync("INSERT INTO suppressions (organization_id, email_hash, reason) VALUES (@org, sha256(convert_to(@e, 'UTF8')), 'unsubscribed')", org, ("e", erased.Replace("erased-", "old-", StringComparison.Ordinal)));
        var returning = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email = erased.Replace("erased-", "old-", StringComparison.Ordinal) }), HttpStatusCode.Created);
        Assert.Equal("unsubscribed", returning.GetProperty("status").GetString());

        // ... until its address is suppressed again, which re-keys it; one that kept its address is re-keyed at start-up.
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/suppressions", new { email = erased.Replace("erased-", "old-", StringComparison.Ordinal), reason = "manual" }), HttpStatusCode.OK);
        await ExecuteAsync("INSERT INTO suppressions (organization_id, email_hash, email, reason) VALUES (@org, sha256(convert_to(@e, 'UTF8')), @e, 'bounced')", org, ("e", kept));
        var rekeying = Microsoft.Extensions.DependencyInjection.ActivatorUtilities.CreateInstance<Automator.Contacts.SuppressionRekeying>(App.Services);
        while (await rekeying.RekeyBatchAsync(CancellationToken.None) > 0)
        {
        }

        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @org AND hash_key IS NULL", org));
        Assert.Equal(4, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @org", org));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM suppressions WHERE organization_id = @org AND email = @e AND reason = 'bounced'", org, ("e", kept)));
        var late = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email = kept }), HttpStatusCode.Created);
        Assert.Equal("bounced", late.GetProperty("status").GetString());
        await AssertStillServingAsync();
        await AssertUntouchedAsync(bystander);
    }
}
