using System.Diagnostics;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Automator.IntegrationTests.Observability;

public sealed class TraceTests
{
    [Fact]
    public async Task An_event_request_and_the_provider_call_it_causes_share_one_trace()
    {
        await using var harness = await DeliveryHarness.StartAsync(settings: new Dictionary<string, string?> { ["Automator:Tracing:Enabled"] = "true" });
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

    [Fact]
    public async Task Log_lines_are_json_and_carry_the_trace_and_span_ids()
    {
        await using var harness = await DeliveryHarness.StartAsync(durable: false);

        var tracking = harness.Web.Services.GetRequiredService<IOptions<LoggerFactoryOptions>>().Value.ActivityTrackingOptions;
        Assert.True(tracking.HasFlag(ActivityTrackingOptions.TraceId));
        Assert.True(tracking.HasFlag(ActivityTrackingOptions.SpanId));
        Assert.Equal(ConsoleFormatterNames.Json, harness.Web.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        Assert.True(harness.Web.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue.IncludeScopes);
    }
}
