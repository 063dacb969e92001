namespace Automator.Infrastructure.Telemetry;

/// <summary>Settings under <c>Automator:InfluxDb</c>: where measurements go. Off while <see cref="Url"/> is unset.</summary>
public sealed class InfluxOptions
{
    public const string Section = "Automator:InfluxDb";

    /// <summary>Base URL of a server speaking the InfluxDB v2 write API, e.g. <c>http://influxdb:8086</c>.</summary>
    public string? Url { get; set; }

    public string? Token { get; set; }

    public string Org { get; set; } = "automator";

    public string Bucket { get; set; } = "automator";

    /// <summary>Measurements held in memory while the writer catches up; past this the oldest are dropped and counted.</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>Points per write request.</summary>
    public int BatchSize { get; set; } = 1_000;

    /// <summary>Longest a point waits for its batch to fill before it is written anyway.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);
}
