using Microsoft.AspNetCore.SignalR;

namespace Automator.Dashboard.Live;

/// <summary>
/// The live hub. Its methods are empty on purpose: grains push through <see cref="IHubContext{THub}"/>; a
/// connection only ever joins its own organization's group.
/// </summary>
public sealed class LiveHub : Hub
{
}
