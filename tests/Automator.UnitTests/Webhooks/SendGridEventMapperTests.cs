using System.Text;
using Automator.WebApi.Engagement;
using Automator.WebApi.Webhooks;

namespace Automator.UnitTests.Webhooks;

public sealed class SendGridEventMapperTests
{
    private static readonly Guid SendId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

    private static WebhookBatch Map(string json, bool tracking = false) =>
        new SendGridEventMapper(tracking, tracking).Map(Encoding.UTF8.GetBytes(json));

    private static EngagementSignal One(string fields, bool tracking = false)
    {
        var batch = Map($"[{{\"email\":\"a@example.com\",\"timestamp\":1764936000,\"sg_event_id\":\"ev-1\",\"send_id\":\"{SendId:N}\",\"send_key\":\"j:welcome:1\",{fields}}}]", tracking);
        Assert.Null(batch.Error);
        return Assert.Single(batch.Signals);
    }

    [Fact]
    public void Common_fields_come_from_the_event_and_its_custom_args()
    {
        var signal = One("\"event\":\"delivered\"");

        Assert.Equal(EngagementKinds.Delivered, signal.Kind);
        Assert.Equal(SendId, signal.SendId);
        Assert.Equal("j:welcome:1", signal.SendKey);
        Assert.Equal("ev-1", signal.ProviderEventId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1764936000), signal.At);
        Assert.Equal("sendgrid", signal.Source);
    }

    [Fact]
    public void Processed_and_deferred_events_map_with_the_deferral_response()
    {
        Assert.Equal(EngagementKinds.Processed, One("\"event\":\"processed\"").Kind);
        var deferred = One("\"event\":\"deferred\",\"response\":\"400 try again later\",\"attempt\":\"2\"");
        Assert.Equal(EngagementKinds.Deferred, deferred.Kind);
        Assert.Equal("400 try again later", deferred.Diagnostic);
    }

    [Fact]
    public void A_bounce_is_hard_and_a_block_is_soft()
    {
        var bounce = One("\"event\":\"bounce\",\"type\":\"bounce\",\"reason\":\"550 5.1.1 no such user\",\"status\":\"5.1.1\"");
        var blocked = One("\"event\":\"bounce\",\"type\":\"blocked\",\"status\":\"4.0.0\"");

        Assert.Equal((EngagementKinds.Bounced, BounceTypes.Hard, "550 5.1.1 no such user"), (bounce.Kind, bounce.BounceType, bounce.Diagnostic));
        Assert.Equal((EngagementKinds.Bounced, BounceTypes.Soft, "4.0.0"), (blocked.Kind, blocked.BounceType, blocked.Diagnostic));
    }

    [Fact]
    public void Dropped_spam_reports_and_unsubscribes_map_to_their_kinds()
    {
        var dropped = One("\"event\":\"dropped\",\"reason\":\"Bounced Address\"");
        Assert.Equal((EngagementKinds.Dropped, "Bounced Address"), (dropped.Kind, dropped.Diagnostic));
        Assert.Equal(EngagementKinds.Complained, One("\"event\":\"spamreport\"").Kind);
        Assert.Equal(EngagementKinds.Unsubscribed, One("\"event\":\"unsubscribe\"").Kind);
        Assert.Equal(EngagementKinds.Unsubscribed, One("\"event\":\"group_unsubscribe\",\"asm_group_id\":3").Kind);
    }

    [Fact]
    public void Opens_and_clicks_map_when_our_own_tracking_is_off()
    {
        var open = One("\"event\":\"open\",\"useragent\":\"Mozilla/5.0\",\"sg_machine_open\":false");
        var machineOpen = One("\"event\":\"open\",\"sg_machine_open\":true");
        var click = One("\"event\":\"click\",\"url\":\"https://shop.example/start\",\"useragent\":\"Mozilla/5.0\"");

        Assert.Equal((EngagementKinds.Opened, "Mozilla/5.0", false), (open.Kind, open.UserAgent, open.Machine));
        Assert.True(machineOpen.Machine);
        Assert.Equal((EngagementKinds.Clicked, "https://shop.example/start", "Mozilla/5.0"), (click.Kind, click.Url, click.UserAgent));
    }

    [Fact]
    public void Opens_and_clicks_are_left_out_while_our_own_tracking_is_on()
    {
        var batch = Map($$"""
            [{"event":"open","timestamp":1764936000,"sg_event_id":"a","send_id":"{{SendId:N}}"},
             {"event":"click","timestamp":1764936000,"sg_event_id":"b","send_id":"{{SendId:N}}","url":"https://x.example"},
             {"event":"delivered","timestamp":1764936000,"sg_event_id":"c","send_id":"{{SendId:N}}"}]
            """, tracking: true);

        Assert.Equal(EngagementKinds.Delivered, Assert.Single(batch.Signals).Kind);
        Assert.Equal(2, batch.TrackingDuplicates);
    }

    [Fact]
    public void Unknown_types_and_events_naming_no_send_are_skipped_and_counted()
    {
        var batch = Map($$"""
            [{"event":"group_resubscribe","timestamp":1764936000,"send_id":"{{SendId:N}}"},
             {"event":"delivered","timestamp":1764936000,"sg_event_id":"x"},
             {"event":"delivered","timestamp":1764936000,"send_id":"not-a-guid"},
             {"event":"delivered","timestamp":1764936000,"send_key":"j:welcome:1"}]
            """);

        Assert.Null(batch.Error);
        Assert.Equal("j:welcome:1", Assert.Single(batch.Signals).SendKey);
        Assert.Equal(1, batch.Unknown);
        Assert.Equal(2, batch.Unaddressed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"event\":\"delivered\"}")]
    [InlineData("[1]")]
    [InlineData("[{\"timestamp\":1764936000}]")]
    [InlineData("[{\"event\":\"delivered\"}]")]
    [InlineData("[{\"event\":\"delivered\",\"timestamp\":\"1764936000\"}]")]
    [InlineData("[{\"event\":7,\"timestamp\":1764936000}]")]
    [InlineData("[{\"event\":\"delivered\",\"timestamp\":1764936000,\"send_id\":{\"a\":1}}]")]
    [InlineData("[{\"event\":\"bounce\",\"timestamp\":1764936000,\"reason\":[\"x\"]}]")]
    public void A_malformed_batch_is_refused_whole(string json)
    {
        var batch = Map(json);

        Assert.NotNull(batch.Error);
        Assert.Empty(batch.Signals);
    }
}
