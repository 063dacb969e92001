namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// Per-organization measurements for the time-series store, told from the places where each thing happens. Every
/// method returns at once and never throws: a measurement that cannot be kept is dropped and counted, never waited for.
/// </summary>
public interface IMeasurements
{
    /// <summary>A provider answered a send: <paramref name="status"/> is what the send became (sent, failed, unknown, retry).</summary>
    void SendSettled(Guid organizationId, string provider, string status);

    /// <summary>One provider request and how long it took, by what the provider answered.</summary>
    void ProviderCalled(string provider, string outcome, TimeSpan latency);

    /// <summary>A recipient reached <paramref name="kind"/> (opened, clicked, bounced...) for the first time on a send.</summary>
    void Engaged(Guid organizationId, Guid? workflowId, string? stepId, string kind);

    /// <summary>A journey moved between steps: <paramref name="fromStep"/> null on entry, <paramref name="toStep"/> null on exit.</summary>
    void JourneyMoved(Guid organizationId, Guid workflowId, string? fromStep, string? toStep);

    /// <summary>The API answered a request.</summary>
    void ApiRequest(string method, string route, int status, TimeSpan duration);
}

/// <summary>The measurements when no time-series store is configured: nothing is kept.</summary>
public sealed class NoMeasurements : IMeasurements
{
    public static readonly NoMeasurements Instance = new();

    public void SendSettled(Guid organizationId, string provider, string status)
    {
    }

    public void ProviderCalled(string provider, string outcome, TimeSpan latency)
    {
    }

    public void Engaged(Guid organizationId, Guid? workflowId, string? stepId, string kind)
    {
    }

    public void JourneyMoved(Guid organizationId, Guid workflowId, string? fromStep, string? toStep)
    {
    }

    public void ApiRequest(string method, string route, int status, TimeSpan duration)
    {
    }
}
