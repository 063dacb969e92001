using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Ai;

namespace Automator.IntegrationTests.Ai;

/// <summary>Without an API key every AI route answers from the local generator, offline.</summary>
public sealed class LocalAiTests : IAsyncLifetime
{
    private AutomatorApp _app = null!;

    public async Task InitializeAsync()
    {
        _app = new AutomatorApp(await SharedPostgres.CreateMigratedDatabaseAsync("ailocal"), "ailocal-" + Guid.NewGuid().ToString("N")[..6], ApiFixture.HighLimits);
        _ = _app.Server;
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task Without_a_key_the_local_generator_answers_the_same_variants_for_the_same_input()
    {
        var first = (await TestTenant.CreateAsync(_app)).Client(_app);
        var second = (await TestTenant.CreateAsync(_app)).Client(_app);
        var template = await AiSystem.CreateTemplateAsync(first, "Trial ending", "Your trial ends soon, {{ contact.firstName }}", "<p>Hi {{ contact.firstName }}</p>");
        await AiSystem.CreateTemplateAsync(second, "Trial ending", "Your trial ends soon, {{ contact.firstName }}", "<p>Hi {{ contact.firstName }}</p>");
        var ask = new { brief = "Remind trial users that their trial ends in three days", count = 4, tone = "friendly" };

        var a = await first.PostAsJsonAsync("/v1/ai/subject-lines", ask);
        var b = await second.PostAsJsonAsync("/v1/ai/subject-lines", ask);
        var content = await first.PostAsJsonAsync("/v1/ai/content", new { templateId = template, brief = ask.brief, count = 3 });

        Assert.Equal(HttpStatusCode.OK, a.StatusCode);
        var body = (await a.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("local", body["provider"]!.GetValue<string>());
        Assert.Equal(4, body["variants"]!.AsArray().Count);
        Assert.Equal(body.ToJsonString(), (await b.Content.ReadFromJsonAsync<JsonObject>())!.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        var variants = (await content.Content.ReadFromJsonAsync<ContentResponse>())!.Variants;
        Assert.Equal(3, variants.Count);
        Assert.Empty(VariantRules.Check(VariantKind.Content, 3, variants.Select(v => new Variant(v.Subject, null, v.Html)).ToArray()));
        Assert.All(variants, v => Assert.Contains("<p>Hi {{ contact.firstName }}</p>", v.Html, StringComparison.Ordinal));
    }
}
