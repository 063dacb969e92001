namespace Automator.Delivery;

/// <summary>
/// One organization's own sending switch (key: organization id). The switch itself is a column of the organization, read
/// where each send is about to leave (a paused organization's sends stay queued); this grain releases what it held.
/// </summary>
public interface IOrganizationSendingGrain : IGrainWithGuidKey
{
    /// <summary>Hands the organization's queued sends to this silo's worker again; returns how many were released.</summary>
    Task<int> ReleaseHeldAsync();
}
