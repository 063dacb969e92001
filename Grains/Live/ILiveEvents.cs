namespace Automator.Live;

/// <summary>
/// What the engine tells the live dashboards. Every method returns at once: calls are coalesced in memory and
/// shipped to the dashboards once per flush window, so a journey grain can call this on every transition.
/// </summary>
public interface ILiveEvents
{
    /// <summary>A journey moved: <paramref name="fromStep"/> null on entry, <paramref name="toStep"/> null on exit.</summary>
    void JourneyMoved(Guid organizationId, Guid workflowId, string journeyId, Guid contactId, string? fromStep, string? toStep, DateTimeOffset at);

    /// <summary>A provider changed state (healthy, degraded, open, paused); a null organization means every organization.</summary>
    void ProviderStateChanged(Guid? organizationId, string provider, string state);

    /// <summary>A provider accepted a message.</summary>
    void SendRecorded(Guid organizationId, string provider);

    /// <summary>Events were ingested through the API.</summary>
    void EventsIngested(Guid organizationId, int count = 1);
}
