using System.Diagnostics.Metrics;

namespace Automator;

/// <summary>The product's own OpenTelemetry meter.</summary>
public static class AutomatorMeters
{
    public const string Name = "Automator";

    public static readonly Meter Meter = new(Name);
}
