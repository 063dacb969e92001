using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Foundation;

/// <summary>What the run command promises a newcomer: demo data, the README's curl line, and both surviving a restart.</summary>
public sealed class DemoSeedTests
{
    private const string DemoKey = "ak_demo_local_development_key";

    [Fact]
    public async Task The_readme_event_produces_an_eml_in_the_outbox_and_the_demo_survives_a_restart()
    {
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("demo");
        var clusterId = "demo-" + Guid.NewGuid().ToString("N")[..6];
        var outbox = Path.Combine(Path.GetTempPath(), "automator-demo-outbox-" + Guid.NewGuid().ToString("N")[..8]);
        var settings = new Dictionary<string, string?> { ["Automator:Demo:Seed"] = "true", ["Automator:Outbox:Path"] = outbox };

        await using (var first = new AutomatorApp(connectionString, clusterId, settings))
        {
            using var client = first.CreateClient();
            client.DefaultRequestHeaders.Add("X-Api-Key", DemoKey);

            var accepted = await Eventually.WaitAsync(
                () => client.PostAsJsonAsync("/v1/events", new { email = "ada@example.com", name = "signed_up" }),
                r => r.StatusCode == HttpStatusCode.Accepted, TimeSpan.FromSeconds(30), "the demo organization to be seeded");
            var emails = await Eventually.WaitAsync(
                () => Task.FromResult(Directory.Exists(outbox) ? Directory.GetFiles(outbox, "*.eml") : []),
                files => files.Length == 1, TimeSpan.FromSeconds(30), "the welcome email in the outbox");

            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var message = await File.ReadAllTextAsync(emails[0]);
            Assert.Contains("To: ada@example.com", message, StringComparison.Ordinal);
            Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click", message, StringComparison.Ordinal);
        }

        await using var second = new AutomatorApp(connectionString, clusterId, settings);
        using var anonymous = second.CreateClient();
        var login = await anonymous.PostAsJsonAsync("/v1/auth/login", new { email = "demo@automator.local", password = "demo-password" });
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var token = (await login.Content.ReadFromJsonAsync<JsonObject>())!["accessToken"]!.GetValue<string>();
        using var owner = second.CreateClient();
        owner.DefaultRequestHeaders.Authorization = new("Bearer", token);

        var workflows = await owner.GetFromJsonAsync<JsonObject>("/v1/workflows");
        var sends = await owner.GetFromJsonAsync<JsonObject>("/v1/sends");

        var workflow = Assert.Single(workflows!["items"]!.AsArray());
        Assert.Equal("active", workflow!["status"]!.GetValue<string>());
        var send = Assert.Single(sends!["items"]!.AsArray());
        Assert.Equal("ada@example.com", send!["email"]!.GetValue<string>());
        Assert.Single(Directory.GetFiles(outbox, "*.eml"));
    }
}
