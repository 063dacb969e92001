using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Automator.WebApi.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.IntegrationTests.Security;

/// <summary>
/// Exploits of the idempotency store (finding 6), the inbound webhook trigger (finding 9) and the live hub (finding 13), each attempted as a
/// tenant or anonymously; afterwards the process still serves and another tenant's data is as it was.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class AttackBatteryEdgesTests(ApiFixture fixture)
{
    // ---- 6. Secrets in the idempotency store ----

    [Fact]
    public async Task Api_key_creation_replayed_by_idempotency_key_never_reveals_the_key_nor_stores_it()
    {
        var (attacker, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = attacker.Client();
        var key = "key-" + Guid.NewGuid();

        var first = await HttpAssert.JsonAsync(await PostAsync(client, "/v1/api-keys", new { name = "ci", scopes = new[] { "contacts:read" } }, key), HttpStatusCode.Created);
        var secret = first.GetProperty("key").GetString()!;
        var id = first.GetProperty("id").GetGuid();

        var stored = await StoredResponsesAsync(attacker.OrganizationId);
        Assert.NotEmpty(stored);
        Assert.All(stored, row => Assert.DoesNotContain(secret, row, StringComparison.Ordinal));
        Assert.All(stored, row => Assert.DoesNotContain(secret[10..], row, StringComparison.Ordinal));

        var replay = await PostAsync(client, "/v1/api-keys", new { name = "ci", scopes = new[] { "contacts:read" } }, key);
        var body = await replay.Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
        var problem = await HttpAssert.ProblemAsync(replay, HttpStatusCode.Conflict, IdempotencyFilter.HeaderName);
        Assert.Equal(id, problem.GetProperty("resourceId").GetGuid());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());

        // The one key that exists still works; no second key was made by the replay.
        using var keyed = fixture.WithKey(secret);
        Assert.Equal(HttpStatusCode.OK, (await keyed.GetAsync("/v1/contacts")).StatusCode);
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM api_keys WHERE organization_id = @org", ("org", attacker.OrganizationId)));
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Invitation_replayed_by_idempotency_key_never_reveals_its_token()
    {
        var (admin, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = admin.Client();
        var key = "invite-" + Guid.NewGuid();
        var email = $"invited-{Guid.NewGuid():N}@example.test";

        var first = await HttpAssert.JsonAsync(await PostAsync(client, "/v1/users", new { email, role = "viewer" }, key), HttpStatusCode.Created);
        var token = first.GetProperty("inviteToken").GetString()!;
        Assert.All(await StoredResponsesAsync(admin.OrganizationId), row => Assert.DoesNotContain(token, row, StringComparison.Ordinal));

        var replay = await PostAsync(client, "/v1/users", new { email, role = "viewer" }, key);
        Assert.DoesNotContain(token, await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await HttpAssert.ProblemAsync(replay, HttpStatusCode.Conflict, IdempotencyFilter.HeaderName);
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Contact_created_with_idempotency_key_leaves_no_clear_name_in_the_store_and_a_replay_reads_it_again()
    {
        var (tenant, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = tenant.Client();
        var key = "contact-" + Guid.NewGuid();
        var firstName = "Zelda" + Guid.NewGuid().ToString("N")[..10];
        var email = $"idem-{Guid.NewGuid():N}@example.test";

        var created = await HttpAssert.JsonAsync(await PostAsync(client, "/v1/contacts", new { email, firstName }, key), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetGuid();
        var stored = await StoredResponsesAsync(tenant.OrganizationId);
        Assert.NotEmpty(stored);
        Assert.All(stored, row => Assert.DoesNotContain(firstName, row, StringComparison.Ordinal));

        // The replay answers the contact as it is now, read again (and decrypted) rather than from the store.
        Assert.Equal(HttpStatusCode.OK, (await client.PatchAsJsonAsync($"/v1/contacts/{id}", new { lastName = "Later" })).StatusCode);
        var replay = await PostAsync(client, "/v1/contacts", new { email, firstName }, key);
        var replayed = await HttpAssert.JsonAsync(replay, HttpStatusCode.Created);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(id, replayed.GetProperty("id").GetGuid());
        Assert.Equal(firstName, replayed.GetProperty("firstName").GetString());
        Assert.Equal("Later", replayed.GetProperty("lastName").GetString());
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Stored_idempotent_responses_older_than_a_day_are_purged_and_newer_ones_kept()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var recent = "recent-" + Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Created, (await PostAsync(client, "/v1/lists", new { name = "recent" }, recent)).StatusCode);
        await fixture.ExecuteAsync("""
            INSERT INTO idempotency_keys (organization_id, scope, key, response, created_at)
            SELECT @org, 'POST /v1/lists/', 'old-' || g, '{"status":201}', now() - interval '25 hours' FROM generate_series(1, 30) g
            """, ("org", tenant.OrganizationId));

        var sweeper = fixture.Factory.Services.GetRequiredService<IdempotencySweeper>();
        Assert.True(await sweeper.SweepAsync() >= 30);

        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE organization_id = @org AND key LIKE 'old-%'", ("org", tenant.OrganizationId)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE organization_id = @org AND key = @key", ("org", tenant.OrganizationId), ("key", recent)));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"));
    }

    // ---- 9. Inbound webhook trigger ----

    [Fact]
    public async Task Webhook_secret_is_shown_at_creation_only_and_never_read_back()
    {
        var (tenant, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = tenant.Client();
        var (id, secret) = await CreateWebhookWorkflowAsync(client);
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);

        var read = await (await client.GetAsync($"/v1/workflows/{id}")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, read, StringComparison.Ordinal);
        Assert.DoesNotContain("\"secret\"", read, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await (await client.GetAsync("/v1/workflows")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A draft saved as read back (without the secret, as the canvas does) keeps the trigger's secret.
        var draft = JsonDocument.Parse(read).RootElement;
        var put = await client.PutAsync($"/v1/workflows/{id}", HttpAssert.Raw(draft.GetRawText()));
        var putBody = await HttpAssert.JsonAsync(put, HttpStatusCode.OK);
        Assert.DoesNotContain(secret, putBody.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await SendHookAsync(tenant.OrganizationId, id, secret, HookBody())).StatusCode);

        // Nowhere at rest in clear either: not in the workflow's stored state, not in the secret table.
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM workflow_webhook_secrets WHERE secret LIKE '%' || @s || '%'", ("s", secret)));
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM workflow_webhook_secrets WHERE workflow_id = @id", ("id", id)));

        // Another tenant cannot read it either.
        using var other = bystander.Tenant.Client();
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/workflows/{id}")).StatusCode);
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Rotating_the_webhook_secret_shows_the_new_one_once_and_retires_the_old()
    {
        var (tenant, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = tenant.Client();
        var (id, old) = await CreateWebhookWorkflowAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);

        // Another tenant cannot rotate it, nor can a viewer.
        using (var other = bystander.Tenant.Client())
        {
            Assert.Equal(HttpStatusCode.NotFound, (await other.PostAsync($"/v1/workflows/{id}/webhook-secret/rotate", null)).StatusCode);
        }

        var rotated = await HttpAssert.JsonAsync(await client.PostAsync($"/v1/workflows/{id}/webhook-secret/rotate", null), HttpStatusCode.OK);
        var fresh = rotated.GetProperty("secret").GetString()!;
        Assert.NotEqual(old, fresh);
        Assert.DoesNotContain(fresh, await (await client.GetAsync($"/v1/workflows/{id}")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendHookAsync(tenant.OrganizationId, id, old, HookBody())).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await SendHookAsync(tenant.OrganizationId, id, fresh, HookBody())).StatusCode);

        // A workflow with another trigger has no webhook secret to rotate.
        var templateId = await tenant.CreateAsync("/v1/templates", new { name = "t", subject = "Hi", html = "<p>Hi</p>" });
        var eventWorkflow = await tenant.CreateAsync("/v1/workflows", new { name = "ev", trigger = new { type = "event", @event = "x" }, start = "s", steps = new object[] { new { id = "s", type = "send", templateId } } });
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/v1/workflows/{eventWorkflow}/webhook-secret/rotate", null)).StatusCode);
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Webhook_request_replayed_after_five_minutes_or_without_a_timestamp_is_refused_and_records_nothing()
    {
        var (tenant, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        using var client = tenant.Client();
        var (id, secret) = await CreateWebhookWorkflowAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        var email = $"late-{Guid.NewGuid():N}@example.test";
        var body = HookBody(email);

        var stale = DateTimeOffset.UtcNow.AddMinutes(-6);
        await HttpAssert.ProblemAsync(await SendHookAsync(tenant.OrganizationId, id, secret, body, stale), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await SendHookAsync(tenant.OrganizationId, id, secret, body, DateTimeOffset.UtcNow.AddMinutes(6)), HttpStatusCode.Unauthorized);

        // The signature of the old scheme (body alone, no timestamp) no longer passes.
        using var anonymous = fixture.Anonymous();
        var legacy = new HttpRequestMessage(HttpMethod.Post, $"/hooks/workflows/{tenant.OrganizationId}/{id}") { Content = HttpAssert.Raw(body) };
        legacy.Headers.Add(WorkflowWebhookEndpoints.SignatureHeader, "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(legacy)).StatusCode);

        // A signed request sent to another organization's path finds nothing there.
        Assert.Equal(HttpStatusCode.NotFound, (await SendHookAsync(bystander.Tenant.OrganizationId, id, secret, body)).StatusCode);

        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org AND email = @email", ("org", tenant.OrganizationId), ("email", email)));
        await bystander.AssertUntouchedAsync();
    }

    [Theory]
    [InlineData("""{ "email": "not-an-email" }""", "email")]
    [InlineData("""{ "email": 42 }""", "email")]
    [InlineData("""{ "email": "a@b\u0000c.test" }""", "email")]
    [InlineData("""{ }""", "email")]
    [InlineData("""{ "contactId": "00000000-0000-0000-0000-000000000001" }""", "contactId")]
    [InlineData("""{ "email": "ok@example.test", "properties": [1] }""", "properties")]
    [InlineData("""[1, 2]""", "body")]
    public async Task Webhook_body_with_a_bad_email_is_400_naming_the_field(string body, string field)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var (id, secret) = await CreateWebhookWorkflowAsync(client);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/v1/workflows/{id}/activate", null)).StatusCode);
        await HttpAssert.ProblemAsync(await SendHookAsync(tenant.OrganizationId, id, secret, body), HttpStatusCode.BadRequest, field);
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", tenant.OrganizationId)));
    }

    // ---- 13. Live hub ----

    [Fact]
    public async Task Live_hub_refuses_an_api_key_whatever_its_scopes()
    {
        var (tenant, bystander) = (await fixture.CreateTenantAsync(), await Bystander.CreateAsync(fixture));
        var key = await tenant.CreateKeyAsync("workflows:read", "contacts:read", "sends:read");

        using var withHeader = fixture.WithKey(key);
        Assert.Equal(HttpStatusCode.Unauthorized, (await withHeader.PostAsync("/hubs/live/negotiate?negotiateVersion=1", null)).StatusCode);
        using var anonymous = fixture.Anonymous();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"/hubs/live/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(key)}", null)).StatusCode);
        await using var connection = HubConnectionTo(key);
        await Assert.ThrowsAnyAsync<Exception>(() => connection.StartAsync());
        Assert.Equal(HubConnectionState.Disconnected, connection.State);

        // A user's token does connect.
        await using var user = HubConnectionTo(tenant.AccessToken);
        await user.StartAsync();
        Assert.Equal(HubConnectionState.Connected, user.State);
        await bystander.AssertUntouchedAsync();
    }

    [Fact]
    public async Task Live_hub_refuses_a_token_whose_role_cannot_read_workflows()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (token, _) = fixture.Factory.Services.GetRequiredService<AccessTokens>().Issue(tenant.UserId, tenant.OrganizationId, "guest");
        using var anonymous = fixture.Anonymous();
        var response = await anonymous.PostAsync($"/hubs/live/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}", null);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Live_hub_connection_is_closed_when_its_access_token_expires()
    {
        var tenant = await fixture.CreateTenantAsync();
        var (token, _) = fixture.Factory.Services.GetRequiredService<AccessTokens>().Issue(tenant.UserId, tenant.OrganizationId, "viewer", TimeSpan.FromSeconds(3));
        await using var connection = HubConnectionTo(token);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += _ =>
        {
            closed.TrySetResult();
            return Task.CompletedTask;
        };
        await connection.StartAsync();
        Assert.Equal(HubConnectionState.Connected, connection.State);

        // The server ends the connection once the token's expiry has passed (checked about once a second).
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HubConnectionState.Disconnected, connection.State);

        // A client that signs in again gets a token that connects.
        using var anonymous = fixture.Anonymous();
        var fresh = await anonymous.PostAsync($"/hubs/live/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(tenant.AccessToken)}", null);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
    }

    private HubConnection HubConnectionTo(string accessToken)
    {
        var server = fixture.Factory.Server;
        return new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, $"hubs/live?access_token={Uri.EscapeDataString(accessToken)}"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                o.WebSocketFactory = async (context, cancellationToken) => await server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
            })
            .Build();
    }

    private static async Task<(Guid Id, string Secret)> CreateWebhookWorkflowAsync(HttpClient client)
    {
        var response = await client.PostAsync("/v1/workflows", HttpAssert.Raw("""
            { "name": "Hooked", "trigger": { "type": "webhook" }, "start": "wait", "steps": [ { "id": "wait", "type": "delay", "duration": "P1D" } ] }
            """));
        var created = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        return (created.GetProperty("id").GetGuid(), created.GetProperty("trigger").GetProperty("secret").GetString()!);
    }

    private static string HookBody(string? email = null) =>
        $$"""{ "email": "{{email ?? $"hook-{Guid.NewGuid():N}@example.test"}}", "properties": { "source": "crm" } }""";

    private async Task<HttpResponseMessage> SendHookAsync(Guid organizationId, Guid workflowId, string secret, string body, DateTimeOffset? at = null)
    {
        using var anonymous = fixture.Anonymous();
        var seconds = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, $"/hooks/workflows/{organizationId}/{workflowId}") { Content = HttpAssert.Raw(body) };
        request.Headers.Add(WorkflowWebhookEndpoints.TimestampHeader, seconds.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WorkflowWebhookEndpoints.SignatureHeader, WorkflowWebhookEndpoints.Sign(secret, seconds, body));
        var response = await anonymous.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string path, object body, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add(IdempotencyFilter.HeaderName, idempotencyKey);
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private async Task<List<string>> StoredResponsesAsync(Guid organizationId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT coalesce(response::text, '') || ' ' || key || ' ' || scope FROM idempotency_keys WHERE organization_id = @org", connection);
        command.Parameters.AddWithValue("org", organizationId);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }
}

