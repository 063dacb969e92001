namespace Automator.WebApi.Analytics;

/// <summary>Counts of one slice: opened and clicked are unique (a send's first human open or click), goals are conversions.</summary>
public sealed record AnalyticsCounts(
    long Sent, long Delivered, long Opened, long Clicked, long Bounced, long Complained, long Unsubscribed, long Goals)
{
    public static readonly AnalyticsCounts Zero = new(0, 0, 0, 0, 0, 0, 0, 0);

    public AnalyticsCounts Add(AnalyticsCounts other) => new(
        Sent + other.Sent, Delivered + other.Delivered, Opened + other.Opened, Clicked + other.Clicked, Bounced + other.Bounced,
        Complained + other.Complained, Unsubscribed + other.Unsubscribed, Goals + other.Goals);
}

/// <summary>Each count over the sends of the same slice (0 when nothing was sent), to four decimals.</summary>
public sealed record AnalyticsRates(
    double Delivered, double Opened, double Clicked, double Bounced, double Complained, double Unsubscribed, double Goals)
{
    public static AnalyticsRates Of(AnalyticsCounts c) => new(
        Rate(c.Delivered, c.Sent), Rate(c.Opened, c.Sent), Rate(c.Clicked, c.Sent), Rate(c.Bounced, c.Sent),
        Rate(c.Complained, c.Sent), Rate(c.Unsubscribed, c.Sent), Rate(c.Goals, c.Sent));

    private static double Rate(long count, long sent) => sent == 0 ? 0 : Math.Round((double)count / sent, 4);
}

public sealed record AnalyticsOverviewResponse(
    DateTimeOffset From, DateTimeOffset To, string Granularity, AnalyticsCounts Counts, AnalyticsRates Rates, IReadOnlyList<AnalyticsPoint> Series);

public sealed record ProviderFigures(string Provider, AnalyticsCounts Counts, AnalyticsRates Rates);

public sealed record AnalyticsProvidersResponse(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<ProviderFigures> Providers);

public sealed record AnalyticsPoint(DateTimeOffset At, AnalyticsCounts Counts);

public sealed record VariantFigures(string Variant, AnalyticsCounts Counts, AnalyticsRates Rates);

public sealed record StepFigures(
    string StepId, AnalyticsCounts Counts, AnalyticsRates Rates, IReadOnlyList<VariantFigures> Variants, IReadOnlyList<AnalyticsPoint> Series);

public sealed record WorkflowAnalyticsResponse(
    Guid WorkflowId, DateTimeOffset From, DateTimeOffset To, string Granularity, int? Version, AnalyticsCounts Counts, AnalyticsRates Rates,
    IReadOnlyList<StepFigures> Steps, IReadOnlyList<AnalyticsPoint> Series);
