using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;

namespace Automator.WebApi.Ai;

/// <summary>The outcome of asking for variants: the variants, or why none can be given.</summary>
public sealed record WriteOutcome(IReadOnlyList<Variant>? Variants, string Provider, bool BudgetSpent = false, AiProviderException? Failure = null);

/// <summary>
/// Answers a brief from the cache when it can; otherwise reserves budget, asks the generator, checks every variant
/// against <see cref="VariantRules"/> and charges the tokens it cost. Nothing is cached that failed the checks.
/// </summary>
public sealed class VariantWriter(IVariantGenerator generator, AiBudget budget, AiResultCache cache, IOptions<AiOptions> options, ILogger<VariantWriter> logger)
{
    private static readonly Counter<long> Generations = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.ai.generations", description: "AI variant requests by provider, kind and outcome (cached, generated, budget_spent or the failure's cause)");

    private static readonly Counter<long> Tokens = AutomatorMeters.Meter.CreateCounter<long>(
        "automator.ai.tokens", description: "Provider tokens charged to organizations' AI budgets, by provider");

    public string Provider => generator.Provider;

    public AiBudget Budget => budget;

    public async Task<WriteOutcome> WriteAsync(Guid organizationId, VariantBrief brief, CancellationToken cancellationToken)
    {
        var key = AiResultCache.Key(organizationId, generator.Provider, options.Value.Model, brief);
        if (cache.TryGet(key, out var cached))
        {
            Count(brief, "cached");
            return new WriteOutcome(cached, generator.Provider);
        }

        if (await budget.TryReserveAsync(organizationId, cancellationToken) is not { } day)
        {
            Count(brief, "budget_spent");
            return new WriteOutcome(null, generator.Provider, BudgetSpent: true);
        }

        Generation generation;
        try
        {
            generation = await generator.GenerateAsync(brief, cancellationToken);
        }
        catch (AiProviderException e)
        {
            logger.LogWarning(e, "AI generation for organization {OrganizationId} failed: {Failure}", organizationId, e.Failure);
            Count(brief, e.Failure.Cause());
            return new WriteOutcome(null, generator.Provider, Failure: e);
        }

        await budget.ChargeTokensAsync(organizationId, day, generation.Tokens, cancellationToken);
        Tokens.Add(generation.Tokens, new KeyValuePair<string, object?>("provider", generator.Provider));
        var problems = VariantRules.Check(brief.Kind, brief.Count, generation.Variants);
        if (problems.Count > 0)
        {
            var failure = new AiProviderException(AiFailure.InvalidOutput, "The AI provider's variants failed the output checks: " + string.Join(" ", problems.Take(5)));
            logger.LogWarning("AI generation for organization {OrganizationId} failed the output checks: {Problems}", organizationId, string.Join(" ", problems));
            Count(brief, failure.Failure.Cause());
            return new WriteOutcome(null, generator.Provider, Failure: failure);
        }

        cache.Set(key, generation.Variants);
        Count(brief, "generated");
        return new WriteOutcome(generation.Variants, generator.Provider);
    }

    private void Count(VariantBrief brief, string outcome) => Generations.Add(1,
        new KeyValuePair<string, object?>("provider", generator.Provider),
        new KeyValuePair<string, object?>("kind", brief.Kind == VariantKind.SubjectLines ? "subject_lines" : "content"),
        new KeyValuePair<string, object?>("outcome", outcome));
}
