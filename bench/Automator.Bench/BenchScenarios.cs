namespace Automator.Bench;

/// <summary>The benchmark scenarios by name; each writes its figures to standard output as Markdown rows.</summary>
public static class BenchScenarios
{
    public static Dictionary<string, Func<string[], Task>> All { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["postgres-upserts"] = PostgresBaseline.RunAsync,
        ["api"] = ApiBench.RunAsync,
        ["live"] = LiveBench.RunAsync,
        ["live-clients"] = LiveBench.RunClientsAsync,
        ["journeys"] = JourneyBench.RunAsync,
        ["delivery"] = DeliveryBench.RunAsync,
        ["rate"] = RateBench.RunAsync,
        ["contact-cipher"] = CipherBench.RunAsync,
        ["webhooks"] = WebhookBench.RunAsync,
        ["tracking"] = TrackingBench.RunAsync,
        ["rollups"] = RollupBench.RunAsync,
        ["influx"] = InfluxBench.RunAsync,
    };
}
