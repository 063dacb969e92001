using Automator.Delivery;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Delivery;

/// <summary>Timing-sensitive: runs on its own, after the parallel tests, so other tests' load does not skew the clock.</summary>
[CollectionDefinition(nameof(DeliveryRateTests), DisableParallelization = true)]
public sealed class DeliveryRateCollection;

[Collection(nameof(DeliveryRateTests))]
public sealed class DeliveryRateTests
{
    [Fact]
    public async Task A_200_per_second_limit_holds_in_every_second_across_two_silos_and_the_whole_backlog_is_delivered()
    {
        // The guarantee, not the throughput: no one-second window at the provider above the limit (with the margin below
        // for how the provider stamps arrivals), and every send delivered once. How close the
        // drain comes to the limit depends on the CPU the machine has free; that figure is the `rate` benchmark's.
        const int Sends = 4_000;
        // Both silos and the fake provider share this process: a starved thread pool stalls all three at once and costs
        // send slots that the rate limit cannot give back, so start with enough threads for a loaded machine.
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(io, 64));
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, silos: 2, settings: new Dictionary<string, string?>
        {
            ["Automator:Providers:SendGrid:RatePerSecond"] = "200",
            ["Automator:Providers:Timeout"] = "00:00:30",
        });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var silos = harness.Silos.Select(s => s.Services.GetService(typeof(IGrainFactory)) as IGrainFactory).ToArray();

        // Warm the whole path on both silos first (JIT, HTTP connections), for another organization, and forget those
        // requests: a cold process is late for its first slots, and that start-up cost is not what is measured here.
        var warmOrg = await harness.SeedOrganizationAsync();
        var warmTemplate = await harness.SeedTemplateAsync(warmOrg);
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => harness.SendAsync(warmOrg, Guid.NewGuid(), $"warm{i}@example.com", warmTemplate, grains: silos[i % silos.Length])));
        await Eventually.WaitAsync(() => harness.SendLog.CountAsync(warmOrg, SendStatus.Sent), c => c == 100, TimeSpan.FromSeconds(30), "the warm-up sends");
        harness.SendGrid.ResetLogEntries();

        // Build the whole backlog first with the provider paused, so the drain is measured on a full queue.
        var provider = harness.Grains.GetGrain<IProviderGrain>("sendgrid");
        await provider.PauseAsync();
        using var gate = new SemaphoreSlim(64);
        var receipts = await Task.WhenAll(Enumerable.Range(0, Sends).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await harness.SendAsync(org, Guid.NewGuid(), $"bulk{i}@example.com", template, grains: silos[i % silos.Length]);
            }
            finally
            {
                gate.Release();
            }
        }));
        Assert.Empty(harness.SendGrid.LogEntries);
        await provider.ResumeAsync();
        await Eventually.WaitAsync(
            () => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count),
            c => c >= Sends, TimeSpan.FromSeconds(180), "every send to reach the fake provider");
        var sent = await Eventually.WaitAsync(() => harness.SendLog.CountAsync(org, SendStatus.Sent), c => c == Sends, TimeSpan.FromSeconds(60), "every send to be logged as sent");

        // Windows are measured on the provider's side: the times the fake SendGrid received each request.
        var arrivals = DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Select(e => e.RequestMessage.DateTime).Order().ToArray();
        var busiestSecond = 0;
        for (int first = 0, end = 0; first < arrivals.Length; first++)
        {
            while (end < arrivals.Length && arrivals[end] - arrivals[first] < TimeSpan.FromSeconds(1))
            {
                end++;
            }

            busiestSecond = Math.Max(busiestSecond, end - first);
        }

        var drainRate = (arrivals.Length - 1) / (arrivals[^1] - arrivals[0]).TotalSeconds;

        Console.WriteLine($"busiest second {busiestSecond}, backlog of {Sends} drained at {drainRate:F1}/s (not asserted)");
        Console.WriteLine("per second: " + string.Join(' ', arrivals.GroupBy(t => (int)(t - arrivals[0]).TotalSeconds).OrderBy(g => g.Key).Select(g => g.Count())));
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Equal(Sends, arrivals.Length);
        Assert.Equal(Sends, sent);
        // Each send reached the provider once: as many distinct send keys as requests.
        Assert.Equal(Sends, DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)
            .Select(e => System.Text.Json.JsonDocument.Parse(e.RequestMessage.Body!).RootElement.GetProperty("personalizations")[0].GetProperty("custom_args").GetProperty("send_key").GetString())
            .Distinct().Count());
        // Arrival times are stamped by the fake provider, which shares this process and its two cores with both silos: a
        // stall of the receiving side of d ms stamps the requests it held up together with the ones after them, compressing
        // 200/s x d of traffic into the window. The bound allows a 50 ms stall (10 requests, 5%); the exact figure (101%)
        // is the `rate` benchmark's, on a quiet machine. A real breach (a second bucket, slots granted early) is far above.
        Assert.True(busiestSecond <= 210, $"{busiestSecond} requests reached the provider within one second; the limit is 200/s (+5% for stalls of the receiving side)");
    }
}
