using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Identity;
using WireMock.Logging;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Request = WireMock.RequestBuilders.Request;

namespace Automator.IntegrationTests.Ai;

/// <summary>
/// The whole system on real PostgreSQL with its AI provider pointed at a local server speaking OpenAI's
/// chat-completions protocol. Tests tell their requests apart by a marker in the brief.
/// </summary>
public sealed class AiSystem : IAsyncLifetime
{
    public const string Model = "gpt-test-mini";
    public const int DailyRequests = 4;
    public const long DailyTokens = 100_000;
    public const int MaxAttempts = 2;
    public const string CompletionsPath = "/v1/chat/completions";

    public AutomatorApp App { get; private set; } = null!;

    public WireMockServer Provider { get; } = WireMockServer.Start();

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await SharedPostgres.CreateMigratedDatabaseAsync("ai");
        var settings = ApiFixture.HighLimits;
        settings["Automator:OpenAI:ApiKey"] = "sk-test-key";
        settings["Automator:OpenAI:BaseUrl"] = Provider.Url + "/v1";
        settings["Automator:OpenAI:Model"] = Model;
        settings["Automator:OpenAI:Timeout"] = "00:00:04";
        settings["Automator:OpenAI:MaxAttempts"] = MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Automator:OpenAI:RetryDelay"] = "00:00:00.010";
        settings["Automator:OpenAI:DailyRequests"] = DailyRequests.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Automator:OpenAI:DailyTokens"] = DailyTokens.ToString(System.Globalization.CultureInfo.InvariantCulture);
        App = new AutomatorApp(ConnectionString, "ai-" + Guid.NewGuid().ToString("N")[..6], settings);
        _ = App.Server;
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Provider.Stop();
        Provider.Dispose();
    }

    public async Task<(TestTenant Tenant, HttpClient Client)> TenantAsync(string role = Roles.Owner)
    {
        var tenant = await TestTenant.CreateAsync(App, role);
        return (tenant, tenant.Client(App));
    }

    public static string Marker() => "m" + Guid.NewGuid().ToString("N");

    /// <summary>Answers completions whose request mentions the marker.</summary>
    public IRespondWithAProvider ForMarker(string marker) =>
        Provider.Given(Request.Create().WithPath(CompletionsPath).UsingPost().WithBody(new WildcardMatcher("*" + marker + "*")));

    public void Answer(string marker, string content, int totalTokens = 120) =>
        ForMarker(marker).RespondWith(Completion(content, totalTokens));

    public static IResponseBuilder Completion(string content, int totalTokens = 120) =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(new JsonObject
        {
            ["id"] = "chatcmpl-" + Guid.NewGuid().ToString("N")[..12],
            ["object"] = "chat.completion",
            ["created"] = 1_780_000_000,
            ["model"] = Model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["refusal"] = null },
                ["logprobs"] = null,
                ["finish_reason"] = "stop",
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = totalTokens / 2, ["completion_tokens"] = totalTokens - totalTokens / 2, ["total_tokens"] = totalTokens },
        }.ToJsonString());

    public static string SubjectLines(params (string Subject, string Rationale)[] variants) =>
        new JsonObject { ["variants"] = new JsonArray(variants.Select(v => (JsonNode)new JsonObject { ["subject"] = v.Subject, ["rationale"] = v.Rationale }).ToArray()) }.ToJsonString();

    public static string Content(params (string Subject, string Html)[] variants) =>
        new JsonObject { ["variants"] = new JsonArray(variants.Select(v => (JsonNode)new JsonObject { ["subject"] = v.Subject, ["html"] = v.Html }).ToArray()) }.ToJsonString();

    /// <summary>The completions requests the provider received that mention the marker.</summary>
    public IReadOnlyList<ILogEntry> Received(string marker) =>
        Provider.LogEntries.Where(e => e.RequestMessage.Path == CompletionsPath && (e.RequestMessage.Body ?? "").Contains(marker, StringComparison.Ordinal)).ToList();

    public static async Task<Guid> CreateTemplateAsync(HttpClient client, string name, string subject, string html)
    {
        var response = await client.PostAsJsonAsync("/v1/templates", new { name, subject, html });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
    }
}
