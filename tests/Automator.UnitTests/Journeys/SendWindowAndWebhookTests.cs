using System.Net;
using Automator.Journeys;
using Automator.Workflows;

namespace Automator.UnitTests.Journeys;

public sealed class SendWindowAndWebhookTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    [Fact]
    public void Overnight_window_belongs_to_the_day_it_opened()
    {
        var window = new SendWindow(new SendWindowSettings { Start = "22:00", End = "06:00", Days = ["fri"] });

        Assert.True(window.IsOpen(new DateTimeOffset(2026, 11, 27, 23, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc)); // Friday night
        Assert.True(window.IsOpen(new DateTimeOffset(2026, 11, 28, 5, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc)); // Saturday early, opened Friday
        Assert.False(window.IsOpen(new DateTimeOffset(2026, 11, 28, 23, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc)); // Saturday night
        Assert.Equal(new DateTimeOffset(2026, 12, 4, 22, 0, 0, TimeSpan.Zero), window.NextOpen(new DateTimeOffset(2026, 11, 28, 7, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc));
    }

    [Fact]
    public void Window_opening_on_the_spring_forward_night_uses_the_shifted_instant()
    {
        var window = new SendWindow(new SendWindowSettings { Start = "02:30", End = "05:00", Days = ["sun"] });

        // 02:30 does not exist on 8 March 2026 in New York: the window opens at 03:30 EDT (07:30 UTC).
        var open = window.NextOpen(new DateTimeOffset(2026, 3, 8, 5, 0, 0, TimeSpan.Zero), NewYork);

        Assert.Equal(new DateTimeOffset(2026, 3, 8, 7, 30, 0, TimeSpan.Zero), open);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("64:ff9b::7f00:1", false)]
    [InlineData("64:ff9b::a9fe:a9fe", false)]
    [InlineData("64:ff9b:1::a00:1", false)]
    [InlineData("2002:7f00:1::1", false)]
    [InlineData("2002:c0a8:101::1", false)]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2", false)]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", true)]
    public void Webhook_steps_only_reach_public_addresses(string address, bool allowed)
    {
        Assert.Equal(allowed, JourneyWebhooks.IsPublic(IPAddress.Parse(address)));
    }

    [Fact]
    public void Durations_accept_iso_8601_and_reject_the_rest()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), Durations.Parse("PT5S"));
        Assert.Equal(TimeSpan.FromDays(-3), Durations.Parse("-P3D"));
        Assert.Equal(TimeSpan.FromMinutes(90), Durations.Parse("PT1H30M"));
        Assert.False(Durations.TryParse("5s", out _));
        Assert.False(Durations.TryParse("", out _));
    }
}
