using System.Diagnostics;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Observability;

public sealed class TraceTests
{
    [Fact]
    public async Task An_event_request_and_the_provider_call_it_causes_share_one_trace()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        using var client = harness.Web.CreateClientFor(org);
        await ObservabilityFlow.ActivateWelcomeAsync(client, template);
        var traceId = ActivityTraceId.CreateRandom();

        using var request = ObservabilityFlow.SignedUp("traced@example.com", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
        using var response = await client.SendAsync(request);

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var calls = await Eventually.WaitAsync(
            () => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)), r => r.Count > 0, TimeSpan.FromSeconds(30), "the send to reach SendGrid");
        var headers = calls[0].RequestMessage.Headers!;
        var traceParent = headers.First(h => string.Equals(h.Key, "traceparent", StringComparison.OrdinalIgnoreCase)).Value.Single();
        var parts = traceParent.Split('-');
        Assert.Equal(traceId.ToHexString(), parts[1]);
        Assert.NotEqual(request.Headers.GetValues("traceparent").Single().Split('-')[2], parts[2]);
    }
}
