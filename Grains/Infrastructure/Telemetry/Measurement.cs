using System.Globalization;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace Automator.Infrastructure.Telemetry;

public enum MeasurementKind
{
    Send,
    ProviderCall,
    Engagement,
    JourneyTransition,
    ApiRequest,
}

/// <summary>
/// One measurement as told, kept as a small value until the writer turns it into an InfluxDB point, so the caller pays
/// for a channel write and nothing more. The meaning of <see cref="First"/>, <see cref="Second"/> and
/// <see cref="Third"/> depends on the kind (see <see cref="ToPoint"/>).
/// </summary>
public readonly record struct Measurement(
    MeasurementKind Kind, long TimestampNanoseconds, Guid Organization, Guid? Workflow, string? First, string? Second, string? Third, double Value)
{
    public const string Sends = "sends";
    public const string ProviderCalls = "provider_calls";
    public const string Engagement = "engagement";
    public const string JourneyTransitions = "journey_transitions";
    public const string ApiRequests = "api_requests";

    public PointData ToPoint()
    {
        var point = Kind switch
        {
            MeasurementKind.Send => PointData.Measurement(Sends).Tag("organization", Org).Tag("provider", First).Tag("status", Second).Field("count", 1L),
            MeasurementKind.ProviderCall => PointData.Measurement(ProviderCalls).Tag("provider", First).Tag("outcome", Second).Field("latency_ms", Value),
            MeasurementKind.Engagement => PointData.Measurement(Engagement).Tag("organization", Org).Tag("workflow", Workflow?.ToString())
                .Tag("step", First).Tag("kind", Second).Field("count", 1L),
            MeasurementKind.JourneyTransition => PointData.Measurement(JourneyTransitions).Tag("organization", Org).Tag("workflow", Workflow?.ToString())
                .Tag("from", First).Tag("to", Second).Field("count", 1L),
            MeasurementKind.ApiRequest => PointData.Measurement(ApiRequests).Tag("method", First).Tag("route", Second).Tag("status", Third)
                .Field("duration_ms", Value),
            _ => throw new InvalidOperationException($"Unknown measurement kind {Kind}."),
        };
        return point.Timestamp(TimestampNanoseconds, WritePrecision.Ns);
    }

    private string Org => Organization.ToString();

    internal static string StatusText(int status) => status switch
    {
        200 => "200",
        201 => "201",
        202 => "202",
        204 => "204",
        _ => status.ToString(CultureInfo.InvariantCulture),
    };
}