/// <summary>Another tenant with a contact and a workflow, checked unchanged after an attack, and the process still serving.</summary>
public sealed record Bystander(ApiTenant Tenant, Guid ContactId, string Contact, Guid WorkflowId, string Workflow)
{
    public static async Task<Bystander> CreateAsync(ApiFixture fixture)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = await tenant.CreateContactAsync();
        var contactId = contact.GetProperty("id").GetGuid();
        var templateId = await tenant.CreateAsync("/v1/templates", new { name = "b", subject = "Hi", html = "<p>Hi</p>" });
        var workflowId = await tenant.CreateAsync("/v1/workflows", new { name = "b", trigger = new { type = "event", @event = "b" }, start = "s", steps = new object[] { new { id = "s", type = "send", templateId } } });
        return new Bystander(tenant, contactId, await client.GetStringAsync($"/v1/contacts/{contactId}"), workflowId, await client.GetStringAsync($"/v1/workflows/{workflowId}"));
    }

    public async Task AssertUntouchedAsync()
    {
        using var client = Tenant.Client();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(Contact, await client.GetStringAsync($"/v1/contacts/{ContactId}"));
        Assert.Equal(Workflow, await client.GetStringAsync($"/v1/workflows/{WorkflowId}"));
    }
}

/// <summary>
/// One system behind a reverse proxy at 10.9.0.1 and proxies in 10.8.0.0/16, with small per-address limits and a
/// long login lockout. Requests name the network peer they come from with <see cref="PeerHeader"/> (the test server
/// has no sockets); each test uses addresses of its own.
/// </summary>
public sealed class ProxiedAppFixture : IAsyncLifetime
{
    public const string PeerHeader = "X-Test-Peer";
    public const int AnonymousLimit = 5;
    public const int RouteLimit = 3;

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    private AutomatorApp? _app;

