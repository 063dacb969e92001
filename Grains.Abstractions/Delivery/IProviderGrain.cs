namespace Automator.Delivery;

/// <summary>
/// One provider account (key: provider name, e.g. <c>sendgrid</c>): owns the cluster-wide rate (token bucket), the
/// circuit, the operator's pause, and the last minute's counts. Sending workers lease send slots in batches and report
/// outcomes back in batches, so no grain call per email sits on the send path.
/// </summary>
public interface IProviderGrain : IGrainWithStringKey
{
    /// <summary>Books up to <paramref name="requested"/> send slots; with <paramref name="probe"/>, asks for the half-open probe.</summary>
    Task<ProviderLease> LeaseAsync(int requested, bool probe);

    /// <summary>Outcomes of sends made under earlier leases, in the order they completed.</summary>
    Task ReportAsync(ProviderReport report);

    Task<ProviderStatus> GetStatusAsync();

    /// <summary>Operator: stop sending through this provider (traffic fails over or waits) until resumed.</summary>
    Task PauseAsync();

    Task ResumeAsync();
}

public enum ProviderHealth
{
    Healthy,
    Degraded,
    Open,
    Paused,
}

public enum ProviderCircuitState
{
    Closed,
    Open,
    HalfOpen,
}

[GenerateSerializer, Alias("delivery.provider-lease"), Immutable]
public sealed class ProviderLease
{
    [Id(0)] public int Count { get; init; }
    [Id(1)] public DateTimeOffset FirstSlot { get; init; }
    [Id(2)] public TimeSpan Interval { get; init; }

    /// <summary>When nothing was granted: how long until asking again can help.</summary>
    [Id(3)] public TimeSpan RetryAfter { get; init; }
    [Id(4)] public ProviderCircuitState Circuit { get; init; }
    [Id(5)] public bool Paused { get; init; }

    /// <summary>The UTC day whose quota the slots count against; unused ones are handed back with it.</summary>
    [Id(6)] public DateOnly Day { get; init; }
}

[GenerateSerializer, Alias("delivery.provider-report")]
public sealed class ProviderReport
{
    /// <summary>Outcome kinds by their <c>OutcomeKind</c> value, in completion order.</summary>
    [Id(0)] public List<int> Outcomes { get; set; } = [];

    /// <summary>The longest wait a throttled answer asked for, if any named one.</summary>
    [Id(1)] public TimeSpan? ThrottleRetryAfter { get; set; }

    [Id(2)] public int Throttled { get; set; }

    /// <summary>Leased slots the worker did not use, in all.</summary>
    [Id(3)] public int Unused { get; set; }

    /// <summary>
    /// The same unused slots by the UTC day of the lease they came from (<see cref="ProviderLease.Day"/>), so a return
    /// that arrives after midnight credits the day it was leased in, not the new one.
    /// </summary>
    [Id(4)] public Dictionary<DateOnly, int> UnusedByDay { get; set; } = [];

    /// <summary>Hands back <paramref name="count"/> slots of a lease made on <paramref name="day"/>.</summary>
    public void Return(int count, DateOnly day)
    {
        if (count > 0)
        {
            Unused += count;
            UnusedByDay[day] = UnusedByDay.GetValueOrDefault(day) + count;
        }
    }

    public bool IsEmpty => Outcomes.Count == 0 && Unused == 0;
}

[GenerateSerializer, Alias("delivery.provider-status")]
public sealed class ProviderStatus
{
    [Id(0)] public string Name { get; set; } = "";
    [Id(1)] public ProviderHealth State { get; set; }

    /// <summary>The rate in force now (lower than configured while backing off after throttling).</summary>
    [Id(2)] public double RatePerSecond { get; set; }
    [Id(3)] public double ConfiguredRatePerSecond { get; set; }
    [Id(4)] public long SentLastMinute { get; set; }
    [Id(5)] public long ErrorsLastMinute { get; set; }
    [Id(6)] public ProviderCircuitState Circuit { get; set; }
    [Id(7)] public long? DailyLimit { get; set; }
    [Id(8)] public long SentToday { get; set; }
}
