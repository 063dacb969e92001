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

    /// <summary>
    /// Send intents still unacknowledged in storage this long after they were recorded are handed to delivery again
    /// (deduplicated there by send key): what brings back a send whose silo died, or whose delivery call failed, after
    /// its journey ended.
    /// </summary>
    public TimeSpan PendingSendRetry { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a silo keeps a workflow's A/B winners before asking the workflow again (a new winner takes at most this long to apply).</summary>
    public TimeSpan WinnerRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How many wake shard grains poll the wake index (each owns 256 / count slots).</summary>
    public int WakeShards { get; set; } = 8;

    /// <summary>How often each wake shard looks for due journeys.</summary>
    public TimeSpan WakePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Journeys due this soon are woken early: they arm a timer for the exact time.</summary>
    public TimeSpan WakeLookahead { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Wakes each shard has in flight at most.</summary>
    public int WakeConcurrency { get; set; } = 64;

    /// <summary>Due journeys each shard reads per query.</summary>
    public int WakeBatch { get; set; } = 1000;

    /// <summary>A contact grain idle this long is deactivated (it only routes events; its state is stored).</summary>
    public TimeSpan ContactCollectionAge { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Outbound webhook calls one organization may have in flight at once; more wait for a slot.</summary>
    public int WebhookConcurrencyPerOrganization { get; set; } = 8;

    /// <summary>Bytes of a webhook response's body read at most; the rest is never downloaded.</summary>
    public int WebhookResponseBodyLimit { get; set; } = 64 * 1024;

    /// <summary>Delay before the first retry of a webhook call that did not answer 2xx; each further retry waits four times longer.</summary>
    public TimeSpan WebhookRetryBase { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Attempts of one webhook call at most (the first included).</summary>
    public int WebhookMaxAttempts { get; set; } = 6;

    /// <summary>Outbound webhook steps may call private and loopback addresses (tests only).</summary>
    public bool AllowPrivateWebhooks { get; set; }
}
