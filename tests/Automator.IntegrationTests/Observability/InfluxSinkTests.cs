using System.Text.RegularExpressions;
using Automator.Infrastructure.Telemetry;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Observability;

public sealed partial class InfluxSinkTests(VictoriaMetricsServer server) : IClassFixture<VictoriaMetricsServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Sends_provider_latency_journey_moves_engagement_and_requests_reach_the_time_series_server()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Automator:InfluxDb:Url"] = server.Url,
            ["Automator:InfluxDb:Token"] = "test-token",
            ["Automator:InfluxDb:Org"] = "automator",
            ["Automator:InfluxDb:Bucket"] = "automator",
            ["Automator:InfluxDb:FlushInterval"] = "00:00:00.100",
        });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        using var client = harness.Web.CreateClientFor(org);
        var workflow = await ObservabilityFlow.ActivateWelcomeAsync(client, template);

        using var response = await client.SendAsync(ObservabilityFlow.SignedUp("measured@example.com"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        await Eventually.WaitAsync(
            () => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)), r => r.Count > 0, Wait, "the send to reach SendGrid");
        var pixel = new Uri(PixelPattern().Match(ObservabilityFlow.SentHtml(harness)).Groups[1].Value);
        using var recipient = harness.Web.CreateClient();
        recipient.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0");
        using (var opened = await recipient.GetAsync(pixel.PathAndQuery))
        {
            opened.EnsureSuccessStatusCode();
        }

        var sends = await SeriesAsync($$"""{__name__="{{Measurement.Sends}}_count",organization="{{org}}"}""");
        var send = Assert.Single(sends);
        Assert.Equal("sendgrid", send.Labels["provider"]);
        Assert.Equal("sent", send.Labels["status"]);
        Assert.Equal([1.0], send.Values);

        var moves = await SeriesAsync($$"""{__name__="{{Measurement.JourneyTransitions}}_count",organization="{{org}}",workflow="{{workflow}}"}""");
        Assert.Contains(moves, m => m.Labels.GetValueOrDefault("to") == "welcome" && !m.Labels.ContainsKey("from"));

        var engagement = await SeriesAsync($$"""{__name__="{{Measurement.Engagement}}_count",organization="{{org}}",kind="opened"}""");
        var open = Assert.Single(engagement);
        Assert.Equal(workflow.ToString(), open.Labels["workflow"]);
        Assert.Equal("welcome", open.Labels["step"]);

        var latency = await SeriesAsync($$"""{__name__="{{Measurement.ProviderCalls}}_latency_ms",provider="sendgrid",outcome="accepted"}""");
        Assert.All(latency.SelectMany(l => l.Values), v => Assert.True(v >= 0));

        var requests = await SeriesAsync($$"""{__name__="{{Measurement.ApiRequests}}_duration_ms",method="POST",status="202"}""");
        Assert.Contains(requests, r => r.Labels["route"].StartsWith("/v1/events", StringComparison.Ordinal));
    }

    private Task<IReadOnlyList<ExportedSeries>> SeriesAsync(string selector) =>
        Eventually.WaitAsync(() => server.Server.ExportAsync(selector), s => s.Count > 0, Wait, selector);

    [GeneratedRegex("<img src=\"([^\"]*/t/o/[^\"]+)\"")]
    private static partial Regex PixelPattern();
}
