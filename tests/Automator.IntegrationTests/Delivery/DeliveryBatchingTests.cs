using System.Text.Json;
using Automator.Delivery;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Delivery;

/// <summary>
/// Batching on both sides of the send log: concurrent sends share the front door's statements, and sends of one template
/// reach SendGrid as personalizations of one request when the account's rate does not pace them one by one.
/// </summary>
public sealed class DeliveryBatchingTests
{
    private static readonly Dictionary<string, string?> Unpaced = new()
    {
        ["Automator:Providers:SendGrid:RatePerSecond"] = "1000000",
        ["Automator:Providers:SendGrid:Burst"] = "1000",
    };

    [Fact]
    public async Task Sends_of_one_template_reach_sendgrid_as_personalizations_of_at_most_1000_per_request()
    {
        const int Sends = 1500;
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: Unpaced);
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var receipts = await QueueAsync(harness, org, template, Sends);

        var sent = await Eventually.WaitAsync(() => harness.SendLog.CountAsync(org, SendStatus.Sent), c => c == Sends, TimeSpan.FromSeconds(90), "every send to be logged as sent");

        var requests = Bodies(harness);
        var personalizations = requests.SelectMany(r => r.GetProperty("personalizations").EnumerateArray()).ToList();
        Assert.Equal(Sends, sent);
        Assert.All(requests, r => Assert.InRange(r.GetProperty("personalizations").GetArrayLength(), 1, 1000));
        // The silo's sending workers split the backlog between them; each sends its share in a few requests.
        Assert.True(requests.Count <= 20, $"{requests.Count} requests for {Sends} sends");
        Assert.Equal(Sends, personalizations.Count);
        var keys = personalizations.Select(p => p.GetProperty("custom_args").GetProperty("send_key").GetString()).ToHashSet();
        Assert.True(keys.SetEquals(receipts.Select(r => r.SendKey)));

        // A worker activation left with a single send at its lease sends it as a full message (headers on the request).
        var batches = requests.Where(r => r.GetProperty("personalizations").GetArrayLength() > 1).ToList();
        var unsubscribeUrls = new HashSet<string>();
        foreach (var request in requests)
        {
            var batched = request.GetProperty("personalizations").GetArrayLength() > 1;
            foreach (var p in request.GetProperty("personalizations").EnumerateArray())
            {
                var headers = batched ? p.GetProperty("headers") : request.GetProperty("headers");
                var url = headers.GetProperty("List-Unsubscribe").GetString()!.Trim('<', '>');
                Assert.StartsWith("https://mail.automator.test/u/", url, StringComparison.Ordinal);
                if (batched)
                {
                    Assert.Contains(url, p.GetProperty("substitutions").EnumerateObject().Select(s => s.Value.GetString()));
                }

                Assert.Equal("List-Unsubscribe=One-Click", headers.GetProperty("List-Unsubscribe-Post").GetString());
                unsubscribeUrls.Add(url);
            }
        }

