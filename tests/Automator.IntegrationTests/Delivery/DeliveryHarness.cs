using System.Net.Http.Json;
using System.Text.Json;
using Automator.Delivery;
using Automator.Delivery.SendLog;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using WireMock.Logging;
using WireMock.RequestBuilders;
using Request = WireMock.RequestBuilders.Request;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Automator.IntegrationTests.Delivery;

/// <summary>
/// A whole silo on a fresh PostgreSQL database, with SendGrid and SES played by local WireMock servers that speak their
/// wire protocols; the real clients reach them through configuration.
/// </summary>
public sealed class DeliveryHarness : IAsyncDisposable
{
    public const string SendGridPath = "/v3/mail/send";
    public const string SesPath = "/v2/email/outbound-emails";
    public const string SesAccessKeyId = "AKIDTESTEXAMPLE";
    public const string SesSecret = "test/secret+key/for/sigv4/0123456789";
    public const string SesRegion = "eu-west-1";

    private readonly List<AutomatorApp> _apps = [];
    private readonly RequestStarts _sendGridStarts;

    private DeliveryHarness(string? connectionString, (WireMockServer Server, RequestStarts Starts) sendGrid, WireMockServer ses)
    {
        ConnectionString = connectionString;
        SendGrid = sendGrid.Server;
        _sendGridStarts = sendGrid.Starts;
        Ses = ses;
    }

    /// <summary>
    /// Requests to the fake SendGrid that started: counted when their headers arrive, before the body is read, so a request
    /// whose sender died (or gave up) before sending its body counts too, though WireMock never logs it.
    /// </summary>
    public int SendGridRequestsStarted => _sendGridStarts.Count;

    private static (WireMockServer, RequestStarts) StartCountingServer()
    {
        var starts = new RequestStarts();
        var server = WireMockServer.Start(new WireMockServerSettings
        {
            PreWireMockMiddlewareInit = app => ((IApplicationBuilder)app).Use(async (context, next) =>
            {
                if (HttpMethods.IsPost(context.Request.Method) && context.Request.Path == SendGridPath)
                {
                    starts.Add();
                }

                await next(context);
            }),
        });
        return (server, starts);
    }

