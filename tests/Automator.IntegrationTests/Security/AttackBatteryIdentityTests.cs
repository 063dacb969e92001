using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.Delivery;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Automator.IntegrationTests.Security;

/// <summary>
/// Identity and platform-control exploits attempted as a tenant: each is refused, the process keeps serving, and nothing
/// changes for another tenant.
/// </summary>
public sealed class AttackBatteryIdentityTests
{
    private const string OperatorKey = "operator-key-0123456789-attack-battery";
    private const string Password = "correct horse battery staple";

    private static Dictionary<string, string?> OperatorSettings(string operatorEmail) => new()
    {
        ["Automator:Operators:Key"] = OperatorKey,
        ["Automator:Operators:Emails:0"] = operatorEmail,
    };

    private static HttpClient OperatorKeyClient(DeliveryHarness harness)
    {
        var client = harness.Web.CreateClient();
        client.DefaultRequestHeaders.Add(OperatorKeyAuthenticationHandler.HeaderName, OperatorKey);
        return client;
    }

    private static async Task<HttpClient> SignUpAsync(DeliveryHarness harness, string email)
    {
        var client = harness.Web.CreateClient();
        var response = await client.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Signed up", email, password = Password });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task AssertStillServesAsync(DeliveryHarness harness)
    {
        using var client = harness.Web.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    private static async Task<JsonElement> ProviderAsync(HttpClient client, string name)
    {
        var response = await client.GetAsync("/v1/providers");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("items").EnumerateArray().Single(p => p.GetProperty("name").GetString() == name).Clone();
    }

    // Finding 1: any tenant could pause a provider account shared by every tenant.
    [Fact]
    public async Task A_tenant_cannot_pause_a_provider_and_sendgrid_keeps_sending_for_another_tenant()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: OperatorSettings($"op-{Guid.NewGuid():N}@example.test"));
        var attacker = await harness.SeedOrganizationAsync();
        var victim = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(victim);
        using var owner = harness.Web.CreateClientFor(attacker, Scopes.ProvidersRead, Scopes.ProvidersWrite);
        using var allScopesKey = await harness.CreateKeyClientAsync(attacker, [.. Scopes.All]);
        using var selfMade = await SignUpAsync(harness, $"attacker-{Guid.NewGuid():N}@example.test");

        var byOwner = await owner.PostAsync("/v1/providers/sendgrid/pause", null);
        var byKey = await allScopesKey.PostAsync("/v1/providers/sendgrid/pause", null);
        var bySignup = await selfMade.PostAsync("/v1/providers/ses/pause", null);
        var resumeByOwner = await owner.PostAsync("/v1/providers/sendgrid/resume", null);

        Assert.Equal(HttpStatusCode.Forbidden, byOwner.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, bySignup.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, resumeByOwner.StatusCode);
        await AssertStillServesAsync(harness);
        var receipt = await harness.SendAsync(victim, Guid.NewGuid(), "victim@example.com", template);
        var sent = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the other tenant's send");
        Assert.Equal(SendStatus.Sent, sent.Status);
        Assert.Equal("sendgrid", sent.Provider);
        using var operatorClient = OperatorKeyClient(harness);
        Assert.Equal("healthy", (await ProviderAsync(operatorClient, "sendgrid")).GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_operator_by_key_or_by_configured_email_pauses_and_resumes_a_provider()
    {
        var operatorEmail = $"op-{Guid.NewGuid():N}@example.test";
        await using var harness = await DeliveryHarness.StartAsync(settings: OperatorSettings(operatorEmail));
        using var byKey = OperatorKeyClient(harness);
        using var byEmail = await SignUpAsync(harness, operatorEmail.ToUpperInvariant());
        using var wrongKey = harness.Web.CreateClient();
        wrongKey.DefaultRequestHeaders.Add(OperatorKeyAuthenticationHandler.HeaderName, OperatorKey + "x");

        var paused = await byKey.PostAsync("/v1/providers/sendgrid/pause", null);
        var resumed = await byEmail.PostAsync("/v1/providers/sendgrid/resume", null);
        var refused = await wrongKey.PostAsync("/v1/providers/sendgrid/pause", null);

        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("paused", (await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.NotEqual("paused", (await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task A_tenant_sees_its_own_sends_and_share_not_the_platform_volume()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: OperatorSettings($"op-{Guid.NewGuid():N}@example.test"));
        var busy = await harness.SeedOrganizationAsync();
        var quiet = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(busy);
        var receipts = new List<SendReceipt>();
        for (var i = 0; i < 3; i++)
        {
            receipts.Add(await harness.SendAsync(busy, Guid.NewGuid(), $"r{i}@example.com", template));
        }

        foreach (var receipt in receipts)
        {
            await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the busy tenant's sends");
        }

        using var busyClient = harness.Web.CreateClientFor(busy, Scopes.ProvidersRead);
        using var quietClient = harness.Web.CreateClientFor(quiet, Scopes.ProvidersRead);
        using var operatorClient = OperatorKeyClient(harness);

        var mine = await ProviderAsync(busyClient, "sendgrid");
        var theirs = await ProviderAsync(quietClient, "sendgrid");
        var platform = await Eventually.WaitAsync(() => ProviderAsync(operatorClient, "sendgrid"),
            p => p.GetProperty("sentLastMinute").GetInt64() >= 3, TimeSpan.FromSeconds(10), "the provider grain to count the sends");

        Assert.Equal(3, mine.GetProperty("sentLastMinute").GetInt64());
        Assert.Equal(0.05, mine.GetProperty("ratePerSecond").GetDouble());
        Assert.Equal(0.0001, mine.GetProperty("share").GetDouble());
        Assert.Equal(JsonValueKind.Null, mine.GetProperty("sentToday").ValueKind);
        Assert.Equal(0, theirs.GetProperty("sentLastMinute").GetInt64());
        Assert.Equal(0, theirs.GetProperty("ratePerSecond").GetDouble());
        Assert.Equal(0, theirs.GetProperty("share").GetDouble());
        Assert.Equal(500, platform.GetProperty("ratePerSecond").GetDouble());
        Assert.True(platform.GetProperty("sentToday").GetInt64() >= 3);
    }

    [Fact]
    public async Task A_tenants_own_pause_holds_its_sends_not_another_tenants_and_resume_releases_them()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: OperatorSettings($"op-{Guid.NewGuid():N}@example.test"));
        var pausing = await harness.SeedOrganizationAsync();
        var other = await harness.SeedOrganizationAsync();
        var pausingTemplate = await harness.SeedTemplateAsync(pausing);
        var otherTemplate = await harness.SeedTemplateAsync(other);
        using var owner = harness.Web.CreateClientFor(pausing, Scopes.ProvidersWrite);
        var (marketerToken, _) = harness.Web.Services.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), pausing, Roles.Marketer);
        using var marketer = harness.Web.CreateClient();
        marketer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", marketerToken);

        var byMarketer = await marketer.PostAsync("/v1/organization/sending/pause", null);
        var paused = await owner.PostAsync("/v1/organization/sending/pause", null);
        var held = await harness.SendAsync(pausing, Guid.NewGuid(), "held@example.com", pausingTemplate);
        var unaffected = await harness.SendAsync(other, Guid.NewGuid(), "free@example.com", otherTemplate);
        var otherSent = await harness.WaitForAsync(unaffected.SendKey, DeliveryHarness.Finished, "the other tenant's send");
        // A second send of the other tenant, made after the held one was handed to the worker, proves the worker got past it.
        var later = await harness.SendAsync(other, Guid.NewGuid(), "later@example.com", otherTemplate);
        await harness.WaitForAsync(later.SendKey, DeliveryHarness.Finished, "the other tenant's later send");
        var whilePaused = await harness.SendLog.FindByKeyAsync(held.SendKey);
        var organization = await owner.GetFromJsonAsync<JsonElement>("/v1/organization");
        var resumed = await owner.PostAsync("/v1/organization/sending/resume", null);
        var released = await harness.WaitForAsync(held.SendKey, DeliveryHarness.Finished, "the held send after resume");

        Assert.Equal(HttpStatusCode.Forbidden, byMarketer.StatusCode);
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.True((await paused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sendingPaused").GetBoolean());
        Assert.True(organization.GetProperty("sendingPaused").GetBoolean());
        Assert.Equal(SendStatus.Sent, otherSent.Status);
        Assert.Equal("sendgrid", otherSent.Provider);
        Assert.Equal(SendStatus.Queued, whilePaused!.Status);
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.False((await resumed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sendingPaused").GetBoolean());
        Assert.Equal(SendStatus.Sent, released.Status);
        var sendGridRequests = DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath);
        Assert.Equal(1, sendGridRequests.Count(r => r.RequestMessage.Body?.Contains("held@example.com", StringComparison.Ordinal) == true));
        await AssertStillServesAsync(harness);
    }

    // Finding 4: outside Development any signed-in tenant user could open the Orleans dashboard (every organization's
    // grains, reminders and grain state) and stream the silo's log from its trace page.
    [Fact]
    public async Task Outside_development_the_orleans_dashboard_is_for_operators_only_and_its_trace_is_off()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("sec");
        await using var app = new AutomatorApp(connectionString, "sec-" + Guid.NewGuid().ToString("N")[..6], OperatorSettings($"op-{Guid.NewGuid():N}@example.test"));
        await using var production = app.WithWebHostBuilder(b => b.UseEnvironment(Environments.Production));
        var (token, _) = production.Services.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), Guid.NewGuid(), Roles.Owner);
        using var tenant = production.CreateClient();
        tenant.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var anonymous = production.CreateClient();
        using var operatorClient = production.CreateClient();
        operatorClient.DefaultRequestHeaders.Add(OperatorKeyAuthenticationHandler.HeaderName, OperatorKey);

        var tenantPage = await tenant.GetAsync("/orleans/");
        var tenantReminders = await tenant.GetAsync("/orleans/Reminders");
        var tenantTrace = await tenant.GetAsync("/orleans/Trace", HttpCompletionOption.ResponseHeadersRead);
        var anonymousPage = await anonymous.GetAsync("/orleans/");
        var operatorPage = await operatorClient.GetAsync("/orleans/");
        var operatorStats = await operatorClient.GetAsync("/orleans/ClusterStats");
        using var traceTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var operatorTrace = await operatorClient.GetAsync("/orleans/Trace", HttpCompletionOption.ResponseHeadersRead, traceTimeout.Token);
        var traceBody = await operatorTrace.Content.ReadAsStringAsync(traceTimeout.Token);

        Assert.Equal(HttpStatusCode.Forbidden, tenantPage.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, tenantReminders.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, tenantTrace.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousPage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operatorPage.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operatorStats.StatusCode);
        Assert.True(operatorTrace.StatusCode != HttpStatusCode.OK || traceBody.Contains("disabled", StringComparison.OrdinalIgnoreCase),
            $"trace answered {(int)operatorTrace.StatusCode}: {traceBody}");
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
    }
}
