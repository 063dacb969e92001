namespace Automator.Workflows;

/// <summary>
/// Reads a step's A/B test from the workflow's counters and asks <see cref="SequentialWinnerTest"/> whether it is decided.
/// For <c>opened</c> and <c>clicked</c> a send variant's samples are the contacts it was sent to and its successes the
/// contacts that engaged with that send (unique); a split branch's samples are the contacts that entered it and its
/// successes those that engaged with any later send of the same entry. For <c>goal</c> both count the contacts that
/// entered the variant and, of those, the ones that reached the workflow's goal.
/// </summary>
public static class AutoWinners
{
    public const string Testing = "testing";
    public const string Decided = "decided";

    /// <summary>The steps of a definition that run a test.</summary>
    public static IEnumerable<WorkflowStep> Steps(WorkflowDefinition definition) =>
        definition.Steps.Where(s => s.AutoWinner is not null && !string.IsNullOrEmpty(s.Id) && Arms(s).Count >= 2);

    /// <summary>The step's variant or branch ids, in order.</summary>
    public static List<string> Arms(WorkflowStep step) => step.Type switch
    {
        StepTypes.Send => (step.Variants ?? []).Select(v => v.Id ?? "").ToList(),
        StepTypes.Split => (step.Branches ?? []).Select(b => b.Id ?? "").ToList(),
        _ => [],
    };

    public static List<VariantTally> Tallies(WorkflowStep step, IReadOnlyDictionary<string, long> counters)
    {
        var metric = step.AutoWinner!.Metric;
        var samplesName = metric == WinnerMetrics.Goal || step.Type == StepTypes.Split ? "entered" : "sent";
        var successName = metric == WinnerMetrics.Goal ? "goals" : metric ?? "";
        return Arms(step)
            .Select(arm =>
            {
                var variant = $"{step.Id}/{arm}";
                var samples = counters.GetValueOrDefault(CounterBuffer.Key(samplesName, null, variant));
                var successes = counters.GetValueOrDefault(CounterBuffer.Key(successName, null, variant));
                return new VariantTally(arm, samples, Math.Min(successes, samples));
            })
            .ToList();
    }

    /// <summary>The step's test as it stands: decided when the sequential test declares a winner on these counters.</summary>
    public static WinnerTest Evaluate(WorkflowStep step, IReadOnlyDictionary<string, long> counters, int? version, DateTimeOffset now)
    {
        var settings = step.AutoWinner!;
        var tallies = Tallies(step, counters);
        var test = new WinnerTest
        {
            StepId = step.Id!,
            Metric = settings.Metric ?? "",
            MinSamples = Math.Max(settings.MinSamples, SequentialWinnerTest.FloorSamples),
            Confidence = settings.Confidence,
            Threshold = 1 / (1 - settings.Confidence),
            Tallies = tallies.Select(t => new WinnerTally { Variant = t.Variant, Samples = t.Samples, Successes = t.Successes, Rate = t.Rate }).ToList(),
        };

        var ranked = tallies.OrderByDescending(t => t.Rate).ThenBy(t => t.Variant, StringComparer.Ordinal).ToList();
        if (ranked.Count >= 2 && ranked[0].Samples > 0 && ranked[1].Samples > 0)
        {
            test.Statistic = SequentialWinnerTest.LikelihoodRatio(ranked[0], ranked[1]);
        }

        if (SequentialWinnerTest.Decide(tallies, settings.MinSamples, settings.Confidence) is { } decision)
        {
            test.Status = Decided;
            test.Winner = decision.Winner;
            test.RunnerUp = decision.RunnerUp;
            test.Statistic = decision.Statistic;
            test.DecidedAt = now;
            test.Version = version;
        }

        return test;
    }

    /// <summary>Tests of <paramref name="definition"/> that these counters newly decide (those already decided are skipped).</summary>
    public static List<WinnerTest> NewlyDecided(
        WorkflowDefinition definition, IReadOnlyDictionary<string, WinnerTest> decided, IReadOnlyDictionary<string, long> counters, int version, DateTimeOffset now) =>
        Steps(definition)
            .Where(step => !decided.ContainsKey(step.Id!))
            .Select(step => Evaluate(step, counters, version, now))
            .Where(test => test.Status == Decided)
            .ToList();
}
