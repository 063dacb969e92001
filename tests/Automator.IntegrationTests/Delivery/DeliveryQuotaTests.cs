using Automator.Delivery;
using Automator.Delivery.Providers;
using Automator.IntegrationTests.Infrastructure;
using Orleans.Core.Internal;

namespace Automator.IntegrationTests.Delivery;

public sealed class DeliveryQuotaTests
{
    [Fact]
    public async Task The_daily_quota_used_survives_a_provider_grain_reactivation_and_still_caps_the_day()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: new Dictionary<string, string?>
        {
            ["Automator:Providers:SendGrid:DailyQuota"] = "5",
        });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, "quota@example.com");
        var provider = harness.Grains.GetGrain<IProviderGrain>(DeliveryOptions.SendGrid);

        var first = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            first.Add((await harness.SendAsync(org, contact, "quota@example.com", template)).SendKey);
        }

        foreach (var key in first)
        {
            await harness.WaitForAsync(key, r => r.Status == SendStatus.Sent, "the first sends to go out");
        }

        Assert.Equal(3, (await provider.GetStatusAsync()).SentToday);

        // A new activation starts from the send log, not from zero.
        await provider.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Eventually.WaitAsync(() => provider.GetStatusAsync(), s => s.SentToday == 3, TimeSpan.FromSeconds(10), "the reactivated provider to count today's 3 sends");

        var second = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            second.Add((await harness.SendAsync(org, contact, "quota@example.com", template)).SendKey);
        }

        var settled = await Eventually.WaitAsync(
            async () => await Task.WhenAll(second.Select(harness.SendLog.FindByKeyAsync)),
            rows => rows.Count(r => r!.Status == SendStatus.Sent) == 2, TimeSpan.FromSeconds(30), "the 2 sends left in the quota to go out");
        var status = await provider.GetStatusAsync();
        var lease = await provider.LeaseAsync(1, probe: false);

        Assert.Equal(5, status.SentToday);
        Assert.Equal(5, status.DailyLimit);
        Assert.Equal(2, settled.Count(r => r!.Status == SendStatus.Queued));
        Assert.Equal(0, lease.Count);
        Assert.True(lease.RetryAfter > TimeSpan.Zero);
        Assert.Equal(5, DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count);
    }
}
