using System.Collections.Concurrent;
using Automator.Journeys;
using Microsoft.Extensions.Options;
using Automator.Infrastructure.Time;

namespace Automator.Workflows;

/// <summary>
/// Each silo's copy of the A/B winners its journeys route to, read from the workflow grain at most once per
/// <see cref="JourneyOptions.WinnerRefreshInterval"/> per workflow, so a burst of journeys reaching a tested step costs
/// one grain call. A winner, once declared, never changes; until it is known here contacts keep the weighted split.
/// </summary>
public sealed class WorkflowWinners(IGrainFactory grains, ProductClock time, IOptions<JourneyOptions> options)
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();
    private readonly ConcurrentDictionary<Guid, (Task<IReadOnlyDictionary<string, string>> Winners, DateTimeOffset Expires)> _cache = new();

    public async Task<IReadOnlyDictionary<string, string>> GetAsync(Guid organizationId, Guid workflowId)
    {
        var now = time.GetUtcNow();
        if (!_cache.TryGetValue(workflowId, out var entry) || entry.Expires <= now || entry.Winners.IsFaulted)
        {
            entry = (LoadAsync(organizationId, workflowId), now + options.Value.WinnerRefreshInterval);
            _cache[workflowId] = entry;
        }

        try
        {
            return await entry.Winners;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the winners the journey takes the weighted split; the next journey asks again.
            _cache.TryRemove(workflowId, out _);
            return None;
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> LoadAsync(Guid organizationId, Guid workflowId) =>
        await grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, workflowId)).GetWinnersAsync();
}
