using System.Diagnostics.Metrics;
using System.Threading.Channels;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// Turns each measurement into an InfluxDB point and leaves it in a bounded in-memory buffer for
/// <see cref="InfluxWriter"/>. Telling a measurement never waits: when the buffer is full the oldest point is dropped
/// and counted (<c>automator.influx.dropped</c>), so a slow or absent time-series server cannot slow sending or ingest.
/// </summary>
public sealed class InfluxMeasurements : IMeasurements
{
    public const string Sends = "sends";
    public const string ProviderCalls = "provider_calls";
    public const string Engagement = "engagement";
    public const string JourneyTransitions = "journey_transitions";
    public const string ApiRequests = "api_requests";

    private static readonly Counter<long> DroppedPoints = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.influx.dropped", description: "Measurements dropped because the InfluxDB buffer was full");

    private readonly Channel<PointData> _points;
    private readonly TimeProvider _time;
    private long _dropped;
    private long _sequence;

    public InfluxMeasurements(int capacity, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        _points = Channel.CreateBounded<PointData>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
    }

    /// <summary>Points dropped so far by this buffer.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<PointData> Points => _points.Reader;

    /// <summary>No more points: the writer drains what is left and stops.</summary>
    public void Complete() => _points.Writer.TryComplete();

    public void SendSettled(Guid organizationId, string provider, string status) =>
        Write(Point(Sends).Tag("organization", organizationId.ToString()).Tag("provider", provider).Tag("status", status).Field("count", 1L));

    public void ProviderCalled(string provider, string outcome, TimeSpan latency) =>
        Write(Point(ProviderCalls).Tag("provider", provider).Tag("outcome", outcome).Field("latency_ms", latency.TotalMilliseconds));

    public void Engaged(Guid organizationId, Guid? workflowId, string? stepId, string kind) =>
        Write(Point(Engagement).Tag("organization", organizationId.ToString()).Tag("workflow", workflowId?.ToString()).Tag("step", stepId).Tag("kind", kind)
            .Field("count", 1L));

    public void JourneyMoved(Guid organizationId, Guid workflowId, string? fromStep, string? toStep) =>
        Write(Point(JourneyTransitions).Tag("organization", organizationId.ToString()).Tag("workflow", workflowId.ToString())
            .Tag("from", fromStep).Tag("to", toStep).Field("count", 1L));

    public void ApiRequest(string method, string route, int status, TimeSpan duration) =>
        Write(Point(ApiRequests).Tag("method", method).Tag("route", route).Tag("status", status.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Field("duration_ms", duration.TotalMilliseconds));

    // Points of one series at the same instant would overwrite each other in the store: each gets its own nanosecond.
    private PointData Point(string measurement)
    {
        var nanoseconds = (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100 + (Interlocked.Increment(ref _sequence) % 100);
        return PointData.Measurement(measurement).Timestamp(nanoseconds, WritePrecision.Ns);
    }

    private void Write(PointData point)
    {
        if (!_points.Writer.TryWrite(point))
        {
            OnDropped(point);
        }
    }

    private void OnDropped(PointData point)
    {
        Interlocked.Increment(ref _dropped);
        DroppedPoints.Add(1);
    }
}
