using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Npgsql;

namespace Automator.IntegrationTests.Engagement;

/// <summary>
/// The whole system on Kestrel at a real loopback port, with its public base URL pointing at that port, so the links
/// in the emails it writes to its outbox can be followed over real HTTP exactly as a recipient's mail client would.
/// </summary>
public sealed class EngagementSystem : IAsyncLifetime
{
    public AutomatorApp App { get; private set; } = null!;

    public string BaseUrl { get; private set; } = "";

    public string Outbox { get; } = Path.Combine(Path.GetTempPath(), "automator-engagement-" + Guid.NewGuid().ToString("N")[..8]);

    public string ConnectionString { get; private set; } = "";

    /// <summary>A recipient's HTTP client: no credentials, redirects not followed.</summary>
    public HttpClient Recipient { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedPostgres.CreateMigratedDatabaseAsync("eng");
        var port = LocalPostgresServer.FreePort();
        BaseUrl = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        var settings = ApiFixture.HighLimits;
        settings["Automator:PublicBaseUrl"] = BaseUrl;
        settings["Automator:Outbox:Path"] = Outbox;
        App = new AutomatorApp(ConnectionString, "eng-" + Guid.NewGuid().ToString("N")[..6], settings);
        App.UseKestrel(port);
        App.StartServer();
        Recipient = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(BaseUrl) };
        Recipient.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15");
    }

    public async Task DisposeAsync()
    {
        Recipient.Dispose();
        await App.DisposeAsync();
    }

    public async Task<(TestTenant Tenant, HttpClient Client)> TenantAsync()
    {
        var tenant = await TestTenant.CreateAsync(App);
        return (tenant, tenant.Client(App));
    }

    public static async Task<Guid> CreateTemplateAsync(HttpClient client, string name, string html)
    {
        var response = await client.PostAsJsonAsync("/v1/templates", new { name, subject = name, html });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }

    /// <summary>Creates and activates a workflow; returns its id.</summary>
    public static async Task<Guid> ActivateAsync(HttpClient client, string definitionJson)
    {
        var created = await client.PostAsync("/v1/workflows", new StringContent(definitionJson, Encoding.UTF8, "application/json"));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, body);
        var id = JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
        var activated = await client.PostAsync($"/v1/workflows/{id}/activate", null);
        Assert.True(activated.IsSuccessStatusCode, await activated.Content.ReadAsStringAsync());
        return id;
    }

    /// <summary>Tracks an event for an address (creating the contact); returns the contact's id.</summary>
    public static async Task<Guid> TrackAsync(HttpClient client, string email, string name)
    {
        var response = await client.PostAsJsonAsync("/v1/events", new { email, name });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["contactId"]!.GetValue<Guid>();
    }

    /// <summary>Waits for the <paramref name="count"/>-th message to an address in the outbox, oldest first.</summary>
    public async Task<OutboxMessage> EmailAsync(string to, int count = 1)
    {
        var messages = await Eventually.WaitAsync(
            () => Task.FromResult(Messages(to)), m => m.Count >= count, TimeSpan.FromSeconds(30), $"email {count} to {to} in the outbox");
        return messages[count - 1];
    }

    public List<OutboxMessage> Messages(string to) =>
        !Directory.Exists(Outbox) ? [] : Directory.GetFiles(Outbox, "*.eml").Order(StringComparer.Ordinal)
            .Select(f => OutboxMessage.Parse(File.ReadAllText(f))).Where(m => m.Header("To") == to).ToList();

    public static async Task<JsonObject> SendAsync(HttpClient client, Guid contactId, int index = 0) =>
        (JsonObject)(await client.GetFromJsonAsync<JsonObject>($"/v1/sends?contactId={contactId}"))!["items"]!.AsArray()
            .OrderBy(s => s!["createdAt"]!.GetValue<DateTimeOffset>()).ElementAt(index)!;

    public async Task<long> EngagementRowsAsync(Guid sendId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM email_engagements WHERE send_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = sendId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}

/// <summary>An <c>.eml</c> the outbox provider wrote: its headers and its decoded parts, and the links inside.</summary>
public sealed partial record OutboxMessage(Dictionary<string, string> Headers, string Html, string Text)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name);

    public Guid SendId => Guid.Parse(Header("Message-ID")!.Trim('<', '>').Split('@')[0]);

    /// <summary>The open pixel's path and query, as a mail client would fetch it.</summary>
    public string PixelUrl => PixelPattern().Match(Html) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("no open pixel");

    public IReadOnlyList<string> ClickUrls => ClickPattern().Matches(Html).Select(m => m.Groups[1].Value).ToList();

    /// <summary>The address of the RFC 8058 <c>List-Unsubscribe</c> header.</summary>
    public string UnsubscribeUrl => Header("List-Unsubscribe")!.Trim('<', '>');

    public static OutboxMessage Parse(string eml)
    {
        var split = eml.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in eml[..split].Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        return new OutboxMessage(headers, Part(eml, "text/html"), Part(eml, "text/plain"));
    }

    private static string Part(string eml, string type)
    {
        var start = eml.IndexOf("Content-Type: " + type, StringComparison.Ordinal);
        var body = eml.IndexOf("\r\n\r\n", start, StringComparison.Ordinal) + 4;
        var end = eml.IndexOf("--=_", body, StringComparison.Ordinal);
        return Encoding.UTF8.GetString(Convert.FromBase64String(eml[body..end].Replace("\r\n", "", StringComparison.Ordinal)));
    }

    [GeneratedRegex("<img src=\"([^\"]*/t/o/[^\"]+)\"")]
    private static partial Regex PixelPattern();

    [GeneratedRegex("href=\"([^\"]*/t/c/[^\"]+)\"")]
    private static partial Regex ClickPattern();
}
