using System.Diagnostics.Metrics;
using Automator.Infrastructure.Telemetry;

namespace Automator.UnitTests.Telemetry;

public sealed class InfluxMeasurementsTests
{
    [Fact]
    public void A_full_buffer_drops_the_oldest_points_and_counts_them_instead_of_waiting()
    {
        var buffer = new InfluxMeasurements(capacity: 3, TimeProvider.System);
        var counted = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AutomatorMeters.Name && instrument.Name == "automator.influx.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref counted, value));
        listener.Start();

        // Nothing reads the buffer: every call must still return, the later ones displacing the earlier ones.
        for (var i = 0; i < 10; i++)
        {
            buffer.SendSettled(Guid.Empty, $"provider-{i}", "sent");
        }

        Assert.Equal(7, buffer.Dropped);
        Assert.True(Interlocked.Read(ref counted) >= 7);
        var kept = new List<string>();
        while (buffer.Points.TryRead(out var point))
        {
            kept.Add(point.ToPoint().ToLineProtocol());
        }

        Assert.Equal(3, kept.Count);
        Assert.Contains("provider=provider-7", kept[0], StringComparison.Ordinal);
        Assert.Contains("provider=provider-9", kept[2], StringComparison.Ordinal);
    }

    [Fact]
    public void Points_carry_their_tags_and_fields_in_line_protocol_and_get_distinct_timestamps()
    {
        var buffer = new InfluxMeasurements(capacity: 10, TimeProvider.System);
        var organization = Guid.NewGuid();
        var workflow = Guid.NewGuid();

        buffer.Engaged(organization, workflow, "welcome", "opened");
        buffer.Engaged(organization, workflow, "welcome", "opened");
        buffer.JourneyMoved(organization, workflow, null, "welcome");
        buffer.ProviderCalled("ses", "accepted", TimeSpan.FromMilliseconds(12.5));
        buffer.ApiRequest("POST", "/v1/events", 202, TimeSpan.FromMilliseconds(3));

        var lines = new List<string>();
        while (buffer.Points.TryRead(out var point))
        {
            lines.Add(point.ToPoint().ToLineProtocol());
        }

        Assert.StartsWith($"engagement,kind=opened,organization={organization},step=welcome,workflow={workflow} count=1i ", lines[0], StringComparison.Ordinal);
        Assert.NotEqual(lines[0].Split(' ')[^1], lines[1].Split(' ')[^1]);
        Assert.StartsWith($"journey_transitions,organization={organization},to=welcome,workflow={workflow} count=1i ", lines[2], StringComparison.Ordinal);
        Assert.StartsWith("provider_calls,outcome=accepted,provider=ses latency_ms=12.5 ", lines[3], StringComparison.Ordinal);
        Assert.StartsWith("api_requests,method=POST,route=/v1/events,status=202 duration_ms=3 ", lines[4], StringComparison.Ordinal);
        Assert.Equal(0, buffer.Dropped);
    }
}
