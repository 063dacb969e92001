using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Ai;
using Automator.WebApi.Identity;
using Microsoft.Extensions.Options;
using Npgsql;
using WireMock.ResponseBuilders;

namespace Automator.IntegrationTests.Ai;

/// <summary>
/// AI variants over real HTTP against a local server speaking OpenAI's chat-completions protocol: what is sent, what
/// comes back, and what each failure of the provider gives the caller.
/// </summary>
public sealed class AiProviderTests(AiSystem system) : IClassFixture<AiSystem>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!.AsObject();
    }

    [Fact]
    public async Task Subject_lines_come_from_the_provider_asked_with_the_configured_model_and_the_json_schema()
    {
        var (_, client) = await system.TenantAsync();
        var contactEmail = $"private-{Guid.NewGuid():N}@example.test";
        (await client.PostAsJsonAsync("/v1/contacts", new { email = contactEmail, firstName = "Zebedee" })).EnsureSuccessStatusCode();
        var template = await AiSystem.CreateTemplateAsync(client, "Welcome", "Welcome, {{ contact.firstName }}!", "<p>Hi {{ contact.firstName | default: \"there\" }}</p>");
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.SubjectLines(("Your spring boots, {{ contact.firstName }}", "Personal."), ("20% off trail boots", "Leads with the offer.")));

        var response = await client.PostAsJsonAsync("/v1/ai/subject-lines", new { templateId = template, brief = $"Spring sale {marker}", count = 2, tone = "friendly" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("openai", body["provider"]!.GetValue<string>());
        var variants = body["variants"]!.AsArray();
        Assert.Equal(2, variants.Count);
        Assert.Equal("Your spring boots, {{ contact.firstName }}", variants[0]!["subject"]!.GetValue<string>());
        Assert.Equal("Leads with the offer.", variants[1]!["rationale"]!.GetValue<string>());

        var sent = Assert.Single(system.Received(marker));
        Assert.Equal("Bearer sk-test-key", sent.RequestMessage.Headers!["Authorization"].Single());
        var request = JsonNode.Parse(sent.RequestMessage.Body!)!.AsObject();
        Assert.Equal(AiSystem.Model, request["model"]!.GetValue<string>());
        var format = request["response_format"]!.AsObject();
        Assert.Equal("json_schema", format["type"]!.GetValue<string>());
        Assert.Equal(ChatVariantGenerator.SchemaName(VariantKind.SubjectLines), format["json_schema"]!["name"]!.GetValue<string>());
        var items = format["json_schema"]!["schema"]!["properties"]!["variants"]!["items"]!;
        Assert.Equal(["subject", "rationale"], items["required"]!.AsArray().Select(n => n!.GetValue<string>()));

        // The template goes as its source: placeholders stay placeholders and no contact's data is in the prompt.
        var prompt = string.Join("\n", request["messages"]!.AsArray().Select(m => m!["content"]!.ToJsonString()));
        Assert.Contains("{{ contact.firstName | default:", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain(contactEmail, sent.RequestMessage.Body!, StringComparison.Ordinal);
        Assert.DoesNotContain("Zebedee", sent.RequestMessage.Body!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_variants_come_back_with_subject_and_html()
    {
        var (_, client) = await system.TenantAsync(Roles.Marketer);
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.Content(("Book your onboarding call", "<p>Hi {{ contact.firstName }},</p><p>Pick a time.</p>")));

        var response = await client.PostAsJsonAsync("/v1/ai/content", new { brief = $"Onboarding call {marker}", count = 1 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("openai", body["provider"]!.GetValue<string>());
        var variant = Assert.Single(body["variants"]!.AsArray())!;
        Assert.Equal("<p>Hi {{ contact.firstName }},</p><p>Pick a time.</p>", variant["html"]!.GetValue<string>());
        var request = JsonNode.Parse(Assert.Single(system.Received(marker)).RequestMessage.Body!)!;
        Assert.Equal(ChatVariantGenerator.SchemaName(VariantKind.Content), request["response_format"]!["json_schema"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_second_identical_request_is_answered_from_the_cache()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.SubjectLines(("One", "Because.")));
        var ask = new { brief = $"Cache me {marker}", count = 1 };

        var first = await (await client.PostAsJsonAsync("/v1/ai/subject-lines", ask)).Content.ReadAsStringAsync();
        var second = await client.PostAsJsonAsync("/v1/ai/subject-lines", ask);

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(first, await second.Content.ReadAsStringAsync());
        Assert.Single(system.Received(marker));

        // Another organization asking the same thing is not served this one's answer.
        var (_, other) = await system.TenantAsync();
        Assert.Equal(HttpStatusCode.OK, (await other.PostAsJsonAsync("/v1/ai/subject-lines", ask)).StatusCode);
        Assert.Equal(2, system.Received(marker).Count);
    }

    [Fact]
    public async Task Malformed_output_gives_502_naming_the_cause_and_is_not_cached()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.Answer(marker, "Sure! Here are three subject lines: 1. Hello 2. Hi 3. Hey");
        var ask = new { brief = $"Malformed {marker}", count = 3 };

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", ask), HttpStatusCode.BadGateway);
        await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", ask), HttpStatusCode.BadGateway);

        Assert.Equal("malformed_output", problem["cause"]!.GetValue<string>());
        Assert.Contains("not JSON", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, system.Received(marker).Count);
    }

    [Fact]
    public async Task Output_that_fails_the_checks_gives_502_naming_the_variant()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.Content(
            ("Fine", "<p>Hello</p><script>steal()</script>"),
            ("Hi {{ contact.firstName", "<p>Hello</p>")));

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/content", new { brief = $"Unsafe {marker}", count = 2 }), HttpStatusCode.BadGateway);

        Assert.Equal("invalid_output", problem["cause"]!.GetValue<string>());
        var detail = problem["detail"]!.GetValue<string>();
        Assert.Contains("variants[0].html contains a <script> element", detail, StringComparison.Ordinal);
        Assert.Contains("variants[1].subject has an unclosed '{{'", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_provider_that_times_out_on_every_attempt_gives_504()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.ForMarker(marker).RespondWith(AiSystem.Completion(AiSystem.SubjectLines(("Late", "Too late."))).WithDelay(TimeSpan.FromSeconds(20)));

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Slow {marker}", count = 1 }), HttpStatusCode.GatewayTimeout);

        Assert.Equal("timeout", problem["cause"]!.GetValue<string>());
        await Eventually.WaitAsync(() => Task.FromResult(system.Received(marker).Count), n => n == AiSystem.MaxAttempts, Wait, "every attempt to reach the provider");
    }

    [Fact]
    public async Task A_provider_that_keeps_answering_429_gives_503_after_the_retries()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.ForMarker(marker).RespondWith(Response.Create().WithStatusCode(429).WithHeader("Content-Type", "application/json")
            .WithBody("""{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"""));

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Busy {marker}", count = 1 }), HttpStatusCode.ServiceUnavailable);

        Assert.Equal("provider_rate_limited", problem["cause"]!.GetValue<string>());
        Assert.Equal(AiSystem.MaxAttempts, system.Received(marker).Count);
    }

    [Fact]
    public async Task A_provider_that_keeps_failing_gives_502_after_the_retries()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.ForMarker(marker).RespondWith(Response.Create().WithStatusCode(500).WithBody("""{"error":{"message":"The server had an error"}}"""));

        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Broken {marker}", count = 1 }), HttpStatusCode.BadGateway);

        Assert.Equal("provider_error", problem["cause"]!.GetValue<string>());
        Assert.Equal(AiSystem.MaxAttempts, system.Received(marker).Count);
    }

    [Fact]
    public async Task A_single_429_is_retried_into_an_answer()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.ForMarker(marker).InScenario(marker).WillSetStateTo("answered")
            .RespondWith(Response.Create().WithStatusCode(429).WithHeader("Retry-After", "0").WithBody("""{"error":{"message":"Rate limit reached"}}"""));
        system.ForMarker(marker).InScenario(marker).WhenStateIs("answered")
            .RespondWith(AiSystem.Completion(AiSystem.SubjectLines(("Second time lucky", "Retried."))));

        var response = await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Retry {marker}", count = 1 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Second time lucky", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(2, system.Received(marker).Count);
    }

    [Fact]
    public async Task The_budget_answers_429_once_the_days_requests_are_spent_and_it_holds_across_processes()
    {
        var (tenant, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.SubjectLines(("Budgeted", "Counted.")), totalTokens: 10);
        for (var i = 0; i < AiSystem.DailyRequests; i++)
        {
            var allowed = await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Ask {i} {marker}", count = 1 });
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        var refused = await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"One more {marker}", count = 1 });

        var problem = await ProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("budget_spent", problem["cause"]!.GetValue<string>());
        Assert.True(int.Parse(refused.Headers.RetryAfter!.ToString(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(AiSystem.DailyRequests, system.Received(marker).Count);

        // An answer already given is still served from the cache, free.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Ask 0 {marker}", count = 1 })).StatusCode);

        // Another process sharing the database sees the same spent budget.
        await using var dataSource = NpgsqlDataSource.Create(system.ConnectionString);
        var elsewhere = new AiBudget(dataSource, Options.Create(new AiOptions { DailyRequests = AiSystem.DailyRequests, DailyTokens = AiSystem.DailyTokens }), TimeProvider.System);
        Assert.Null(await elsewhere.TryReserveAsync(tenant.OrganizationId, CancellationToken.None));
    }

    [Fact]
    public async Task The_budget_answers_429_once_the_days_tokens_are_spent()
    {
        var (_, client) = await system.TenantAsync();
        var marker = AiSystem.Marker();
        system.Answer(marker, AiSystem.SubjectLines(("Expensive", "Many tokens.")), totalTokens: (int)AiSystem.DailyTokens + 1);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Big {marker}", count = 1 })).StatusCode);
        var problem = await ProblemAsync(await client.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = $"Bigger {marker}", count = 1 }), HttpStatusCode.TooManyRequests);

        Assert.Equal("budget_spent", problem["cause"]!.GetValue<string>());
        Assert.Single(system.Received(marker));
    }

    [Theory]
    [InlineData("/v1/ai/subject-lines", """{"brief":"Spring sale","count":0}""", "count")]
    [InlineData("/v1/ai/subject-lines", """{"brief":"Spring sale","count":11}""", "count")]
    [InlineData("/v1/ai/subject-lines", """{"brief":"Spring sale"}""", "count")]
    [InlineData("/v1/ai/subject-lines", """{"count":3}""", "brief")]
    [InlineData("/v1/ai/subject-lines", """{"brief":"   ","count":3,"tone":"calm"}""", "brief")]
    [InlineData("/v1/ai/content", """{"brief":"Spring sale","count":0}""", "count")]
    [InlineData("/v1/ai/content", """{"brief":"Spring sale","count":11}""", "count")]
    [InlineData("/v1/ai/content", """{"count":2}""", "brief")]
    public async Task Bad_input_gets_a_problem_naming_the_field(string path, string json, string field)
    {
        var (_, client) = await system.TenantAsync();

        var response = await client.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task Another_organizations_template_is_not_found_and_never_reaches_the_provider()
    {
        var (_, owner) = await system.TenantAsync();
        var secret = AiSystem.Marker();
        var template = await AiSystem.CreateTemplateAsync(owner, "Private", "Private offer", $"<p>{secret}</p>");
        var (_, stranger) = await system.TenantAsync();

        var subjects = await stranger.PostAsJsonAsync("/v1/ai/subject-lines", new { templateId = template, count = 2 });
        var content = await stranger.PostAsJsonAsync("/v1/ai/content", new { templateId = template, brief = "Rewrite it", count = 1 });

        await ProblemAsync(subjects, HttpStatusCode.NotFound);
        await ProblemAsync(content, HttpStatusCode.NotFound);
        Assert.DoesNotContain(secret, await subjects.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(system.Received(secret));
    }

    [Fact]
    public async Task A_viewer_may_not_use_ai()
    {
        var (_, viewer) = await system.TenantAsync(Roles.Viewer);

        var response = await viewer.PostAsJsonAsync("/v1/ai/subject-lines", new { brief = "Spring sale", count = 1 });

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
