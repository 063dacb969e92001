using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Automator.Contacts;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Contacts;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Automator.IntegrationTests.Api;

/// <summary>
/// One system under test for the API tests: a migrated database, the co-hosted silo and WebApi, and a recording
/// <see cref="IContactSync"/> in place of the contact grains, so the tests can assert each hand-off.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private AutomatorApp? _app;

    public RecordingContactSync Sync { get; } = new();

    public WebApplicationFactory<Program> Factory { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public static Dictionary<string, string?> HighLimits => new()
    {
        ["Automator:RateLimits:PerApiKey"] = "1000000",
        ["Automator:RateLimits:PerOrganization"] = "1000000",
        ["Automator:RateLimits:PerAnonymousClient"] = "1000000",
        ["Automator:RateLimits:SignInPerAddress"] = "1000000",
        ["Automator:RateLimits:HooksPerAddress"] = "1000000",
        ["Automator:RateLimits:TrackingPerAddress"] = "1000000",
        ["Automator:RateLimits:ProviderWebhooksPerAddress"] = "1000000",
    };

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedPostgres.CreateMigratedDatabaseAsync("api");
        (_app, Factory) = Start(ConnectionString, Sync, HighLimits);
        _ = Factory.Server;
    }

    public static (AutomatorApp App, WebApplicationFactory<Program> Factory) Start(string connectionString, IContactSync sync, Dictionary<string, string?> settings)
    {
        var app = new AutomatorApp(connectionString, "api-" + Guid.NewGuid().ToString("N")[..6], settings);
        var factory = app.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.AddSingleton(sync)));
        return (app, factory);
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>A fresh organization with one active user of the role, signed in (token issued directly).</summary>
    public async Task<ApiTenant> CreateTenantAsync(string role = Roles.Owner)
    {
        var organizationId = Guid.CreateVersion7();
        var userId = Guid.CreateVersion7();
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                INSERT INTO organizations (id, name) VALUES (@org, @name);
                INSERT INTO users (id, organization_id, email, role) VALUES (@user, @org, @email, @role);
                """, connection);
            command.Parameters.AddWithValue("org", organizationId);
            command.Parameters.AddWithValue("name", "Org " + organizationId.ToString("N")[..8]);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("email", $"user-{userId:N}@example.test");
            command.Parameters.AddWithValue("role", role);
            await command.ExecuteNonQueryAsync();
        }

        var (token, _) = Factory.Services.GetRequiredService<AccessTokens>().Issue(userId, organizationId, role);
        return new ApiTenant(this, organizationId, userId, role, token);
    }

    public HttpClient Anonymous() => Factory.CreateClient(new WebApplicationFactoryClientOptions { HandleCookies = false });

    public HttpClient WithBearer(string token)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    public HttpClient WithKey(string key)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, key);
        return client;
    }

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

    public async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ApiCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}

public sealed record ApiTenant(ApiFixture Fixture, Guid OrganizationId, Guid UserId, string Role, string AccessToken)
{
    public HttpClient Client() => Fixture.WithBearer(AccessToken);

    public async Task<string> CreateKeyAsync(params string[] scopes)
    {
        using var client = Client();
        var response = await client.PostAsJsonAsync("/v1/api-keys", new { name = "test key", scopes });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    }

    public async Task<JsonElement> CreateContactAsync(string? email = null, object? properties = null)
    {
        using var client = Client();
        var response = await client.PostAsJsonAsync("/v1/contacts", new { email = email ?? $"c-{Guid.NewGuid():N}@example.test", firstName = "Ada", properties = properties ?? new { plan = "free" } });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<Guid> CreateAsync(string path, object body)
    {
        using var client = Client();
        var response = await client.PostAsJsonAsync(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid();
    }
}

/// <summary>Records what the API told the contact grains.</summary>
public sealed class RecordingContactSync : IContactSync
{
    public ConcurrentQueue<ContactProfile> Profiles { get; } = new();

    public ConcurrentQueue<(Guid OrganizationId, Guid ListId, Guid ContactId)> ListJoins { get; } = new();

    public ConcurrentQueue<(Guid OrganizationId, Guid SegmentId, Guid ContactId, bool Entered)> SegmentChanges { get; } = new();

    public ConcurrentQueue<(Guid OrganizationId, Guid ContactId)> Erasures { get; } = new();

    public Task ProfileChangedAsync(IReadOnlyList<ContactProfile> profiles, CancellationToken cancellationToken = default)
    {
        foreach (var profile in profiles)
        {
            Profiles.Enqueue(profile);
        }

        return Task.CompletedTask;
    }

    public Task ListJoinedAsync(Guid organizationId, Guid listId, IReadOnlyList<Guid> contactIds, CancellationToken cancellationToken = default)
    {
        foreach (var id in contactIds)
        {
            ListJoins.Enqueue((organizationId, listId, id));
        }

        return Task.CompletedTask;
    }

    public Task SegmentChangedAsync(Guid organizationId, Guid segmentId, IReadOnlyList<(Guid ContactId, bool Entered)> changes, CancellationToken cancellationToken = default)
    {
        foreach (var (contactId, entered) in changes)
        {
            SegmentChanges.Enqueue((organizationId, segmentId, contactId, entered));
        }

        return Task.CompletedTask;
    }

    public Task ErasedAsync(Guid organizationId, Guid contactId, CancellationToken cancellationToken = default)
    {
        Erasures.Enqueue((organizationId, contactId));
        return Task.CompletedTask;
    }
}

public static class HttpAssert
{
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        if (field is not null)
        {
            Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"no error for '{field}' in {body}");
        }

        return problem;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    public static StringContent Raw(string body, string contentType = "application/json") => new(body, Encoding.UTF8, contentType);
}