    public async Task InitializeAsync()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("edges");
        _app = new AutomatorApp(connectionString, "edges-" + Guid.NewGuid().ToString("N")[..6], new Dictionary<string, string?>
        {
            ["Automator:Http:KnownProxies:0"] = "10.9.0.1",
            ["Automator:Http:KnownNetworks:0"] = "10.8.0.0/16",
            ["Automator:RateLimits:PerAnonymousClient"] = AnonymousLimit.ToString(CultureInfo.InvariantCulture),
            ["Automator:RateLimits:SignInPerAddress"] = AnonymousLimit.ToString(CultureInfo.InvariantCulture),
            ["Automator:RateLimits:HooksPerAddress"] = RouteLimit.ToString(CultureInfo.InvariantCulture),
            ["Automator:RateLimits:TrackingPerAddress"] = RouteLimit.ToString(CultureInfo.InvariantCulture),
            ["Automator:RateLimits:ProviderWebhooksPerAddress"] = RouteLimit.ToString(CultureInfo.InvariantCulture),
            ["Automator:RateLimits:Window"] = "01:00:00",
            ["Automator:RateLimits:Login:BaseLockout"] = "00:10:00",
        });
        Factory = _app.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddTransient<IStartupFilter, TestPeerStartupFilter>()));
        _ = Factory.Server;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Sends a request as if from <paramref name="peer"/>, optionally with an <c>X-Forwarded-For</c> header.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string peer, string? forwardedFor = null, object? body = null)
    {
        using var client = Factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add(PeerHeader, peer);
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private sealed class TestPeerStartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, following) =>
            {
                if (IPAddress.TryParse(context.Request.Headers[PeerHeader].ToString(), out var peer))
                {
                    context.Connection.RemoteIpAddress = peer;
                }

                return following(context);
            });
            next(app);
        };
    }
}

