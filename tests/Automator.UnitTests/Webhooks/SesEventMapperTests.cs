using System.Text.Json;
using Automator.WebApi.Engagement;
using Automator.WebApi.Webhooks;

namespace Automator.UnitTests.Webhooks;

public sealed class SesEventMapperTests
{
    private static readonly Guid SendId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
    private const string MailAt = "2026-12-05T10:00:00.000Z";

    private static string Event(string type, string? detailName = null, object? detail = null, bool legacy = false, bool tagged = true)
    {
        var root = new Dictionary<string, object?>
        {
            [legacy ? "notificationType" : "eventType"] = type,
            ["mail"] = new
            {
                timestamp = MailAt,
                messageId = "0100018c-ses",
                destination = new[] { "a@example.com" },
                tags = tagged
                    ? new Dictionary<string, string[]> { ["send_id"] = [SendId.ToString("N")], ["send_key"] = ["j_welcome_1"] }
                    : new Dictionary<string, string[]> { ["ses:configuration-set"] = ["automator"] },
            },
        };
        if (detailName is not null)
        {
            root[detailName] = detail;
        }

        return JsonSerializer.Serialize(root);
    }

    private static WebhookBatch Map(string message, bool tracking = false) => new SesEventMapper(tracking, tracking).Map("sns-message-1", message);

    private static EngagementSignal One(string message, bool tracking = false)
    {
        var batch = Map(message, tracking);
        Assert.Null(batch.Error);
        return Assert.Single(batch.Signals);
    }

    [Fact]
    public void A_send_event_is_processed_at_the_mail_time_and_names_its_send_by_tag()
    {
        var signal = One(Event("Send", "send", new { }));

        Assert.Equal(EngagementKinds.Processed, signal.Kind);
        Assert.Equal(SendId, signal.SendId);
        Assert.Null(signal.SendKey);
        Assert.Equal("sns-message-1", signal.ProviderEventId);
        Assert.Equal("ses", signal.Source);
        Assert.Equal(DateTimeOffset.Parse(MailAt, System.Globalization.CultureInfo.InvariantCulture), signal.At);
    }

    [Fact]
    public void A_delivery_is_delivered_at_its_own_time()
    {
        var signal = One(Event("Delivery", "delivery", new { timestamp = "2026-12-05T10:00:02.500Z", smtpResponse = "250 ok" }));

        Assert.Equal(EngagementKinds.Delivered, signal.Kind);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 10, 0, 2, 500, TimeSpan.Zero), signal.At);
    }

    [Fact]
    public void A_permanent_bounce_is_hard_with_the_recipient_diagnostic()
    {
        var signal = One(Event("Bounce", "bounce", new
        {
            bounceType = "Permanent",
            bounceSubType = "General",
            timestamp = "2026-12-05T10:00:03Z",
            bouncedRecipients = new[] { new { emailAddress = "a@example.com", diagnosticCode = "smtp; 550 5.1.1 user unknown" } },
        }));

        Assert.Equal((EngagementKinds.Bounced, BounceTypes.Hard, "smtp; 550 5.1.1 user unknown"), (signal.Kind, signal.BounceType, signal.Diagnostic));
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 10, 0, 3, TimeSpan.Zero), signal.At);
    }

    [Theory]
    [InlineData("Transient")]
    [InlineData("Undetermined")]
    public void Transient_and_undetermined_bounces_are_soft_with_the_sub_type_when_no_diagnostic(string bounceType)
    {
        var signal = One(Event("Bounce", "bounce", new { bounceType, bounceSubType = "MailboxFull", bouncedRecipients = new[] { new { emailAddress = "a@example.com" } } }));

        Assert.Equal((BounceTypes.Soft, "MailboxFull"), (signal.BounceType, signal.Diagnostic));
    }

    [Fact]
    public void Older_feedback_notifications_use_notification_type()
    {
        var signal = One(Event("Complaint", "complaint", new { complaintFeedbackType = "abuse", timestamp = "2026-12-05T11:00:00Z" }, legacy: true));

        Assert.Equal((EngagementKinds.Complained, "abuse"), (signal.Kind, signal.Diagnostic));
    }

    [Fact]
    public void A_reject_is_dropped_and_a_delivery_delay_deferred()
    {
        var reject = One(Event("Reject", "reject", new { reason = "Bad content" }));
        var delay = One(Event("DeliveryDelay", "deliveryDelay", new
        {
            delayType = "MailboxFull",
            timestamp = "2026-12-05T10:05:00Z",
            delayedRecipients = new[] { new { emailAddress = "a@example.com", diagnosticCode = "452 4.2.2 over quota" } },
        }));

        Assert.Equal((EngagementKinds.Dropped, "Bad content"), (reject.Kind, reject.Diagnostic));
        Assert.Equal((EngagementKinds.Deferred, "452 4.2.2 over quota"), (delay.Kind, delay.Diagnostic));
    }

    [Fact]
    public void Opens_and_clicks_map_only_while_our_own_tracking_is_off()
    {
        var open = Event("Open", "open", new { timestamp = "2026-12-05T12:00:00Z", userAgent = "Mozilla/5.0", ipAddress = "192.0.2.1" });
        var click = Event("Click", "click", new { timestamp = "2026-12-05T12:01:00Z", userAgent = "Mozilla/5.0", link = "https://shop.example/start" });

        var opened = One(open);
        var clicked = One(click);
        Assert.Equal((EngagementKinds.Opened, "Mozilla/5.0"), (opened.Kind, opened.UserAgent));
        Assert.Equal((EngagementKinds.Clicked, "https://shop.example/start"), (clicked.Kind, clicked.Url));

        var whileTracking = Map(open, tracking: true);
        Assert.Empty(whileTracking.Signals);
        Assert.Equal(1, whileTracking.TrackingDuplicates);
        Assert.Equal(1, Map(click, tracking: true).TrackingDuplicates);
    }

    [Fact]
    public void Unknown_types_and_untagged_mail_are_skipped_and_counted()
    {
        Assert.Equal(1, Map(Event("Rendering Failure", "failure", new { errorMessage = "x" })).Unknown);
        Assert.Equal(1, Map(Event("Delivery", "delivery", new { timestamp = MailAt }, tagged: false)).Unaddressed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    public void A_message_that_is_not_an_event_is_malformed(string message)
    {
        Assert.NotNull(Map(message).Error);
    }
}
