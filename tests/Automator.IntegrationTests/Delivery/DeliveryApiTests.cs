using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.Delivery;
using Automator.Delivery.Rendering;
using Automator.Delivery.SendLog;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.IntegrationTests.Delivery;

public sealed class DeliveryApiTests
{
    [Fact]
    public async Task Sends_list_filters_by_contact_workflow_and_status_and_pages_with_a_cursor()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var ada = await harness.SeedContactAsync(org, "ada@example.com");
        var bob = await harness.SeedContactAsync(org, "bob@example.com", "unsubscribed");
        var workflow = Guid.NewGuid();
        var keys = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var receipt = await harness.Grains.GetGrain<IDeliveryGrain>(0).SendAsync(new SendRequest
            {
                SendKey = $"j-{i}:s:1", OrganizationId = org, ContactId = ada, Email = "ada@example.com", TemplateId = template, WorkflowId = workflow,
            });
            keys.Add(receipt.SendKey);
        }

        await harness.SendAsync(org, bob, "bob@example.com", template);
        await Task.WhenAll(keys.Select(k => harness.WaitForAsync(k, DeliveryHarness.Finished, "sends to finish")));
        using var client = harness.Web.CreateClientFor(org, Scopes.SendsRead);

        var all = await harness.GetJsonAsync(client, "/v1/sends");
        var byContact = await harness.GetJsonAsync(client, $"/v1/sends?contactId={ada}");
        var byWorkflow = await harness.GetJsonAsync(client, $"/v1/sends?workflowId={workflow}");
        var suppressed = await harness.GetJsonAsync(client, "/v1/sends?status=suppressed");
        var page1 = await harness.GetJsonAsync(client, $"/v1/sends?contactId={ada}&limit=2");
        var page2 = await harness.GetJsonAsync(client, $"/v1/sends?contactId={ada}&limit=2&cursor={page1.GetProperty("nextCursor").GetString()}");

        Assert.Equal(4, all.GetProperty("items").GetArrayLength());
        Assert.Equal(3, byContact.GetProperty("items").GetArrayLength());
        Assert.Equal(3, byWorkflow.GetProperty("items").GetArrayLength());
        var blocked = Assert.Single(suppressed.GetProperty("items").EnumerateArray());
        Assert.Equal("bob@example.com", blocked.GetProperty("email").GetString());
        var item = byContact.GetProperty("items")[0];
        Assert.Equal("sent", item.GetProperty("status").GetString());
        Assert.Equal("sendgrid", item.GetProperty("provider").GetString());
        Assert.Equal("sg-message-1", item.GetProperty("providerMessageId").GetString());
        Assert.Equal("Welcome, Ada", item.GetProperty("subject").GetString());
        foreach (var field in new[] { "id", "sendKey", "email", "sentAt", "deliveredAt", "openedAt", "clickedAt", "bouncedAt", "error" })
        {
            Assert.True(item.TryGetProperty(field, out _), field);
        }

        Assert.Equal(2, page1.GetProperty("items").GetArrayLength());
        Assert.Equal(1, page2.GetProperty("items").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, page2.GetProperty("nextCursor").ValueKind);
        var seen = page1.GetProperty("items").EnumerateArray().Concat(page2.GetProperty("items").EnumerateArray()).Select(i => i.GetProperty("sendKey").GetString()).Order();
        Assert.Equal(keys.Order(), seen);
    }

    [Fact]
    public async Task Sends_list_shows_only_the_callers_organization()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var other = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        await harness.SendAsync(org, Guid.NewGuid(), "mine@example.com", template);
        using var client = harness.Web.CreateClientFor(other, Scopes.SendsRead);

        var list = await harness.GetJsonAsync(client, "/v1/sends");

        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Sends_list_rejects_a_bad_query_naming_each_field()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        using var client = harness.Web.CreateClientFor(Guid.NewGuid(), Scopes.SendsRead);

        var response = await client.GetAsync("/v1/sends?contactId=nope&status=lost&limit=0&cursor=%%%");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "contactId", "status", "limit", "cursor" })
        {
            Assert.True(errors.TryGetProperty(field, out _), field);
        }
    }

    [Fact]
    public async Task Routes_require_a_caller_and_their_scope()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        using var anonymous = harness.Web.CreateClient();
        using var viewer = harness.Web.CreateClientFor(Guid.NewGuid(), Scopes.SendsRead, Scopes.ProvidersRead);

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/sends")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/v1/providers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/v1/providers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/v1/providers/sendgrid/pause", null)).StatusCode);
        using var noSends = await harness.CreateKeyClientAsync(await harness.SeedOrganizationAsync(), Scopes.ProvidersRead);
        Assert.Equal(HttpStatusCode.OK, (await noSends.GetAsync("/v1/providers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await noSends.GetAsync("/v1/sends")).StatusCode);
    }

    [Fact]
    public async Task Providers_list_shows_each_provider_and_pause_moves_traffic_until_resume()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: new Dictionary<string, string?> { ["Automator:Operators:Key"] = "operator-key-for-delivery-tests" });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        using var client = harness.Web.CreateClient();
        client.DefaultRequestHeaders.Add(OperatorKeyAuthenticationHandler.HeaderName, "operator-key-for-delivery-tests");

        var before = await harness.GetJsonAsync(client, "/v1/providers");
        var paused = await client.PostAsync("/v1/providers/sendgrid/pause", null);
        var pausedBody = await paused.Content.ReadFromJsonAsync<JsonElement>();
        var whilePaused = await harness.SendAsync(org, Guid.NewGuid(), "paused@example.com", template);
        var viaSes = await harness.WaitForAsync(whilePaused.SendKey, DeliveryHarness.Finished, "the send while sendgrid is paused");
        var listed = await harness.GetJsonAsync(client, "/v1/providers");
        var resumed = await client.PostAsync("/v1/providers/sendgrid/resume", null);
        var afterResume = await Eventually.WaitAsync(async () =>
        {
            var receipt = await harness.SendAsync(org, Guid.NewGuid(), "resumed@example.com", template);
            return await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "a send after resume");
        }, r => r.Provider == "sendgrid", TimeSpan.FromSeconds(20), "traffic to return to sendgrid");
        var unknown = await client.PostAsync("/v1/providers/mailchimp/pause", null);

        var names = before.GetProperty("items").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(["sendgrid", "ses"], names.Keys);
        Assert.Equal("healthy", names["sendgrid"].GetProperty("state").GetString());
        Assert.Equal(500, names["sendgrid"].GetProperty("ratePerSecond").GetDouble());
        Assert.Equal(0, names["sendgrid"].GetProperty("sentLastMinute").GetInt64());
        Assert.Equal(0, names["sendgrid"].GetProperty("errorsLastMinute").GetInt64());
        Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        Assert.Equal("paused", pausedBody.GetProperty("state").GetString());
        Assert.Equal("ses", viaSes.Provider);
        Assert.Equal(SendStatus.Sent, viaSes.Status);
        var sesListed = listed.GetProperty("items").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "ses");
        Assert.Equal(1, sesListed.GetProperty("sentLastMinute").GetInt64());
        Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        Assert.Equal(SendStatus.Sent, afterResume.Status);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True((await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("name", out _));
    }

    [Fact]
    public async Task Without_a_database_or_provider_sends_are_written_to_the_outbox()
    {
        var outbox = Path.Combine(Path.GetTempPath(), "automator-outbox-" + Guid.NewGuid().ToString("N")[..8]);
        await using var harness = await DeliveryHarness.StartAsync(withSendGrid: false, withSes: false, durable: false, primary: "", settings: new Dictionary<string, string?> { ["Automator:Outbox:Path"] = outbox });
        var log = Assert.IsType<InMemorySendLog>(harness.Web.Services.GetRequiredService<ISendLog>());
        var org = Guid.NewGuid();
        var template = Guid.NewGuid();
        log.PutOrganization(org, "Local Co", "9 Dev Lane");
        log.PutTemplate(new TemplateContent(template, "Hello {{ contact.email }}", "<p>Local</p>", null));

        var receipt = await harness.SendAsync(org, Guid.NewGuid(), "dev@example.com", template);
        var sent = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the outbox send");
        var files = await Eventually.WaitAsync(() => Task.FromResult(Directory.Exists(outbox) ? Directory.GetFiles(outbox, "*.eml") : []), f => f.Length == 1, TimeSpan.FromSeconds(10), "the .eml file");
        Assert.Equal(SendStatus.Sent, sent.Status);
        Assert.Equal("outbox", sent.Provider);
        var eml = await File.ReadAllTextAsync(files[0]);
        Assert.Contains("To: dev@example.com", eml, StringComparison.Ordinal);
        Assert.Contains("Subject: Hello dev@example.com", eml, StringComparison.Ordinal);
        Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click", eml, StringComparison.Ordinal);
    }
}
