using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Automator.Delivery;
using Automator.Delivery.Providers;
using Automator.IntegrationTests.Api;
using Automator.WebApi.Auth;
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
[Collection(ApiCollection.Name)]
public sealed class AttackBatteryIdentityTests(ApiFixture fixture)
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
    public async Task An_operator_by_key_or_by_configured_and_verified_email_pauses_and_resumes_a_provider()
    {
        var operatorEmail = $"op-{Guid.NewGuid():N}@example.test";
        await using var harness = await DeliveryHarness.StartAsync(settings: OperatorSettings(operatorEmail));
        using var byKey = OperatorKeyClient(harness);
        using var unverified = await SignUpAsync(harness, operatorEmail.ToUpperInvariant());
        using var wrongKey = harness.Web.CreateClient();
        wrongKey.DefaultRequestHeaders.Add(OperatorKeyAuthenticationHandler.HeaderName, OperatorKey + "x");

        var paused = await byKey.PostAsync("/v1/providers/sendgrid/pause", null);
        // Signing up with an operator's address before they do gives nothing until the address is proven.
        var bySquatter = await unverified.PostAsync("/v1/providers/sendgrid/resume", null);
        var token = await Eventually.WaitAsync(
            () => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)
                .Select(r => System.Text.RegularExpressions.Regex.Match(r.RequestMessage.Body ?? "", @"verify-email\?token=([A-Za-z0-9_-]+)"))
                .FirstOrDefault(m => m.Success)?.Groups[1].Value),
            t => t is not null, TimeSpan.FromSeconds(20), "the verification message");
        using var anonymous = harness.Web.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("/v1/auth/verify-email", new { token })).StatusCode);
        var login = await anonymous.PostAsJsonAsync("/v1/auth/login", new { email = operatorEmail, password = Password });
        using var byEmail = harness.Web.CreateClient();
        byEmail.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString());
        var resumed = await byEmail.PostAsync("/v1/providers/sendgrid/resume", null);
        var refused = await wrongKey.PostAsync("/v1/providers/sendgrid/pause", null);

        Assert.Equal(HttpStatusCode.Forbidden, bySquatter.StatusCode);
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
        await using var production = app.WithWebHostBuilder(b => b.UseEnvironment(Environments.Production).UseSetting("Automator:PublicBaseUrl", "https://mail.automator.test"));
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

    // Finding 8: users could not be offboarded; refresh rotation extended a session forever.
    private sealed record Member(Guid Id, string Email, string AccessToken, string RefreshCookie);

    private static string RefreshCookie(HttpResponseMessage response)
    {
        var header = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RefreshTokens.CookieName + "=", StringComparison.Ordinal));
        return header.Split(';')[0][(RefreshTokens.CookieName.Length + 1)..];
    }

    private async Task<HttpResponseMessage> RefreshAsync(string cookie)
    {
        using var client = fixture.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/refresh");
        request.Headers.Add("Cookie", $"{RefreshTokens.CookieName}={cookie}");
        return await client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> LoginAsync(string email)
    {
        using var anonymous = fixture.Anonymous();
        return await anonymous.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
    }

    /// <summary>Invites a user into the owner's organization and has them accept (one session) and sign in again (another).</summary>
    private async Task<(Member Member, string SecondCookie)> InviteAndSignInAsync(ApiTenant owner, string role)
    {
        using var client = owner.Client();
        var email = $"member-{Guid.NewGuid():N}@example.test";
        var invited = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/users", new { email, role }), HttpStatusCode.Created);
        using var anonymous = fixture.Anonymous();
        var accepted = await anonymous.PostAsJsonAsync("/v1/auth/accept-invite", new { token = invited.GetProperty("inviteToken").GetString(), password = Password });
        var body = await HttpAssert.JsonAsync(accepted, HttpStatusCode.OK);
        var login = await LoginAsync(email);
        await HttpAssert.JsonAsync(login, HttpStatusCode.OK);
        return (new Member(invited.GetProperty("id").GetGuid(), email, body.GetProperty("accessToken").GetString()!, RefreshCookie(accepted)), RefreshCookie(login));
    }

    [Fact]
    public async Task A_disabled_user_is_refused_at_once_loses_every_session_and_can_be_restored()
    {
        var owner = await fixture.CreateTenantAsync();
        var bystander = await fixture.CreateTenantAsync();
        var (member, secondCookie) = await InviteAndSignInAsync(owner, Roles.Marketer);
        using var memberClient = fixture.WithBearer(member.AccessToken);
        using var ownerClient = owner.Client();
        using var bystanderClient = bystander.Client();
        Assert.Equal(HttpStatusCode.OK, (await memberClient.GetAsync("/v1/contacts")).StatusCode);

        var byOtherTenant = await bystanderClient.PatchAsJsonAsync($"/v1/users/{member.Id}", new { disabled = true });
        var disabled = await ownerClient.PatchAsJsonAsync($"/v1/users/{member.Id}", new { disabled = true });
        var afterDisable = await memberClient.GetAsync("/v1/contacts");
        var firstRefresh = await RefreshAsync(member.RefreshCookie);
        var secondRefresh = await RefreshAsync(secondCookie);
        var login = await LoginAsync(member.Email);
        var disableSelf = await ownerClient.PatchAsJsonAsync($"/v1/users/{owner.UserId}", new { disabled = true });

        await HttpAssert.ProblemAsync(byOtherTenant, HttpStatusCode.NotFound);
        Assert.Equal("disabled", (await HttpAssert.JsonAsync(disabled, HttpStatusCode.OK)).GetProperty("status").GetString());
        await HttpAssert.ProblemAsync(afterDisable, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(firstRefresh, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(secondRefresh, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(login, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(disableSelf, HttpStatusCode.Conflict, "disabled");
        Assert.Equal(HttpStatusCode.OK, (await bystanderClient.GetAsync("/v1/contacts")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ownerClient.GetAsync("/v1/contacts")).StatusCode);

        var restored = await ownerClient.PatchAsJsonAsync($"/v1/users/{member.Id}", new { disabled = false });
        Assert.Equal("active", (await HttpAssert.JsonAsync(restored, HttpStatusCode.OK)).GetProperty("status").GetString());
        var again = await HttpAssert.JsonAsync(await LoginAsync(member.Email), HttpStatusCode.OK);
        using var againClient = fixture.WithBearer(again.GetProperty("accessToken").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await againClient.GetAsync("/v1/contacts")).StatusCode);
        await HttpAssert.ProblemAsync(await memberClient.GetAsync("/v1/contacts"), HttpStatusCode.Unauthorized);
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM audit_log WHERE organization_id = @org AND action = 'user.disabled'", ("org", owner.OrganizationId)));
    }

    [Fact]
    public async Task A_removed_user_is_refused_at_once_and_nobody_removes_themselves_or_an_owner_without_being_one()
    {
        var owner = await fixture.CreateTenantAsync();
        var bystander = await fixture.CreateTenantAsync();
        var (member, _) = await InviteAndSignInAsync(owner, Roles.Admin);
        var (other, _) = await InviteAndSignInAsync(owner, Roles.Viewer);
        using var memberClient = fixture.WithBearer(member.AccessToken);
        using var ownerClient = owner.Client();
        using var bystanderClient = bystander.Client();

        var byOtherTenant = await bystanderClient.DeleteAsync($"/v1/users/{other.Id}");
        var adminRemovesOwner = await memberClient.DeleteAsync($"/v1/users/{owner.UserId}");
        var adminDisablesOwner = await memberClient.PatchAsJsonAsync($"/v1/users/{owner.UserId}", new { disabled = true });
        var removeSelf = await ownerClient.DeleteAsync($"/v1/users/{owner.UserId}");
        var removed = await ownerClient.DeleteAsync($"/v1/users/{member.Id}");
        var afterRemoval = await memberClient.GetAsync("/v1/users");
        var refresh = await RefreshAsync(member.RefreshCookie);
        var login = await LoginAsync(member.Email);
        var lookup = await ownerClient.GetAsync($"/v1/users/{member.Id}");

        await HttpAssert.ProblemAsync(byOtherTenant, HttpStatusCode.NotFound);
        await HttpAssert.ProblemAsync(adminRemovesOwner, HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(adminDisablesOwner, HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(removeSelf, HttpStatusCode.Conflict, "id");
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        await HttpAssert.ProblemAsync(afterRemoval, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(refresh, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(login, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(lookup, HttpStatusCode.NotFound);
        using var otherClient = fixture.WithBearer(other.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await otherClient.GetAsync("/v1/contacts")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bystanderClient.GetAsync("/v1/users")).StatusCode);
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM audit_log WHERE organization_id = @org AND action = 'user.removed'", ("org", owner.OrganizationId)));
    }

    [Fact]
    public async Task A_session_ends_at_its_absolute_lifetime_however_often_it_rotated()
    {
        using var anonymous = fixture.Anonymous();
        var email = $"session-{Guid.NewGuid():N}@example.test";
        var signup = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Long session", email, password = Password });
        var userId = (await HttpAssert.JsonAsync(signup, HttpStatusCode.Created)).GetProperty("user").GetProperty("id").GetGuid();
        var cookie = RefreshCookie(signup);
        for (var i = 0; i < 3; i++)
        {
            var rotated = await RefreshAsync(cookie);
            await HttpAssert.JsonAsync(rotated, HttpStatusCode.OK);
            cookie = RefreshCookie(rotated);
        }

        Assert.True(await fixture.ScalarAsync(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = @user AND expires_at > (SELECT min(issued_at) FROM refresh_tokens WHERE user_id = @user) + interval '30 days'",
            ("user", userId)) == 0, "a rotated token outlives the session's absolute lifetime");

        // The session started 31 days ago and was kept alive by rotation: its current token is unexpired and unused.
        await fixture.ExecuteAsync("UPDATE refresh_tokens SET issued_at = issued_at - interval '31 days' WHERE user_id = @user", ("user", userId));
        var late = await RefreshAsync(cookie);

        await HttpAssert.ProblemAsync(late, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await RefreshAsync(cookie), HttpStatusCode.Unauthorized);
        await HttpAssert.JsonAsync(await LoginAsync(email), HttpStatusCode.OK);
    }

    // Finding 10: nobody proved the address they signed up with, and a forgotten password had no way back.
    private string OutboxPath => fixture.Factory.Services.GetRequiredService<DeliveryOptions>().OutboxPath;

    /// <summary>The token in the newest account message of the kind mailed to the address, read from the outbox's .eml files.</summary>
    private Task<string> MailedTokenAsync(string to, string linkPath, string? notToken = null) => Eventually.WaitAsync(() =>
    {
        var tokens = Directory.Exists(OutboxPath)
            ? Directory.GetFiles(OutboxPath, "*.eml").Order().Select(File.ReadAllText)
                .Where(eml => eml.Contains($"To: {to}\r\n", StringComparison.OrdinalIgnoreCase))
                .Select(eml => Regex.Match(TextPart(eml), Regex.Escape(linkPath) + @"\?token=([A-Za-z0-9_-]+)"))
                .Where(m => m.Success).Select(m => m.Groups[1].Value).Where(t => t != notToken).ToList()
            : [];
        return Task.FromResult(tokens.LastOrDefault());
    }, t => t is not null, TimeSpan.FromSeconds(20), $"a message to {to} with {linkPath}")!;

    private static string TextPart(string eml)
    {
        var start = eml.IndexOf("Content-Type: text/plain", StringComparison.Ordinal);
        var body = eml.IndexOf("\r\n\r\n", start, StringComparison.Ordinal) + 4;
        var end = eml.IndexOf("--", body, StringComparison.Ordinal);
        return Encoding.UTF8.GetString(Convert.FromBase64String(eml[body..end].Replace("\r\n", "", StringComparison.Ordinal)));
    }

    private async Task<(Guid UserId, string AccessToken, string RefreshCookie)> SignUpAsync(string email)
    {
        using var anonymous = fixture.Anonymous();
        var response = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Mailbox", email, password = Password });
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        return (body.GetProperty("user").GetProperty("id").GetGuid(), body.GetProperty("accessToken").GetString()!, RefreshCookie(response));
    }

    [Fact]
    public async Task Sign_up_answers_at_once_and_a_mailed_single_use_link_verifies_the_address()
    {
        var email = $"verify-{Guid.NewGuid():N}@example.test";
        using var anonymous = fixture.Anonymous();
        var signup = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Verify", email, password = Password });
        var body = await HttpAssert.JsonAsync(signup, HttpStatusCode.Created);
        var userId = body.GetProperty("user").GetProperty("id").GetGuid();
        using var client = fixture.WithBearer(body.GetProperty("accessToken").GetString()!);

        var before = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/users/{userId}"), HttpStatusCode.OK);
        var token = await MailedTokenAsync(email, "/v1/auth/verify-email");
        var forged = await anonymous.PostAsJsonAsync("/v1/auth/verify-email", new { token = token + "x" });
        var link = await anonymous.GetAsync($"/v1/auth/verify-email?token={token}");
        var again = await anonymous.GetAsync($"/v1/auth/verify-email?token={token}");
        var againByPost = await anonymous.PostAsJsonAsync("/v1/auth/verify-email", new { token });
        var after = await HttpAssert.JsonAsync(await client.GetAsync($"/v1/users/{userId}"), HttpStatusCode.OK);

        Assert.False(body.GetProperty("user").GetProperty("emailVerified").GetBoolean());
        Assert.False(before.GetProperty("emailVerified").GetBoolean());
        await HttpAssert.ProblemAsync(forged, HttpStatusCode.BadRequest, "token");
        Assert.Equal(HttpStatusCode.OK, link.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        await HttpAssert.ProblemAsync(againByPost, HttpStatusCode.BadRequest, "token");
        Assert.True(after.GetProperty("emailVerified").GetBoolean());
    }

    [Fact]
    public async Task An_address_left_unverified_for_7_days_is_released_to_the_next_sign_up_and_a_verified_one_never()
    {
        var email = $"stale-{Guid.NewGuid():N}@example.test";
        var (squatter, squatterToken, squatterCookie) = await SignUpAsync(email);
        var verified = $"kept-{Guid.NewGuid():N}@example.test";
        var (keeper, keeperToken, _) = await SignUpAsync(verified);
        using var anonymous = fixture.Anonymous();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsJsonAsync("/v1/auth/verify-email", new { token = await MailedTokenAsync(verified, "/v1/auth/verify-email") })).StatusCode);

        var tooEarly = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Owner", email, password = Password });
        await fixture.ExecuteAsync("UPDATE users SET email_unverified_since = email_unverified_since - interval '8 days' WHERE id = ANY(@ids)", ("ids", new[] { squatter, keeper }));
        var taken = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Owner", email, password = Password + "!" });
        var verifiedTaken = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Thief", email = verified, password = Password });
        using var squatterClient = fixture.WithBearer(squatterToken);
        using var keeperClient = fixture.WithBearer(keeperToken);

        await HttpAssert.ProblemAsync(tooEarly, HttpStatusCode.Conflict, "email");
        await HttpAssert.JsonAsync(taken, HttpStatusCode.Created);
        await HttpAssert.ProblemAsync(verifiedTaken, HttpStatusCode.Conflict, "email");
        await HttpAssert.ProblemAsync(await squatterClient.GetAsync("/v1/contacts"), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await RefreshAsync(squatterCookie), HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, (await keeperClient.GetAsync("/v1/contacts")).StatusCode);
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM users WHERE id = @id AND status = 'disabled' AND email LIKE 'released+%'", ("id", squatter)));
        await HttpAssert.JsonAsync(await LoginAsync(email), HttpStatusCode.Unauthorized);
        using var newOwner = fixture.Anonymous();
        await HttpAssert.JsonAsync(await newOwner.PostAsJsonAsync("/v1/auth/login", new { email, password = Password + "!" }), HttpStatusCode.OK);
        Assert.Equal(1, await fixture.ScalarAsync(
            "SELECT count(*) FROM audit_log WHERE action = 'user.email_released' AND @id = ANY(entity_ids)", ("id", squatter.ToString())));
    }

    [Fact]
    public async Task An_invitation_that_expired_unaccepted_no_longer_holds_its_address()
    {
        var owner = await fixture.CreateTenantAsync();
        using var client = owner.Client();
        var email = $"invited-{Guid.NewGuid():N}@example.test";
        var invited = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/users", new { email, role = "viewer" }), HttpStatusCode.Created);
        using var anonymous = fixture.Anonymous();

        var whileValid = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Own", email, password = Password });
        await fixture.ExecuteAsync("UPDATE users SET invite_expires_at = now() - interval '1 minute' WHERE id = @id", ("id", invited.GetProperty("id").GetGuid()));
        var afterExpiry = await anonymous.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Own", email, password = Password });

        await HttpAssert.ProblemAsync(whileValid, HttpStatusCode.Conflict, "email");
        await HttpAssert.JsonAsync(afterExpiry, HttpStatusCode.Created);
        await HttpAssert.ProblemAsync(await client.GetAsync($"/v1/users/{invited.GetProperty("id").GetGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Password_reset_answers_alike_mails_a_single_use_hour_long_link_and_signs_out_every_session()
    {
        var email = $"reset-{Guid.NewGuid():N}@example.test";
        var unknown = $"nobody-{Guid.NewGuid():N}@example.test";
        var (userId, accessToken, cookie) = await SignUpAsync(email);
        var bystander = await fixture.CreateTenantAsync();
        using var anonymous = fixture.Anonymous();

        var forUnknown = await anonymous.PostAsJsonAsync("/v1/auth/password-reset", new { email = unknown });
        var forKnown = await anonymous.PostAsJsonAsync("/v1/auth/password-reset", new { email = email.ToUpperInvariant() });
        var token = await MailedTokenAsync(email, "/reset-password");
        var lifetime = await fixture.ScalarAsync(
            "SELECT extract(epoch FROM expires_at - created_at)::bigint FROM account_tokens WHERE user_id = @user AND purpose = 'reset'", ("user", userId));
        var weak = await anonymous.PostAsJsonAsync("/v1/auth/password-reset/confirm", new { token, password = "short" });
        var confirmed = await anonymous.PostAsJsonAsync("/v1/auth/password-reset/confirm", new { token, password = "a brand new passphrase" });
        var reused = await anonymous.PostAsJsonAsync("/v1/auth/password-reset/confirm", new { token, password = "yet another passphrase" });
        using var oldSession = fixture.WithBearer(accessToken);

        Assert.Equal(HttpStatusCode.Accepted, forUnknown.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, forKnown.StatusCode);
        Assert.Equal(await forUnknown.Content.ReadAsStringAsync(), await forKnown.Content.ReadAsStringAsync());
        Assert.Equal(3600, lifetime);
        await HttpAssert.ProblemAsync(weak, HttpStatusCode.BadRequest, "password");
        Assert.Equal(HttpStatusCode.NoContent, confirmed.StatusCode);
        await HttpAssert.ProblemAsync(reused, HttpStatusCode.BadRequest, "token");
        await HttpAssert.ProblemAsync(await oldSession.GetAsync("/v1/contacts"), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await RefreshAsync(cookie), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await LoginAsync(email), HttpStatusCode.Unauthorized);
        await HttpAssert.JsonAsync(await anonymous.PostAsJsonAsync("/v1/auth/login", new { email, password = "a brand new passphrase" }), HttpStatusCode.OK);
        Assert.DoesNotContain(Directory.GetFiles(OutboxPath, "*.eml"), f => File.ReadAllText(f).Contains(unknown, StringComparison.OrdinalIgnoreCase));
        using var bystanderClient = bystander.Client();
        Assert.Equal(HttpStatusCode.OK, (await bystanderClient.GetAsync("/v1/contacts")).StatusCode);

        // A link past its hour is refused.
        await fixture.ExecuteAsync("UPDATE account_tokens SET created_at = created_at - interval '2 hours', expires_at = expires_at - interval '2 hours' WHERE user_id = @user", ("user", userId));
        await anonymous.PostAsJsonAsync("/v1/auth/password-reset", new { email });
        var late = await MailedTokenAsync(email, "/reset-password", notToken: token);
        await fixture.ExecuteAsync("UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = @user AND used_at IS NULL", ("user", userId));
        await HttpAssert.ProblemAsync(await anonymous.PostAsJsonAsync("/v1/auth/password-reset/confirm", new { token = late, password = "too late passphrase" }), HttpStatusCode.BadRequest, "token");
    }
}