        Assert.Equal(Sends, unsubscribeUrls.Count);
        var html = batches[0].GetProperty("content").EnumerateArray().Single(c => c.GetProperty("type").GetString() == "text/html").GetProperty("value").GetString()!;
        Assert.DoesNotContain("https://mail.automator.test/u/", html, StringComparison.Ordinal);
        Assert.Contains("%%", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_429_on_a_batched_request_retries_each_of_its_sends_once()
    {
        const int Sends = 40;
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: Unpaced);
        harness.SendGridAnswers(429, "{\"errors\":[{\"message\":\"too many requests\"}]}", new Dictionary<string, string> { ["Retry-After"] = "1" });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var receipts = await QueueAsync(harness, org, template, Sends);

        // A worker activation may hold a lone send that goes first, on its own; wait for a throttled batch.
        await Eventually.WaitAsync(
            () => Task.FromResult(Bodies(harness).Max(b => (int?)b.GetProperty("personalizations").GetArrayLength()) ?? 0),
            c => c > 1, TimeSpan.FromSeconds(30), "a throttled batched request");
        harness.SendGridAccepts();
        await Eventually.WaitAsync(() => harness.SendLog.CountAsync(org, SendStatus.Sent), c => c == Sends, TimeSpan.FromSeconds(30), "every send to be logged as sent");

        var answered = DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)
            .Select(e => (Status: e.ResponseMessage.StatusCode?.ToString(), Keys: KeysOf(JsonDocument.Parse(e.RequestMessage.Body!).RootElement)))
            .ToList();
        var throttled = answered.Where(a => a.Status == "429").SelectMany(a => a.Keys).ToList();
        var accepted = answered.Where(a => a.Status == "202").SelectMany(a => a.Keys).ToList();
        Assert.Contains(answered, a => a.Status == "429" && a.Keys.Count > 1);
        Assert.Equal(Sends, accepted.Count);
        Assert.Equal(Sends, accepted.Distinct().Count());
        Assert.Equal(throttled.Count, throttled.Distinct().Count());
        Assert.Subset(accepted.ToHashSet(), throttled.ToHashSet());
        Assert.All(receipts, r => Assert.False(r.Duplicate));
    }

    [Fact]
    public async Task A_permanent_400_on_a_batched_request_fails_each_of_its_sends_with_the_reason()
    {
        const int Sends = 30;
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: Unpaced);
        harness.SendGridAnswers(400, "{\"errors\":[{\"message\":\"The from address does not match a verified Sender Identity.\",\"field\":\"from\"}]}");
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var receipts = await QueueAsync(harness, org, template, Sends);

        var results = await Task.WhenAll(receipts.Select(r => harness.WaitForAsync(r.SendKey, DeliveryHarness.Finished, "the send to fail")));

        Assert.All(results, r => Assert.Equal(SendStatus.Failed, r.Status));
        Assert.All(results, r => Assert.Contains("HTTP 400", r.Error, StringComparison.Ordinal));
        Assert.All(results, r => Assert.Contains("verified Sender Identity", r.Error, StringComparison.Ordinal));
        var requests = Bodies(harness);
        Assert.Equal(Sends, requests.Sum(r => r.GetProperty("personalizations").GetArrayLength()));
        Assert.True(requests.Count < Sends, $"{requests.Count} requests for {Sends} sends");
    }

    [Fact]
    public async Task Concurrent_sends_through_the_batched_front_door_keep_every_rule()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false);
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var broken = await harness.SeedTemplateAsync(org, html: "<p>{{ 10 | divided_by: 0 }}</p>");
        var unsubscribed = await harness.SeedContactAsync(org, "gone@example.com", "unsubscribed");
        var known = await harness.SeedContactAsync(org, "grace@example.com", firstName: "Grace");
        await harness.SuppressAsync(org, "listed@example.com", "manual");

        var calls = new List<Task<SendReceipt>>();
        for (var i = 0; i < 40; i++)
        {
            calls.Add(harness.SendAsync(org, Guid.NewGuid(), $"many{i}@example.com", template));
        }

        calls.AddRange(Enumerable.Range(0, 5).Select(_ => harness.SendAsync(org, known, "grace@example.com", template, "journey-same:welcome:1")));
        calls.Add(harness.SendAsync(org, unsubscribed, "gone@example.com", template));
        calls.Add(harness.SendAsync(org, Guid.NewGuid(), "listed@example.com", template));
        calls.Add(harness.SendAsync(org, Guid.NewGuid(), "broken@example.com", broken));
        calls.Add(harness.SendAsync(org, Guid.NewGuid(), "not-an-address", template));
        var receipts = await Task.WhenAll(calls);
        var same = receipts[40..45];
        await Eventually.WaitAsync(() => harness.SendLog.CountAsync(org, SendStatus.Sent), c => c == 41, TimeSpan.FromSeconds(30), "the deliverable sends to be sent");

        Assert.All(receipts[..40], r => Assert.Equal(SendStatus.Queued, r.Status));
        Assert.Single(same, r => !r.Duplicate);
        Assert.Single(same.Select(r => r.SendId).Distinct());
        Assert.Equal(SendStatus.Suppressed, receipts[45].Status);
        Assert.Contains("unsubscribed", receipts[45].Error, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Suppressed, receipts[46].Status);
        Assert.Equal(SendStatus.Failed, receipts[47].Status);
        Assert.Contains("html", receipts[47].Error, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Failed, receipts[48].Status);
        Assert.Equal(SendStatus.Suppressed, (await harness.SendLog.FindByKeyAsync(receipts[45].SendKey))!.Status);
        Assert.Equal(SendStatus.Failed, (await harness.SendLog.FindByKeyAsync(receipts[47].SendKey))!.Status);
        var addresses = Bodies(harness).SelectMany(r => r.GetProperty("personalizations").EnumerateArray())
            .Select(p => p.GetProperty("to")[0].GetProperty("email").GetString()).ToList();
        Assert.Equal(41, addresses.Count);
        Assert.Single(addresses, a => a == "grace@example.com");
        Assert.DoesNotContain("gone@example.com", addresses);
        Assert.DoesNotContain("listed@example.com", addresses);
    }

    [Fact]
    public async Task An_edited_template_is_used_by_the_next_send()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false);
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org, subject: "First version");
        var first = await harness.SendAsync(org, Guid.NewGuid(), "edit1@example.com", template);
        await harness.WaitForAsync(first.SendKey, DeliveryHarness.Finished, "the first send");

        await harness.ExecuteAsync("UPDATE email_templates SET subject = 'Second version' WHERE id = $1", template);
        var second = await harness.SendAsync(org, Guid.NewGuid(), "edit2@example.com", template);
        var sent = await harness.WaitForAsync(second.SendKey, DeliveryHarness.Finished, "the second send");

        Assert.Equal("First version", (await harness.SendLog.FindByKeyAsync(first.SendKey))!.Subject);
        Assert.Equal("Second version", sent.Subject);
    }

    private static async Task<SendReceipt[]> QueueAsync(DeliveryHarness harness, Guid org, Guid template, int count)
    {
        // Queue everything with the provider paused, so the worker holds the whole backlog when it resumes.
        var provider = harness.Grains.GetGrain<IProviderGrain>("sendgrid");
        await provider.PauseAsync();
        using var gate = new SemaphoreSlim(64);
        var receipts = await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await harness.SendAsync(org, Guid.NewGuid(), $"batch{i}@example.com", template);
            }
            finally
            {
                gate.Release();
            }
        }));
        await provider.ResumeAsync();
        return receipts;
    }

    private static List<string> KeysOf(JsonElement body) =>
        [.. body.GetProperty("personalizations").EnumerateArray().Select(p => p.GetProperty("custom_args").GetProperty("send_key").GetString()!)];

    private static List<JsonElement> Bodies(DeliveryHarness harness) =>
        DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)
            .Select(e => JsonDocument.Parse(e.RequestMessage.Body!).RootElement.Clone()).ToList();
}