/// <summary>Finding 5: rate limits behind a proxy, login back-off per account, invitation checked first, anonymous routes limited.</summary>
public sealed class RateLimitEdgesTests(ProxiedAppFixture fixture) : IClassFixture<ProxiedAppFixture>
{
    private static int _next;

    /// <summary>A client address no other test uses.</summary>
    private static string Address()
    {
        var n = Interlocked.Increment(ref _next);
        return $"198.51.{n / 250}.{n % 250 + 1}";
    }

    [Fact]
    public async Task Clients_behind_a_configured_proxy_are_limited_each_in_their_own_bucket()
    {
        var (first, second) = (Address(), Address());
        for (var i = 0; i < ProxiedAppFixture.AnonymousLimit; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", first)).StatusCode);
        }

        var limited = await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", first);
        await HttpAssert.ProblemAsync(limited, HttpStatusCode.TooManyRequests);
        Assert.True(limited.Headers.RetryAfter is not null);

        // Another client through the same proxy, or through a proxy of the known network, is not held back.
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", second)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.8.44.7", "203.0.113.9, " + Address())).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(HttpMethod.Get, "/health/live", "10.9.0.1", first)).StatusCode);
    }

    [Fact]
    public async Task Addresses_of_one_ipv6_block_share_a_bucket()
    {
        var block = $"2001:db8:{Interlocked.Increment(ref _next):x}:1";
        for (var i = 0; i < ProxiedAppFixture.AnonymousLimit; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", $"{block}::{i + 1:x}")).StatusCode);
        }

        await HttpAssert.ProblemAsync(await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", $"{block}:ffff::1"), HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", "10.9.0.1", $"2001:db8:{Interlocked.Increment(ref _next):x}:2::1")).StatusCode);
    }

    [Fact]
    public async Task Forwarded_address_from_an_unconfigured_peer_is_ignored()
    {
        var peer = Address();
        for (var i = 0; i < ProxiedAppFixture.AnonymousLimit; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", peer, Address())).StatusCode);
        }

        // A fresh X-Forwarded-For per request does not buy a fresh bucket.
        await HttpAssert.ProblemAsync(await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", peer, Address()), HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/refresh", Address())).StatusCode);
    }

    [Fact]
    public async Task Repeated_bad_logins_lock_the_account_from_every_address_and_unknown_accounts_answer_alike()
    {
        var email = $"owner-{Guid.NewGuid():N}@example.test";
        const string Password = "correct horse battery";
        Assert.Equal(HttpStatusCode.Created, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/signup", "10.9.0.1", Address(), new { organizationName = "Locked", email, password = Password })).StatusCode);

        foreach (var account in new[] { email, $"nobody-{Guid.NewGuid():N}@example.test" })
        {
            for (var i = 0; i < 5; i++)
            {
                var wrong = await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", "10.9.0.1", Address(), new { email = account, password = "wrong password " + i });
                await HttpAssert.ProblemAsync(wrong, HttpStatusCode.Unauthorized);
            }

            // Even the right password, from an address never seen, waits now.
            var locked = await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", "10.9.0.1", Address(), new { email = account.ToUpperInvariant(), password = Password });
            var problem = await HttpAssert.ProblemAsync(locked, HttpStatusCode.TooManyRequests);
            Assert.True(locked.Headers.RetryAfter?.Delta >= TimeSpan.FromMinutes(9), $"Retry-After {locked.Headers.RetryAfter}");
            Assert.Equal("Too many failed sign-in attempts.", problem.GetProperty("title").GetString());
        }

        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(HttpMethod.Get, "/health/live", Address())).StatusCode);
    }

    [Fact]
    public async Task A_successful_login_clears_the_failures_before_the_lockout()
    {
        var email = $"owner-{Guid.NewGuid():N}@example.test";
        const string Password = "correct horse battery";
        Assert.Equal(HttpStatusCode.Created, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/signup", Address(), body: new { organizationName = "Reset", email, password = Password })).StatusCode);
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", Address(), body: new { email, password = "wrong password" })).StatusCode);
            }

            Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", Address(), body: new { email, password = Password })).StatusCode);
        }
    }

    [Fact]
    public async Task Sign_in_attempts_are_limited_per_address()
    {
        var address = Address();
        for (var i = 0; i < ProxiedAppFixture.AnonymousLimit; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", address, body: new { email = $"spray-{i}-{Guid.NewGuid():N}@example.test", password = "guess guess guess" })).StatusCode);
        }

        await HttpAssert.ProblemAsync(await fixture.SendAsync(HttpMethod.Post, "/v1/auth/login", address, body: new { email = $"spray-{Guid.NewGuid():N}@example.test", password = "guess guess guess" }), HttpStatusCode.TooManyRequests);
    }

    [Fact]
    public async Task An_unknown_invitation_token_is_refused_before_the_password_is_considered()
    {
        // A password the hashing rules would refuse: the token decides first, so the answer is 401, not 400.
        var response = await fixture.SendAsync(HttpMethod.Post, "/v1/auth/accept-invite", Address(), body: new { token = "not-a-real-invitation-token", password = "short" });
        await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized);
        var longPassword = await fixture.SendAsync(HttpMethod.Post, "/v1/auth/accept-invite", Address(), body: new { token = "not-a-real-invitation-token", password = new string('p', 300) });
        await HttpAssert.ProblemAsync(longPassword, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("POST", "/hooks/workflows/{0}/{1}")]
    [InlineData("GET", "/t/o/{0}.gif")]
    [InlineData("GET", "/t/c/{0}")]
    [InlineData("GET", "/u/{0}")]
    [InlineData("POST", "/webhooks/sendgrid")]
    [InlineData("POST", "/webhooks/ses")]
    public async Task Anonymous_routes_outside_the_api_are_limited_per_address(string method, string template)
    {
        var address = Address();
        string Path() => string.Format(CultureInfo.InvariantCulture, template, Guid.NewGuid(), Guid.NewGuid());
        for (var i = 0; i < ProxiedAppFixture.RouteLimit; i++)
        {
            Assert.NotEqual(HttpStatusCode.TooManyRequests, (await fixture.SendAsync(new HttpMethod(method), Path(), "10.9.0.1", address, new { })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await fixture.SendAsync(new HttpMethod(method), Path(), "10.9.0.1", address, new { })).StatusCode);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, (await fixture.SendAsync(new HttpMethod(method), Path(), "10.9.0.1", Address(), new { })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await fixture.SendAsync(HttpMethod.Get, "/health/live", address)).StatusCode);
    }

    [Theory]
    [InlineData(4, null)]
    [InlineData(5, 1)]
    [InlineData(6, 2)]
    [InlineData(9, 16)]
    [InlineData(15, 900)]
    [InlineData(1000, 900)]
    public void Login_back_off_doubles_after_the_free_failures_up_to_fifteen_minutes(int failures, int? seconds)
    {
        Assert.Equal(seconds is { } s ? TimeSpan.FromSeconds(s) : null, Automator.WebApi.Auth.LoginBackoff.LockoutAfter(failures, new LoginLockoutOptions()));
    }
}
