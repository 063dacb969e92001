namespace Automator.Workflows;

/// <summary>Samples (contacts sent, or entered for goals) and successes of one variant.</summary>
public readonly record struct VariantTally(string Variant, long Samples, long Successes)
{
    public double Rate => Samples == 0 ? 0 : (double)Successes / Samples;
}

/// <summary>A declared winner with the figures it was decided on.</summary>
public sealed record WinnerDecision(string Winner, string RunnerUp, IReadOnlyList<VariantTally> Tallies, double Statistic, double Threshold);

/// <summary>
/// Decides an A/B winner with a mixture sequential probability ratio test (mSPRT) on the difference of two proportions,
/// normal approximation, mixing distribution N(0, τ²) over the difference. Its likelihood ratio
/// Λ = √(V/(V+τ²)) · exp(d²τ² / (2V(V+τ²))), with d the difference of the rates and V its variance under no difference (pooled rate), is a
/// martingale under "no difference", so P(Λ ever reaches 1/α) ≤ α however often it is looked at: checking after every
/// send (peeking) does not raise the false-positive rate, unlike a fixed-sample test repeated. Between more than two
/// variants the best and the runner-up are compared, so a winner must beat every other variant.
/// </summary>
public static class SequentialWinnerTest
{
    /// <summary>The mixing spread over the difference of rates: effects of a few percentage points are what email tests find.</summary>
    public const double Tau = 0.05;

    /// <summary>Fewer samples than this per variant make the normal approximation unsafe whatever the caller asks.</summary>
    public const int FloorSamples = 100;

    /// <returns>The winner, or null while the evidence is not enough.</returns>
    public static WinnerDecision? Decide(IReadOnlyList<VariantTally> tallies, int minSamples, double confidence)
    {
        if (tallies.Count < 2 || confidence is <= 0.5 or >= 1)
        {
            return null;
        }

        var needed = Math.Max(minSamples, FloorSamples);
        if (tallies.Any(t => t.Samples < needed))
        {
            return null;
        }

        var ranked = tallies.OrderByDescending(t => t.Rate).ThenBy(t => t.Variant, StringComparer.Ordinal).ToList();
        var best = ranked[0];
        var second = ranked[1];
        var statistic = LikelihoodRatio(best, second);
        var threshold = 1 / (1 - confidence);
        return statistic >= threshold && best.Rate > second.Rate ? new WinnerDecision(best.Variant, second.Variant, tallies, statistic, threshold) : null;
    }

    public static double LikelihoodRatio(VariantTally a, VariantTally b)
    {
        // The variance of the difference under "no difference" (pooled rate, half a success and half a failure added so
        // that no rate of exactly 0 or 1 leaves it at zero).
        var pooled = (a.Successes + b.Successes + 1.0) / (a.Samples + b.Samples + 2.0);
        var v = pooled * (1 - pooled) * (1.0 / a.Samples + 1.0 / b.Samples);
        var d = a.Rate - b.Rate;
        var tau2 = Tau * Tau;
        var exponent = d * d * tau2 / (2 * v * (v + tau2));
        return Math.Sqrt(v / (v + tau2)) * Math.Exp(Math.Min(exponent, 700));
    }
}
