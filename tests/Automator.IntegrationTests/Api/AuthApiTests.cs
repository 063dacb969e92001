using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Auth;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Automator.IntegrationTests.Api;

[Collection(ApiCollection.Name)]
public sealed class AuthApiTests(ApiFixture fixture)
{
    private const string Password = "correct horse battery staple";

    private static string NewEmail() => $"owner-{Guid.NewGuid():N}@example.test";

    private async Task<(JsonElement Body, string Cookie)> SignupAsync(string email)
    {
        using var client = fixture.Anonymous();
        var response = await client.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Acme", email, password = Password });
        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        return (body, RefreshCookie(response));
    }

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

    [Fact]
    public async Task Signup_creates_an_owner_and_sets_a_strict_refresh_cookie()
    {
        var email = NewEmail();
        using var client = fixture.Anonymous();
        var response = await client.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Acme", email, password = Password, role = "viewer", organizationId = Guid.NewGuid() });

        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
        Assert.Equal("owner", body.GetProperty("user").GetProperty("role").GetString());
        Assert.Equal(900, body.GetProperty("expiresIn").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("accessToken").GetString()));
        var organizationId = body.GetProperty("organization").GetProperty("id").GetGuid();
        Assert.Equal(organizationId, body.GetProperty("user").GetProperty("organizationId").GetGuid());
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(RefreshTokens.CookieName, StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("httponly", cookie);
        Assert.Contains("secure", cookie);
        Assert.Contains("samesite=strict", cookie);
        Assert.Contains("path=/v1/auth", cookie);
        Assert.Contains("max-age=604800", cookie);
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE u.organization_id = @org", ("org", organizationId)));
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM refresh_tokens WHERE token_hash = @raw", ("raw", Encoding.UTF8.GetBytes(RefreshCookie(response)))));
    }

    [Fact]
    public async Task Signup_with_a_taken_email_is_409_naming_email()
    {
        var email = NewEmail();
        await SignupAsync(email);
        using var client = fixture.Anonymous();
        var response = await client.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Other", email = email.ToUpperInvariant(), password = Password });
        await HttpAssert.ProblemAsync(response, HttpStatusCode.Conflict, "email");
    }

    private Task<long> AuditedAsync(Guid userId, string action) => fixture.ScalarAsync(
        "SELECT count(*) FROM audit_log WHERE action = @action AND actor_type = 'user' AND actor_id = @user", ("action", action), ("user", userId));

    private static Guid UserIdOf(JsonElement signup) => signup.GetProperty("user").GetProperty("id").GetGuid();

