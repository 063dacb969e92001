using Automator.Workflows;

namespace Automator.UnitTests.Workflows;

public sealed class SequentialWinnerTestTests
{
    private const int Runs = 200;
    private const int MinSamples = 100;
    private const double Confidence = 0.95;

    /// <summary>The documented horizon: with 5% against 10%, the test decides within this many sends per variant.</summary>
    private const int Horizon = 3000;

    /// <summary>
    /// Contacts alternate between A and B (as the weighted split does over many contacts); the test is looked at after
    /// every pair, the most peeking possible. Returns the winner, or null when none was declared by the horizon.
    /// </summary>
    private static string? Simulate(Random random, double rateA, double rateB, int horizon)
    {
        long successesA = 0, successesB = 0;
        for (var n = 1; n <= horizon; n++)
        {
            successesA += random.NextDouble() < rateA ? 1 : 0;
            successesB += random.NextDouble() < rateB ? 1 : 0;
            var decision = SequentialWinnerTest.Decide([new VariantTally("A", n, successesA), new VariantTally("B", n, successesB)], MinSamples, Confidence);
            if (decision is not null)
            {
                return decision.Winner;
            }
        }

        return null;
    }

    [Fact]
    public void Twice_the_click_rate_wins_within_the_horizon_in_at_least_95_percent_of_runs()
    {
        var random = new Random(20261206);
        var bWins = 0;
        for (var run = 0; run < Runs; run++)
        {
            bWins += Simulate(random, 0.05, 0.10, Horizon) == "B" ? 1 : 0;
        }

        Assert.True(bWins >= Runs * 95 / 100, $"B won {bWins} of {Runs}");
    }

    [Fact]
    public void Equal_variants_declare_a_winner_in_at_most_5_percent_of_runs_despite_peeking()
    {
        var random = new Random(42);
        var winners = 0;
        for (var run = 0; run < Runs; run++)
        {
            winners += Simulate(random, 0.05, 0.05, Horizon * 2) is not null ? 1 : 0;
        }

        Assert.True(winners <= Runs * 5 / 100, $"{winners} of {Runs} A/A runs declared a winner");
    }

    [Fact]
    public void No_decision_before_the_minimum_samples()
    {
        Assert.Null(SequentialWinnerTest.Decide([new VariantTally("A", 99, 0), new VariantTally("B", 99, 60)], 50, Confidence));
        Assert.Null(SequentialWinnerTest.Decide([new VariantTally("A", 400, 0), new VariantTally("B", 300, 150)], 500, Confidence));
    }

    [Fact]
    public void A_clear_difference_is_declared_with_its_figures()
    {
        var decision = SequentialWinnerTest.Decide([new VariantTally("A", 1000, 50), new VariantTally("B", 1000, 120)], MinSamples, Confidence);

        Assert.NotNull(decision);
        Assert.Equal("B", decision.Winner);
        Assert.Equal("A", decision.RunnerUp);
        Assert.True(decision.Statistic >= decision.Threshold);
        Assert.Equal(20, decision.Threshold, 6);
    }

    [Fact]
    public void Among_three_variants_the_winner_must_beat_the_runner_up()
    {
        // C is far ahead of A but not of B: no winner yet.
        Assert.Null(SequentialWinnerTest.Decide(
            [new VariantTally("A", 1000, 20), new VariantTally("B", 1000, 100), new VariantTally("C", 1000, 102)], MinSamples, Confidence));
    }
}
