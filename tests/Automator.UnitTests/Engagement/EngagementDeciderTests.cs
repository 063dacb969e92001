using Automator.Delivery;
using Automator.WebApi.Engagement;

namespace Automator.UnitTests.Engagement;

public sealed class EngagementDeciderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    private static SendSnapshot Send(SendStatus status = SendStatus.Sent, DateTimeOffset? opened = null, string? variant = null) => new()
    {
        Id = Guid.NewGuid(),
        CreatedAt = T0,
        OrganizationId = Guid.NewGuid(),
        ContactId = Guid.NewGuid(),
        WorkflowId = Guid.NewGuid(),
        StepId = "welcome",
        Variant = variant,
        SendKey = "j:welcome:1",
        Email = "ada@example.test",
        Status = status,
        OpenedAt = opened,
    };

    private static EngagementSignal Signal(string kind, int minutes = 1, bool machine = false, string? url = null, string? bounce = null, string source = "tracking") => new()
    {
        Kind = kind,
        At = T0.AddMinutes(minutes),
        Source = source,
        Machine = machine,
        Url = url,
        BounceType = bounce,
    };

    [Fact]
    public void Human_opens_count_every_time_but_reach_the_step_once_and_each_emits_email_opened()
    {
        var decision = EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Opened, 1), Signal(EngagementKinds.Opened, 2)]);

        Assert.Equal(2, decision.Change.Opens);
        Assert.Equal(T0.AddMinutes(1), decision.Change.OpenedAt);
        Assert.Equal([EngagementKinds.Opened], decision.FirstTimes);
        Assert.Equal(2, decision.Events.Count(e => e.Name == "email.opened"));
        Assert.All(decision.Events, e => Assert.Equal("j:welcome:1", e.Properties["sendKey"]));
        Assert.Equal(2 * EngagementScore.OpenWeight, decision.EngagementWeight);
    }

    [Fact]
    public void Machine_traffic_is_counted_apart_and_emits_nothing()
    {
        var decision = EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Opened, machine: true), Signal(EngagementKinds.Clicked, machine: true, url: "https://x.test")]);

        Assert.Equal(1, decision.Change.MachineOpens);
        Assert.Equal(1, decision.Change.MachineClicks);
        Assert.Equal(0, decision.Change.Opens + decision.Change.Clicks);
        Assert.Null(decision.Change.OpenedAt);
        Assert.Empty(decision.FirstTimes);
        Assert.Empty(decision.Events);
        Assert.Equal(0, decision.EngagementWeight);
    }

    [Fact]
    public void A_click_on_an_unopened_send_is_also_its_first_open_and_unique_clicks_count_distinct_urls()
    {
        var send = Send() with { ClickedUrls = new HashSet<string> { "https://a.test" } };
        var decision = EngagementDecider.Decide(send, [Signal(EngagementKinds.Clicked, 1, url: "https://a.test"), Signal(EngagementKinds.Clicked, 2, url: "https://b.test")]);

        Assert.Equal(2, decision.Change.Clicks);
        Assert.Equal(1, decision.Change.UniqueClicks);
        Assert.Equal([EngagementKinds.Opened, EngagementKinds.Clicked], decision.FirstTimes);
        Assert.Equal(2, decision.Events.Count(e => e.Name == "email.clicked"));
        Assert.Equal("https://b.test", decision.Events[^1].Properties["url"]);
    }

    [Fact]
    public void An_already_opened_send_does_not_reach_opened_again()
    {
        var decision = EngagementDecider.Decide(Send(opened: T0), [Signal(EngagementKinds.Opened)]);

        Assert.Empty(decision.FirstTimes);
        Assert.Null(decision.Change.OpenedAt);
        Assert.Single(decision.Events);
    }

    [Fact]
    public void Delivery_moves_a_sent_send_to_delivered_once()
    {
        var decision = EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Delivered, 1, source: "sendgrid"), Signal(EngagementKinds.Delivered, 2, source: "sendgrid")]);

        Assert.Equal(SendStatus.Delivered, decision.Change.Status);
        Assert.Equal(T0.AddMinutes(1), decision.Change.DeliveredAt);
        Assert.Equal([EngagementKinds.Delivered], decision.FirstTimes);
        Assert.Single(decision.Events, e => e.Name == "email.delivered");
    }

    [Fact]
    public void A_hard_bounce_suppresses_and_a_soft_bounce_only_counts()
    {
        var hard = EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Bounced, bounce: BounceTypes.Hard) with { Diagnostic = "550 5.1.1 no such user" }]);
        Assert.Equal("bounced", hard.Suppress);
        Assert.Equal(SendStatus.Bounced, hard.Change.Status);
        Assert.Equal(BounceTypes.Hard, hard.Change.BounceType);
        Assert.Contains("550 5.1.1", hard.Change.Error, StringComparison.Ordinal);
        Assert.Equal(BounceTypes.Hard, Assert.Single(hard.Events).Properties["bounceType"]);

        var soft = EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Bounced, bounce: BounceTypes.Soft)]);
        Assert.Null(soft.Suppress);
        Assert.Equal(1, soft.SoftBounces);
        Assert.Equal(BounceTypes.Soft, soft.Change.BounceType);
    }

    [Fact]
    public void A_complaint_suppresses_and_wins_over_a_bounce()
    {
        var decision = EngagementDecider.Decide(Send(SendStatus.Delivered), [Signal(EngagementKinds.Complained, 1), Signal(EngagementKinds.Bounced, 2, bounce: BounceTypes.Soft)]);

        Assert.Equal("complained", decision.Suppress);
        Assert.Equal(SendStatus.Complained, decision.Change.Status);
        Assert.Contains(decision.Events, e => e.Name == "email.complained");
    }

    [Fact]
    public void A_drop_fails_a_send_in_flight_but_never_a_delivered_one()
    {
        Assert.Equal(SendStatus.Failed, EngagementDecider.Decide(Send(), [Signal(EngagementKinds.Dropped) with { Diagnostic = "Bounced Address" }]).Change.Status);
        Assert.Null(EngagementDecider.Decide(Send(SendStatus.Delivered), [Signal(EngagementKinds.Dropped)]).Change.Status);
    }

    [Fact]
    public void An_unsubscribe_reaches_the_step_once_and_emits_unsubscribed_with_its_variant()
    {
        var send = Send(variant: "b") with { UnsubscribedAt = null };
        var decision = EngagementDecider.Decide(send, [Signal(EngagementKinds.Unsubscribed, source: "one-click")]);

        Assert.Equal([EngagementKinds.Unsubscribed], decision.FirstTimes);
        var e = Assert.Single(decision.Events);
        Assert.Equal("unsubscribed", e.Name);
        Assert.Equal("b", e.Properties["variant"]);
        Assert.Empty(EngagementDecider.Decide(send with { UnsubscribedAt = T0 }, [Signal(EngagementKinds.Unsubscribed)]).Events);
    }
}
