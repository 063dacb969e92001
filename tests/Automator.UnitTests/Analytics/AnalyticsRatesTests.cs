using Automator.WebApi.Analytics;

namespace Automator.UnitTests.Analytics;

public sealed class AnalyticsRatesTests
{
    [Fact]
    public void Every_rate_is_its_count_over_sent_to_four_decimals()
    {
        var rates = AnalyticsRates.Of(new AnalyticsCounts(Sent: 3, Delivered: 3, Opened: 2, Clicked: 1, Bounced: 0, Complained: 1, Unsubscribed: 0, Goals: 2));

        Assert.Equal(new AnalyticsRates(Delivered: 1, Opened: 0.6667, Clicked: 0.3333, Bounced: 0, Complained: 0.3333, Unsubscribed: 0, Goals: 0.6667), rates);
    }

    [Fact]
    public void Nothing_sent_gives_zero_rates_whatever_else_happened_in_the_range()
    {
        var rates = AnalyticsRates.Of(AnalyticsCounts.Zero with { Opened = 4, Goals = 1 });

        Assert.Equal(new AnalyticsRates(0, 0, 0, 0, 0, 0, 0), rates);
    }

    [Fact]
    public void Counts_add_field_by_field()
    {
        var sum = new AnalyticsCounts(1, 2, 3, 4, 5, 6, 7, 8).Add(new AnalyticsCounts(10, 20, 30, 40, 50, 60, 70, 80));

        Assert.Equal(new AnalyticsCounts(11, 22, 33, 44, 55, 66, 77, 88), sum);
    }
}
