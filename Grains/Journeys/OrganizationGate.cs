using System.Collections.Concurrent;

namespace Automator.Journeys;

/// <summary>At most <c>limit</c> concurrent holders per organization; one organization's calls never take another's slots.</summary>
public sealed class OrganizationGate(int limit)
{
    private readonly ConcurrentDictionary<Guid, SemaphoreSlim> _gates = new();

    public int Limit => limit;

    /// <returns>A lease to dispose when done, or null when no slot freed up within <paramref name="wait"/>.</returns>
    public async Task<IDisposable?> EnterAsync(Guid organizationId, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var gate = _gates.GetOrAdd(organizationId, _ => new SemaphoreSlim(limit, limit));
        return await gate.WaitAsync(wait, cancellationToken) ? new Lease(gate) : null;
    }

    /// <summary>Slots in use for the organization now.</summary>
    public int InUse(Guid organizationId) => _gates.TryGetValue(organizationId, out var gate) ? limit - gate.CurrentCount : 0;

    private sealed class Lease(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }
        }
    }
}
