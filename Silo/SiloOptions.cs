namespace Automator.Silo;

/// <summary>Settings under <c>Automator:Orleans</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "Automator:Orleans";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    public string ClusterId { get; set; } = "automator";

    public string ServiceId { get; set; } = "automator";

    /// <summary>Address other silos and clients reach this silo at; loopback when unset (one machine).</summary>
    public string? AdvertisedIp { get; set; }

    /// <summary>Use Orleans' Kubernetes hosting (pod name, namespace and IP from the downward API).</summary>
    public bool Kubernetes { get; set; }

    /// <summary>Shortest reminder period accepted; lowered in tests, one minute in production.</summary>
    public TimeSpan MinimumReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Settings under <c>Automator:Hosting</c>: which front ends this process co-hosts.</summary>
public sealed class HostingOptions
{
    public const string Section = "Automator:Hosting";

    public bool WebApi { get; set; } = true;

    public bool Dashboard { get; set; } = true;
}

/// <summary>Settings under <c>Automator:LocalPostgres</c>: a PostgreSQL the process starts itself (run script).</summary>
public sealed class LocalPostgresOptions
{
    public const string Section = "Automator:LocalPostgres";

    public string? DataDirectory { get; set; }

    public int Port { get; set; } = 5433;

    public string Database { get; set; } = "automator";
}