    private sealed class RequestStarts
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Add() => Interlocked.Increment(ref _count);
    }

    public string? ConnectionString { get; }

    public string ClusterId { get; private set; } = "";

    /// <summary>The configuration every silo of the harness runs with, for a silo started in a process of its own.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; private set; } = new Dictionary<string, string?>();

    public WireMockServer SendGrid { get; }

    public WireMockServer Ses { get; }

    public WebApplicationFactory<Program> Web { get; private set; } = null!;

    public List<WebApplicationFactory<Program>> Silos { get; } = [];

    public IGrainFactory Grains => Web.Services.GetRequiredService<IGrainFactory>();

    public ISendLog SendLog => Web.Services.GetRequiredService<ISendLog>();

    public static async Task<DeliveryHarness> StartAsync(
        string primary = "sendgrid", bool withSes = true, bool withSendGrid = true, IDictionary<string, string?>? settings = null, int silos = 1, bool durable = true,
        Action<IServiceCollection>? testServices = null)
    {
        var connectionString = durable ? await SharedPostgres.CreateMigratedDatabaseAsync("dlv") : null;
        var harness = new DeliveryHarness(connectionString, StartCountingServer(), WireMockServer.Start());
        harness.SendGridAccepts();
        harness.SesAccepts();
        var all = new Dictionary<string, string?>
        {
            ["Automator:PublicBaseUrl"] = "https://mail.automator.test",
            ["Automator:Delivery:FromEmail"] = "hello@sender.example",
            ["Automator:Providers:Primary"] = primary,
            ["Automator:Providers:SendGrid:RatePerSecond"] = "500",
            ["Automator:Providers:Ses:RatePerSecond"] = "500",
            ["Automator:Providers:Circuit:MinimumThroughput"] = "4",
            ["Automator:Providers:Circuit:SamplingDuration"] = "00:00:05",
            ["Automator:Providers:Circuit:BreakDuration"] = "00:00:01",
            ["Automator:Providers:Timeout"] = "00:00:05",
        };
        if (withSendGrid)
        {
            all["Automator:Providers:SendGrid:ApiKey"] = "SG.test-key";
            all["Automator:Providers:SendGrid:BaseUrl"] = harness.SendGrid.Url;
        }

        if (withSes)
        {
            all["Automator:Providers:Ses:Region"] = SesRegion;
            all["Automator:Providers:Ses:AccessKeyId"] = SesAccessKeyId;
            all["Automator:Providers:Ses:SecretAccessKey"] = SesSecret;
            all["Automator:Providers:Ses:ServiceUrl"] = harness.Ses.Url;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var clusterId = "dlv-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < silos; i++)
        {
            var app = new AutomatorApp(connectionString, clusterId, all);
            harness._apps.Add(app);
            var web = testServices is null ? app.WithTestAuthentication() : app.WithWebHostBuilder(b => b.ConfigureTestServices(testServices));
            _ = web.Server;
            harness.Silos.Add(web);
        }

        harness.ClusterId = clusterId;
        harness.Settings = all;
        harness.Web = harness.Silos[0];
        if (silos > 1)
        {
            await Eventually.WaitAsync(
                () => harness.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true),
                h => h.Count == silos, TimeSpan.FromSeconds(60), "all silos to join the cluster");
        }

        return harness;
    }

    public void SendGridAccepts(TimeSpan? delay = null)
    {
        SendGrid.ResetMappings();
        var response = Response.Create().WithStatusCode(202).WithHeader("X-Message-Id", "sg-message-1");
        SendGrid.Given(Request.Create().WithPath(SendGridPath).UsingPost()).RespondWith(delay is { } d ? response.WithDelay(d) : response);
    }

    /// <summary>Accepts every request after a random delay in the range, so that many sends are in flight at once.</summary>
    public void SendGridAcceptsSlowly(int minMilliseconds, int maxMilliseconds)
    {
        SendGrid.ResetMappings();
        SendGrid.Given(Request.Create().WithPath(SendGridPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(202).WithHeader("X-Message-Id", "sg-message-1").WithRandomDelay(minMilliseconds, maxMilliseconds));
    }

    public void SendGridAnswers(int status, string body = "", IDictionary<string, string>? headers = null)
    {
        SendGrid.ResetMappings();
        var response = Response.Create().WithStatusCode(status).WithBody(body);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            response = response.WithHeader(name, value);
        }

        SendGrid.Given(Request.Create().WithPath(SendGridPath).UsingPost()).RespondWith(response);
    }

    public void SesAccepts()
    {
        Ses.ResetMappings();
        Ses.Given(Request.Create().WithPath(SesPath).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("{\"MessageId\":\"ses-message-1\"}"));
    }

    public static IReadOnlyList<ILogEntry> Requests(WireMockServer server, string path) =>
        server.LogEntries.Where(e => e.RequestMessage.Path == path).OrderBy(e => e.RequestMessage.DateTime).ToList();

    /// <summary>A client holding an API key of the organization with exactly these scopes.</summary>
    public async Task<HttpClient> CreateKeyClientAsync(Guid organizationId, params string[] scopes)
    {
        var key = "ak_test_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, scopes) VALUES (@id, @org, 'test', 'ak_test_', @hash, @scopes)", connection);
        command.Parameters.AddWithValue("id", Guid.NewGuid());
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("hash", Automator.WebApi.Identity.ApiKeyAuthenticationHandler.Hash(key));
        command.Parameters.AddWithValue("scopes", scopes);
        await command.ExecuteNonQueryAsync();
        var client = Web.CreateClient();
        client.DefaultRequestHeaders.Add(Automator.WebApi.Identity.ApiKeyAuthenticationHandler.HeaderName, key);
        return client;
    }

    public async Task<Guid> SeedOrganizationAsync(string? postalAddress = "1 Main Street\nSpringfield, IL 62701", string? ambiguousPolicy = null)
    {
        var id = Guid.NewGuid();
        var settings = ambiguousPolicy is null ? "{}" : JsonSerializer.Serialize(new { delivery = new { ambiguous = ambiguousPolicy } });
        await ExecuteAsync("INSERT INTO organizations (id, name, postal_address, settings) VALUES ($1, $2, $3, $4::jsonb)", id, "Acme " + id.ToString("N")[..6], (object?)postalAddress ?? DBNull.Value, settings);
        return id;
    }

    public async Task<Guid> SeedTemplateAsync(Guid organizationId, string subject = "Welcome, {{ contact.firstName | default: \"there\" }}", string html = "<html><body><p>Hi {{ contact.firstName }}, see <a href=\"https://shop.example/start\">your account</a>.</p></body></html>", string? text = null, string kind = "marketing")
    {
        var id = Guid.NewGuid();
        await ExecuteAsync("INSERT INTO email_templates (id, organization_id, name, subject, html, text, kind) VALUES ($1, $2, 'tpl', $3, $4, $5, $6)",
            id, organizationId, subject, html, (object?)text ?? DBNull.Value, kind);
        return id;
    }

    public async Task<Guid> SeedContactAsync(Guid organizationId, string email, string status = "active", string firstName = "Ada")
    {
        var id = Guid.NewGuid();
        await ExecuteAsync("INSERT INTO contacts (id, organization_id, email, first_name, last_name, status, properties) VALUES ($1, $2, $3, $4, 'Lovelace', $5, '{\"plan\":\"pro\"}'::jsonb)",
            id, organizationId, email, firstName, status);
        return id;
    }

    public Task SuppressAsync(Guid organizationId, string email, string reason) =>
        ExecuteAsync("INSERT INTO suppressions (organization_id, email_hash, reason) VALUES ($1, $2, $3)", organizationId, SuppressionHash.Of(email), reason);

    public Task<SendReceipt> SendAsync(Guid organizationId, Guid contactId, string email, Guid templateId, string? sendKey = null, IGrainFactory? grains = null) =>
        (grains ?? Grains).GetGrain<IDeliveryGrain>(0).SendAsync(new SendRequest
        {
            SendKey = sendKey ?? $"journey-{Guid.NewGuid():N}:welcome:1",
            OrganizationId = organizationId,
            ContactId = contactId,
            Email = email,
            TemplateId = templateId,
            WorkflowId = Guid.NewGuid(),
            JourneyId = "journey-1",
            StepId = "welcome",
            EventJson = "{\"plan\":\"pro\"}",
        });

    public Task<SendRecord> WaitForAsync(string sendKey, Func<SendRecord, bool> done, string what, int seconds = 30) =>
        Eventually.WaitAsync(async () => (await SendLog.FindByKeyAsync(sendKey))!, r => r is not null && done(r), TimeSpan.FromSeconds(seconds), what);

    public static bool Finished(SendRecord record) => record.Status is SendStatus.Sent or SendStatus.Failed or SendStatus.Unknown or SendStatus.Suppressed;

    public async Task<JsonElement> GetJsonAsync(HttpClient client, string url)
    {
        var response = await client.GetAsync(url);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task ExecuteAsync(string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in Enumerable.Reverse(_apps))
        {
            await app.DisposeAsync();
        }

        SendGrid.Stop();
        Ses.Stop();
        SendGrid.Dispose();
        Ses.Dispose();
    }
}
