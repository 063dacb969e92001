using Automator.Delivery;
using Automator.WebApi.Engagement;

namespace Automator.UnitTests.Engagement;

public sealed class EngagementRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_score_follows_the_documented_formula_and_halves_its_sum_every_thirty_days()
    {
        Assert.Equal(0, EngagementScore.Score(0, null, Now));
        Assert.Equal(10, EngagementScore.Score(EngagementScore.OpenWeight, Now, Now));
        Assert.Equal(26, EngagementScore.Score(EngagementScore.ClickWeight, Now, Now));
        Assert.Equal(EngagementScore.Score(2, Now, Now), EngagementScore.Score(4, Now.AddDays(-30), Now));
        Assert.Equal(2, EngagementScore.Add(2, Now.AddDays(-30), Now, 1), 6);
        Assert.True(EngagementScore.Score(1000, Now, Now) <= 100);
    }

    [Theory]
    [InlineData("GET", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15", false)]
    [InlineData("GET", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", false)]
    [InlineData("HEAD", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", true)]
    [InlineData("GET", "", true)]
    [InlineData("GET", "Barracuda Sentinel (EE)", true)]
    [InlineData("GET", "python-requests/2.31", true)]
    [InlineData("GET", "Mozilla/5.0 (compatible; bingbot/2.0)", true)]
    public void Machine_traffic_is_told_by_method_and_user_agent(string method, string userAgent, bool machine) =>
        Assert.Equal(machine, new MachineTraffic(MachineTraffic.DefaultFragments).IsMachine(method, userAgent));

    [Theory]
    [InlineData(null, true, false)]
    [InlineData(null, false, true)]
    [InlineData("http://localhost:5000", false, true)]
    [InlineData("http://127.0.0.1:8080", false, true)]
    [InlineData("https://app.localhost", false, true)]
    [InlineData("mail.example.com", false, true)]
    [InlineData("ftp://mail.example.com", false, true)]
    [InlineData("https://mail.example.com", false, false)]
    [InlineData("http://localhost:5000", true, false)]
    public void Public_links_must_be_reachable_outside_development(string? url, bool development, bool refused) =>
        Assert.Equal(refused, PublicLinks.Problem(url, development) is not null);

    [Theory]
    [InlineData("ada.lovelace@example.com", "ad**********@example.com")]
    [InlineData("a@example.com", "***@example.com")]
    [InlineData("bo@example.com", "b***@example.com")]
    public void The_preference_page_shows_a_masked_address(string email, string masked) =>
        Assert.Equal(masked, UnsubscribeEndpoints.Mask(email));
}
