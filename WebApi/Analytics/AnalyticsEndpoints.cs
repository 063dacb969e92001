using System.Globalization;
using System.Security.Claims;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Analytics;

/// <summary>Reports from the hourly rollups: the organization's overview, one workflow per step and variant, and providers.</summary>
public static class AnalyticsEndpoints
{
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(7);
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(366);

    /// <summary>Hourly points beyond this range would be thousands per step: ask for days instead.</summary>
    public static readonly TimeSpan MaxHourlyRange = TimeSpan.FromDays(31);

    public static readonly string[] Granularities = ["hour", "day"];

    public static IEndpointRouteBuilder MapAnalyticsApi(this IEndpointRouteBuilder routes)
    {
        var analytics = routes.MapGroup("/v1/analytics").WithTags("Analytics").RequireAuthorization(Scopes.AnalyticsRead);
        analytics.MapGet("/overview", OverviewAsync);
        analytics.MapGet("/workflows/{id:guid}", WorkflowAsync);
        analytics.MapGet("/providers", ProvidersAsync);
        return routes;
    }

    private static async Task<Results<Ok<AnalyticsOverviewResponse>, ValidationProblem>> OverviewAsync(
        string? from, string? to, string? granularity, ClaimsPrincipal caller, AnalyticsStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var range = Range(validator, from, to, time);
        // Without a granularity the series is hourly up to the hourly limit and daily beyond it.
        var unit = string.IsNullOrEmpty(granularity)
            ? (validator.IsValid && range.To - range.From > MaxHourlyRange ? "day" : "hour")
            : Granularity(validator, granularity, range);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        var counts = await store.OverviewAsync(organizationId, range, cancellationToken);
        var series = await store.OverviewSeriesAsync(organizationId, range, unit, cancellationToken);
        return TypedResults.Ok(new AnalyticsOverviewResponse(range.From, range.To, unit, counts, AnalyticsRates.Of(counts), series));
    }

    private static string Granularity(Validator validator, string unit, AnalyticsRange range)
    {
        if (!Granularities.Contains(unit, StringComparer.Ordinal))
        {
            validator.Add("granularity", "must be hour or day.");
        }
        else if (unit == "hour" && validator.IsValid && range.To - range.From > MaxHourlyRange)
        {
            validator.Add("granularity", $"hour covers at most {MaxHourlyRange.TotalDays:0} days; use day for a longer range.");
        }

        return unit;
    }

    private static async Task<Results<Ok<AnalyticsProvidersResponse>, ValidationProblem>> ProvidersAsync(
        string? from, string? to, ClaimsPrincipal caller, AnalyticsStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var range = Range(validator, from, to, time);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var providers = await store.ProvidersAsync(caller.GetOrganizationId(), range, cancellationToken);
        return TypedResults.Ok(new AnalyticsProvidersResponse(range.From, range.To, providers));
    }

    private static async Task<Results<Ok<WorkflowAnalyticsResponse>, ValidationProblem, ProblemHttpResult>> WorkflowAsync(
        Guid id, string? from, string? to, string? granularity, string? version, ClaimsPrincipal caller, AnalyticsStore store,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var range = Range(validator, from, to, time);
        int? onlyVersion = null;
        if (!string.IsNullOrEmpty(version))
        {
            if (int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && parsed >= 1)
            {
                onlyVersion = parsed;
            }
            else
            {
                validator.Add("version", "must be a published version number (1 or more).");
            }
        }

        var unit = Granularity(validator, string.IsNullOrEmpty(granularity) ? "hour" : granularity, range);

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        if (!await store.WorkflowExistsAsync(organizationId, id, cancellationToken))
        {
            return ApiResults.NotFound("Workflow");
        }

        var rows = await store.WorkflowAsync(organizationId, id, range, unit, onlyVersion, cancellationToken);
        var total = rows.Aggregate(AnalyticsCounts.Zero, (sum, r) => sum.Add(r.Counts));
        var steps = rows.Where(r => r.StepId.Length > 0).GroupBy(r => r.StepId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(step =>
            {
                var counts = step.Aggregate(AnalyticsCounts.Zero, (sum, r) => sum.Add(r.Counts));
                var variants = step.Where(r => r.Variant.Length > 0).GroupBy(r => r.Variant, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .Select(v =>
                    {
                        // A variant's goals are the conversions of the journeys it was sent to.
                        var variantCounts = v.Aggregate(AnalyticsCounts.Zero, (sum, r) => sum.Add(r.Counts)) with { Goals = v.Sum(r => r.VariantGoals) };
                        return new VariantFigures(v.Key, variantCounts, AnalyticsRates.Of(variantCounts));
                    }).ToList();
                return new StepFigures(step.Key, counts, AnalyticsRates.Of(counts), variants, Series(step));
            }).ToList();
        return TypedResults.Ok(new WorkflowAnalyticsResponse(id, range.From, range.To, unit, onlyVersion, total, AnalyticsRates.Of(total), steps, Series(rows)));
    }

    private static List<AnalyticsPoint> Series(IEnumerable<(DateTimeOffset At, string StepId, string Variant, AnalyticsCounts Counts, long VariantGoals)> rows) =>
        rows.GroupBy(r => r.At).OrderBy(g => g.Key).Select(g => new AnalyticsPoint(g.Key, g.Aggregate(AnalyticsCounts.Zero, (sum, r) => sum.Add(r.Counts)))).ToList();

    /// <summary>from and to as ISO 8601 instants; by default the 7 days up to now.</summary>
    private static AnalyticsRange Range(Validator validator, string? from, string? to, TimeProvider time)
    {
        var end = Instant(validator, "to", to) ?? time.GetUtcNow();
        var start = Instant(validator, "from", from);
        if (!validator.IsValid)
        {
            return default;
        }

        if (start is null)
        {
            if (end - DateTimeOffset.MinValue < DefaultRange)
            {
                validator.Add("to", "is too early.");
                return default;
            }

            start = end - DefaultRange;
        }

        if (start > end)
        {
            validator.Add("from", "must not be after to.");
        }
        else if (end - start.Value > MaxRange)
        {
            validator.Add("to", $"must be at most {MaxRange.TotalDays:0} days after from.");
        }

        return new AnalyticsRange(start.Value, end);
    }

    private static DateTimeOffset? Instant(Validator validator, string field, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (value.Length > 40 || value.Any(c => !(char.IsAsciiDigit(c) || c is 'T' or 'Z' or 't' or 'z' or ':' or '-' or '+' or '.'))
            || !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            validator.Add(field, "must be an ISO 8601 date and time, e.g. 2026-01-31T00:00:00Z.");
            return null;
        }

        return parsed.ToUniversalTime();
    }
}
