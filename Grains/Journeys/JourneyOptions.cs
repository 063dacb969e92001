namespace Automator.Journeys;

/// <summary>Settings under <c>Automator:Journeys</c>.</summary>
public sealed class JourneyOptions
{
    public const string Section = "Automator:Journeys";

    /// <summary><c>delivery</c> (the delivery grain) or <c>log</c> (record send intents only, where no delivery layer runs).</summary>
    public string SendStep { get; set; } = "delivery";

    /// <summary>Waits due within this window also get a grain timer (sub-minute precision); longer ones deactivate.</summary>
    public TimeSpan TimerWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often each silo flushes its buffered counters to the workflow grains.</summary>
    public TimeSpan CounterFlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Outbound webhook steps may call private and loopback addresses (tests only).</summary>
    public bool AllowPrivateWebhooks { get; set; }
}
