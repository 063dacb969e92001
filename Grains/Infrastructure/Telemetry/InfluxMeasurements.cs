using System.Diagnostics.Metrics;
using System.Threading.Channels;

namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// Keeps each measurement in a bounded in-memory buffer for <see cref="InfluxWriter"/>, which turns it into an InfluxDB
/// point. Telling a measurement never waits: when the buffer is full the oldest one is dropped and counted
/// (<c>automator.influx.dropped</c>), so a slow or absent time-series server cannot slow sending or ingest.
/// </summary>
public sealed class InfluxMeasurements : IMeasurements
{
    private static readonly Counter<long> DroppedPoints = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.influx.dropped", description: "Measurements dropped because the InfluxDB buffer was full");

    private readonly Channel<Measurement> _points;
    private readonly TimeProvider _time;
    private long _dropped;
    private long _sequence;

    public InfluxMeasurements(int capacity, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        _points = Channel.CreateBounded<Measurement>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
    }

    /// <summary>Measurements dropped so far by this buffer.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<Measurement> Points => _points.Reader;

    /// <summary>No more measurements: the writer drains what is left and stops.</summary>
    public void Complete() => _points.Writer.TryComplete();

    public void SendSettled(Guid organizationId, string provider, string status) =>
        Write(new Measurement(MeasurementKind.Send, Now(), organizationId, null, provider, status, null, 1));

    public void ProviderCalled(string provider, string outcome, TimeSpan latency) =>
        Write(new Measurement(MeasurementKind.ProviderCall, Now(), Guid.Empty, null, provider, outcome, null, latency.TotalMilliseconds));

    public void Engaged(Guid organizationId, Guid? workflowId, string? stepId, string kind) =>
        Write(new Measurement(MeasurementKind.Engagement, Now(), organizationId, workflowId, stepId, kind, null, 1));

    public void JourneyMoved(Guid organizationId, Guid workflowId, string? fromStep, string? toStep) =>
        Write(new Measurement(MeasurementKind.JourneyTransition, Now(), organizationId, workflowId, fromStep, toStep, null, 1));

    public void ApiRequest(string method, string route, int status, TimeSpan duration) =>
        Write(new Measurement(MeasurementKind.ApiRequest, Now(), Guid.Empty, null, method, route, Measurement.StatusText(status), duration.TotalMilliseconds));

    // Points of one series at the same instant would overwrite each other in the store: each gets its own nanosecond.
    private long Now() => (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100 + (Interlocked.Increment(ref _sequence) % 100);

    private void Write(Measurement measurement)
    {
        if (!_points.Writer.TryWrite(measurement))
        {
            OnDropped(measurement);
        }
    }

    private void OnDropped(Measurement measurement)
    {
        Interlocked.Increment(ref _dropped);
        DroppedPoints.Add(1);
    }
}
