using Automator.Journeys;

namespace Automator.UnitTests.Journeys;

public sealed class WebhookRetryTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 4)]
    [InlineData(3, 16)]
    [InlineData(5, 256)]
    public void Each_retry_waits_four_times_longer(int attempts, int minutes)
    {
        Assert.Equal(At.AddMinutes(minutes), WebhookRetry.After(attempts, At, TimeSpan.FromMinutes(1), 6));
    }

    [Fact]
    public void No_retry_after_the_last_attempt()
    {
        Assert.Null(WebhookRetry.After(6, At, TimeSpan.FromMinutes(1), 6));
    }

    [Fact]
    public void A_retry_never_waits_more_than_a_day()
    {
        Assert.Equal(At.AddDays(1), WebhookRetry.After(20, At, TimeSpan.FromHours(1), 100));
    }
}
