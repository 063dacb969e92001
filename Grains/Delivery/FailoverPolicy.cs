namespace Automator.Delivery;

/// <summary>What to do with one send after its provider answered.</summary>
public enum SendDisposition
{
    /// <summary>Accepted: record the provider message id; never send again.</summary>
    Done,

    /// <summary>Queue again later, on whichever provider is routable then.</summary>
    Retry,

    /// <summary>Give up: the send is failed with the provider's reason.</summary>
    Fail,

    /// <summary>Ambiguous under at-most-once: status unknown, never resent.</summary>
    Unknown,
}

public enum AmbiguousPolicy
{
    /// <summary>Default: a message that may have gone out is not sent again (status unknown).</summary>
    AtMostOnce,

    /// <summary>Resend after an ambiguous outcome, accepting a possible duplicate.</summary>
    AtLeastOnce,
}

/// <summary>The providers' states as a worker sees them when choosing where a batch goes.</summary>
public sealed record ProviderView(string Name, CircuitPosition Circuit, bool Paused);

/// <summary>Where a batch goes: its provider, and whether it is a single half-open probe.</summary>
public sealed record Route(string Provider, bool Probe);

/// <summary>
/// Routing and retry decisions across the primary and failover providers: open circuit or paused -> the other
/// provider; half-open -> one probe to the recovering provider while the rest stays on the failover; permanent 4xx
/// -> fail, never fail over; ambiguous -> the organization's policy.
/// </summary>
public static class FailoverPolicy
{
    public const int MaxAttempts = 5;

    /// <summary>Providers to lease from, in order; empty when nothing can send now.</summary>
    public static IReadOnlyList<Route> Routes(ProviderView primary, ProviderView? secondary)
    {
        var routes = new List<Route>(2);
        if (Usable(primary))
        {
            return [new Route(primary.Name, false)];
        }

        if (!primary.Paused && primary.Circuit == CircuitPosition.HalfOpen)
        {
            routes.Add(new Route(primary.Name, true));
        }

        if (secondary is not null && Usable(secondary))
        {
            routes.Add(new Route(secondary.Name, false));
        }
        else if (secondary is { Paused: false, Circuit: CircuitPosition.HalfOpen })
        {
            routes.Add(new Route(secondary.Name, true));
        }

        return routes;
    }

    public static SendDisposition Decide(ProviderOutcome outcome, int attempts, AmbiguousPolicy policy) => outcome.Kind switch
    {
        OutcomeKind.Accepted => SendDisposition.Done,
        OutcomeKind.Permanent => SendDisposition.Fail,
        OutcomeKind.Throttled => SendDisposition.Retry,
        OutcomeKind.Transient => attempts >= MaxAttempts ? SendDisposition.Fail : SendDisposition.Retry,
        OutcomeKind.Ambiguous when policy == AmbiguousPolicy.AtMostOnce => SendDisposition.Unknown,
        OutcomeKind.Ambiguous => attempts >= MaxAttempts ? SendDisposition.Fail : SendDisposition.Retry,
        _ => SendDisposition.Fail,
    };

    /// <summary>Pause before retrying a transient failure, growing with the attempts.</summary>
    public static TimeSpan RetryDelay(ProviderOutcome outcome, int attempts) => outcome.Kind == OutcomeKind.Throttled
        ? outcome.RetryAfter ?? TimeSpan.FromSeconds(1)
        : TimeSpan.FromMilliseconds(Math.Min(5_000, 100 * Math.Pow(2, Math.Max(0, attempts - 1))));

    private static bool Usable(ProviderView view) => !view.Paused && view.Circuit == CircuitPosition.Closed;
}