    [Fact]
    public async Task Login_succeeds_with_the_password_and_is_401_otherwise()
    {
        var email = NewEmail();
        var (signup, _) = await SignupAsync(email);
        using var client = fixture.Anonymous();

        var ok = await client.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });
        var wrong = await client.PostAsJsonAsync("/v1/auth/login", new { email, password = "not the password" });
        var unknown = await client.PostAsJsonAsync("/v1/auth/login", new { email = NewEmail(), password = Password });

        var body = await HttpAssert.JsonAsync(ok, HttpStatusCode.OK);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("accessToken").GetString()));
        Assert.NotEmpty(RefreshCookie(ok));
        await HttpAssert.ProblemAsync(wrong, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(unknown, HttpStatusCode.Unauthorized);
        Assert.Equal(1, await AuditedAsync(UserIdOf(signup), "auth.login"));
        Assert.Equal(1, await AuditedAsync(UserIdOf(signup), "auth.login_failed"));
    }

    [Fact]
    public async Task Login_upgrades_a_hash_made_with_fewer_iterations()
    {
        var email = NewEmail();
        var (body, _) = await SignupAsync(email);
        var userId = body.GetProperty("user").GetProperty("id").GetGuid();
        var weak = new PasswordHasher<object>(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions { IterationCount = 10_000 })).HashPassword(new object(), Password);
        await fixture.ExecuteAsync("UPDATE users SET password_hash = @hash WHERE id = @id", ("hash", weak), ("id", userId));

        using var client = fixture.Anonymous();
        var response = await client.PostAsJsonAsync("/v1/auth/login", new { email, password = Password });

        await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        await using var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var read = new Npgsql.NpgsqlCommand("SELECT password_hash FROM users WHERE id = @id", connection);
        read.Parameters.AddWithValue("id", userId);
        var upgraded = (string)(await read.ExecuteScalarAsync())!;
        Assert.NotEqual(weak, upgraded);
        var bytes = Convert.FromBase64String(upgraded);
        var iterations = (bytes[5] << 24) | (bytes[6] << 16) | (bytes[7] << 8) | bytes[8];
        Assert.True(iterations >= Passwords.Iterations, $"iterations {iterations}");
        Assert.Equal(2, (bytes[1] << 24) | (bytes[2] << 16) | (bytes[3] << 8) | bytes[4]); // HMACSHA512
    }

    [Fact]
    public async Task Refresh_rotates_the_token_at_every_use()
    {
        var (signup, first) = await SignupAsync(NewEmail());

        var response = await RefreshAsync(first);

        var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("accessToken").GetString()));
        var second = RefreshCookie(response);
        Assert.NotEqual(first, second);
        await HttpAssert.JsonAsync(await RefreshAsync(second), HttpStatusCode.OK);
        Assert.Equal(2, await AuditedAsync(UserIdOf(signup), "auth.refresh"));
    }

    [Fact]
    public async Task Reusing_a_rotated_refresh_token_is_401_and_revokes_the_family()
    {
        var (signup, first) = await SignupAsync(NewEmail());
        var second = RefreshCookie(await RefreshAsync(first));

        var reuse = await RefreshAsync(first);
        var afterReuse = await RefreshAsync(second);

        await HttpAssert.ProblemAsync(reuse, HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(afterReuse, HttpStatusCode.Unauthorized);
        Assert.Equal(2, await AuditedAsync(UserIdOf(signup), "auth.refresh_reused"));
    }

    [Fact]
    public async Task Logout_revokes_the_refresh_token()
    {
        var (signup, cookie) = await SignupAsync(NewEmail());
        using var client = fixture.Anonymous();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/auth/logout");
        request.Headers.Add("Cookie", $"{RefreshTokens.CookieName}={cookie}");

        var logout = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, logout.StatusCode);
        await HttpAssert.ProblemAsync(await RefreshAsync(cookie), HttpStatusCode.Unauthorized);
        Assert.Equal(1, await AuditedAsync(UserIdOf(signup), "auth.logout"));
    }

    [Fact]
    public async Task Refresh_without_a_cookie_is_401()
    {
        using var client = fixture.Anonymous();
        await HttpAssert.ProblemAsync(await client.PostAsync("/v1/auth/refresh", null), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await RefreshAsync("not-a-token"), HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string> ForgedTokens => new() { "expired", "other-key", "alg-none", "other-issuer", "other-audience", "garbage" };

    [Theory]
    [MemberData(nameof(ForgedTokens))]
    public async Task Expired_or_resigned_access_tokens_are_401(string kind)
    {
        var tenant = await fixture.CreateTenantAsync();
        var token = Forge(kind, tenant);
        using var client = fixture.WithBearer(token);

        var response = await client.GetAsync("/v1/contacts");

        await HttpAssert.ProblemAsync(response, HttpStatusCode.Unauthorized);
    }

    private static string Forge(string kind, ApiTenant tenant)
    {
        var claims = new Dictionary<string, object>
        {
            [AutomatorClaims.UserId] = tenant.UserId.ToString(),
            [AutomatorClaims.OrganizationId] = tenant.OrganizationId.ToString(),
            [AutomatorClaims.Role] = "owner",
            [AutomatorClaims.ActorType] = "user",
        };
        var now = DateTime.UtcNow;
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(kind == "other-key" ? "another-signing-key-that-is-long-enough-0123456789" : "integration-tests-signing-key-0123456789abcdef0123456789"));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = kind == "other-issuer" ? "evil" : "automator",
            Audience = kind == "other-audience" ? "evil" : "automator-api",
            Claims = claims,
            IssuedAt = kind == "expired" ? now.AddHours(-2) : now,
            NotBefore = kind == "expired" ? now.AddHours(-2) : now,
            Expires = kind == "expired" ? now.AddHours(-1) : now.AddMinutes(10),
            SigningCredentials = kind == "alg-none" ? null : new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        };
        if (kind == "garbage")
        {
            return "not.a.jwt";
        }

        var handler = new JsonWebTokenHandler();
        var token = handler.CreateToken(descriptor);
        if (kind == "alg-none")
        {
            Assert.EndsWith(".", token);
        }

        return token;
    }

    [Fact]
    public async Task Requests_without_credentials_are_401()
    {
        using var client = fixture.Anonymous();
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/contacts"), HttpStatusCode.Unauthorized);
        using var badKey = fixture.WithKey("ak_unknown");
        await HttpAssert.ProblemAsync(await badKey.GetAsync("/v1/contacts"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task A_viewer_can_read_but_not_write()
    {
        var owner = await fixture.CreateTenantAsync();
        var viewer = await fixture.CreateTenantAsync(Roles.Viewer);
        using var client = viewer.Client();

        await HttpAssert.JsonAsync(await client.GetAsync("/v1/contacts"), HttpStatusCode.OK);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/contacts", new { email = "x@example.test" }), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/lists", new { name = "l" }), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/api-keys", new { name = "k", scopes = new[] { "contacts:read" } }), HttpStatusCode.Forbidden);
        Assert.Equal(0, await fixture.ScalarAsync("SELECT count(*) FROM contacts WHERE organization_id = @org", ("org", viewer.OrganizationId)));
        Assert.NotEqual(owner.OrganizationId, viewer.OrganizationId);
    }

    [Fact]
    public async Task A_marketer_cannot_manage_users_or_keys()
    {
        var marketer = await fixture.CreateTenantAsync(Roles.Marketer);
        using var client = marketer.Client();

        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email = $"m-{Guid.NewGuid():N}@example.test" }), HttpStatusCode.Created);
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/users", new { email = "new@example.test", role = "viewer" }), HttpStatusCode.Forbidden);
        await HttpAssert.ProblemAsync(await client.GetAsync("/v1/api-keys"), HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// POST /v1/events belongs to the journey work; the scope check is the same policy mechanism, exercised here on
    /// contacts: a key without contacts:write cannot write contacts, a key with it can.
    /// </summary>
    [Fact]
    public async Task A_key_without_the_scope_is_403_and_with_it_succeeds()
    {
        var tenant = await fixture.CreateTenantAsync();
        var readOnly = await tenant.CreateKeyAsync(Scopes.ContactsRead, Scopes.EventsWrite);
        var writer = await tenant.CreateKeyAsync(Scopes.ContactsWrite);
        using var readClient = fixture.WithKey(readOnly);
        using var writeClient = fixture.WithKey(writer);

        await HttpAssert.ProblemAsync(await readClient.PostAsJsonAsync("/v1/contacts", new { email = "k@example.test" }), HttpStatusCode.Forbidden);
        await HttpAssert.JsonAsync(await readClient.GetAsync("/v1/contacts"), HttpStatusCode.OK);
        await HttpAssert.JsonAsync(await writeClient.PostAsJsonAsync("/v1/contacts", new { email = "k@example.test" }), HttpStatusCode.Created);
        await HttpAssert.ProblemAsync(await writeClient.GetAsync("/v1/contacts"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Api_keys_are_shown_once_listed_without_the_secret_and_revocable()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();

        var created = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/api-keys", new { name = "sender", scopes = new[] { "contacts:write", "events:write" } }), HttpStatusCode.Created);
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetGuid();
        Assert.StartsWith("ak_", key);
        Assert.True(key.Length >= 40);

        var list = await HttpAssert.JsonAsync(await client.GetAsync("/v1/api-keys"), HttpStatusCode.OK);
        var item = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.False(item.TryGetProperty("key", out _));
        Assert.DoesNotContain(key, list.GetRawText());
        Assert.Equal(1, await fixture.ScalarAsync("SELECT count(*) FROM api_keys WHERE id = @id AND key_hash = sha256(convert_to(@key, 'UTF8'))", ("id", id), ("key", key)));

        using var keyClient = fixture.WithKey(key);
        await HttpAssert.JsonAsync(await keyClient.PostAsJsonAsync("/v1/contacts", new { email = "ok@example.test" }), HttpStatusCode.Created);
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/api-keys/{id}")).StatusCode);
        await HttpAssert.ProblemAsync(await keyClient.PostAsJsonAsync("/v1/contacts", new { email = "ok@example.test" }), HttpStatusCode.Unauthorized);
        await HttpAssert.ProblemAsync(await client.DeleteAsync($"/v1/api-keys/{id}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Api_key_with_an_unknown_scope_is_400_naming_it()
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var response = await client.PostAsJsonAsync("/v1/api-keys", new { name = "k", scopes = new[] { "contacts:write", "root" } });
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "scopes[1]");
    }

    [Fact]
    public async Task Invited_user_accepts_and_signs_in_with_the_invited_role()
    {
        var owner = await fixture.CreateTenantAsync();
        using var client = owner.Client();
        var email = NewEmail();

        var invited = await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/users", new { email, role = "marketer", organizationId = Guid.NewGuid() }), HttpStatusCode.Created);
        Assert.Equal("invited", invited.GetProperty("status").GetString());
        Assert.Equal(owner.OrganizationId, invited.GetProperty("organizationId").GetGuid());

        using var anonymous = fixture.Anonymous();
        var accepted = await anonymous.PostAsJsonAsync("/v1/auth/accept-invite", new { token = invited.GetProperty("inviteToken").GetString(), password = Password });
        await HttpAssert.JsonAsync(accepted, HttpStatusCode.OK);
        await HttpAssert.JsonAsync(await anonymous.PostAsJsonAsync("/v1/auth/login", new { email, password = Password }), HttpStatusCode.OK);
        var again = await anonymous.PostAsJsonAsync("/v1/auth/accept-invite", new { token = invited.GetProperty("inviteToken").GetString(), password = Password });
        await HttpAssert.ProblemAsync(again, HttpStatusCode.Unauthorized);

        var users = await HttpAssert.JsonAsync(await client.GetAsync("/v1/users"), HttpStatusCode.OK);
        Assert.Equal(2, users.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Role_changes_are_audited_and_the_last_owner_is_kept()
    {
        var owner = await fixture.CreateTenantAsync();
        using var client = owner.Client();
        var invitedId = (await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/users", new { email = NewEmail(), role = "viewer" }), HttpStatusCode.Created)).GetProperty("id").GetGuid();

        var promoted = await HttpAssert.JsonAsync(await client.PatchAsJsonAsync($"/v1/users/{invitedId}", new { role = "admin" }), HttpStatusCode.OK);
        var demoteSelf = await client.PatchAsJsonAsync($"/v1/users/{owner.UserId}", new { role = "viewer" });
        var badRole = await client.PatchAsJsonAsync($"/v1/users/{invitedId}", new { role = "superuser" });
        var missing = await client.PatchAsJsonAsync($"/v1/users/{Guid.NewGuid()}", new { role = "viewer" });

        Assert.Equal("admin", promoted.GetProperty("role").GetString());
        await HttpAssert.ProblemAsync(demoteSelf, HttpStatusCode.Conflict, "role");
        await HttpAssert.ProblemAsync(badRole, HttpStatusCode.BadRequest, "role");
        await HttpAssert.ProblemAsync(missing, HttpStatusCode.NotFound);
        Assert.Equal(1, await fixture.ScalarAsync(
            "SELECT count(*) FROM audit_log WHERE organization_id = @org AND action = 'user.role_changed' AND actor_id = @actor AND @id = ANY(entity_ids)",
            ("org", owner.OrganizationId), ("actor", owner.UserId), ("id", invitedId.ToString())));
    }

    [Fact]
    public async Task An_admin_cannot_grant_owner()
    {
        var admin = await fixture.CreateTenantAsync(Roles.Admin);
        using var client = admin.Client();
        await HttpAssert.ProblemAsync(await client.PostAsJsonAsync("/v1/users", new { email = NewEmail(), role = "owner" }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Rate_limits_answer_headers_and_429_with_retry_after()
    {
        var settings = ApiFixture.HighLimits;
        settings["Automator:RateLimits:PerApiKey"] = "3";
        settings["Automator:RateLimits:PerOrganization"] = "5";
        var (app, factory) = ApiFixture.Start(fixture.ConnectionString, new RecordingContactSync(), settings);
        await using (app)
        await using (factory)
        {
            var tenant = await fixture.CreateTenantAsync();
            var key = await tenant.CreateKeyAsync(Scopes.ContactsRead);
            using var client = factory.CreateClient();
            client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);

            var statuses = new List<HttpResponseMessage>();
            for (var i = 0; i < 4; i++)
            {
                statuses.Add(await client.GetAsync("/v1/contacts"));
            }

            Assert.All(statuses.Take(3), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
            Assert.Equal("3", statuses[0].Headers.GetValues("RateLimit-Limit").Single());
            Assert.Equal("2", statuses[0].Headers.GetValues("RateLimit-Remaining").Single());
            Assert.True(int.Parse(statuses[0].Headers.GetValues("RateLimit-Reset").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
            var limited = statuses[3];
            await HttpAssert.ProblemAsync(limited, HttpStatusCode.TooManyRequests);
            Assert.True(limited.Headers.RetryAfter is not null);

            // The organization's own budget (5) is shared by its users and keys.
            using var user = factory.CreateClient();
            user.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tenant.AccessToken);
            var userStatuses = new List<HttpStatusCode>();
            for (var i = 0; i < 4; i++)
            {
                userStatuses.Add((await user.GetAsync("/v1/contacts")).StatusCode);
            }

            Assert.Contains(HttpStatusCode.TooManyRequests, userStatuses);
            Assert.True(userStatuses.Count(s => s == HttpStatusCode.OK) <= 2, string.Join(",", userStatuses));
        }
    }

    [Fact]
    public async Task Openapi_document_and_scalar_ui_are_served()
    {
        using var client = fixture.Anonymous();
        var document = await HttpAssert.JsonAsync(await client.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        Assert.True(document.GetProperty("paths").TryGetProperty("/v1/contacts", out _));
        Assert.DoesNotContain(document.GetProperty("paths").EnumerateObject(), p => p.Name.StartsWith("/orleans", StringComparison.Ordinal));
        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("ApiKey").GetProperty("name").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/scalar")).StatusCode);
    }

}
