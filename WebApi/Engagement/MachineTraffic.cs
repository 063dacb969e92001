namespace Automator.WebApi.Engagement;

/// <summary>
/// Tells a person's open or click from a machine's: link scanners of mail security gateways, link-preview bots and
/// HTTP libraries fetch tracked URLs without anyone reading the email. A <c>HEAD</c> request, an empty user agent, or
/// one containing any of the configured fragments (case-insensitive) is a machine. Such traffic is recorded and
/// flagged, but branches, stats and the engagement score count only people.
/// </summary>
public sealed class MachineTraffic(IReadOnlyList<string> userAgentFragments)
{
    /// <summary>The default fragments (<c>Automator:Tracking:MachineUserAgents</c> replaces them).</summary>
    public static readonly IReadOnlyList<string> DefaultFragments =
    [
        "bot", "crawler", "spider", "preview", "scanner", "barracuda", "mimecast", "proofpoint", "urldefense", "messagelabs",
        "symantec", "trendmicro", "fireeye", "forcepoint", "sophos", "zscaler", "safelinks", "cisco", "ironport", "checkpoint",
        "python-requests", "python-urllib", "go-http-client", "curl/", "wget", "okhttp", "java/", "libwww-perl", "httpclient",
        "headlesschrome", "phantomjs", "facebookexternalhit", "skypeuripreview", "whatsapp",
    ];

    public bool IsMachine(string method, string? userAgent)
    {
        if (HttpMethods.IsHead(method) || string.IsNullOrWhiteSpace(userAgent))
        {
            return true;
        }

        foreach (var fragment in userAgentFragments)
        {
            if (userAgent.Contains(fragment, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Engagement settings (<c>Automator:Tracking</c> and <c>Automator:Suppression</c>).</summary>
public sealed class EngagementOptions
{
    /// <summary>User-agent fragments that mark machine traffic; unset: <see cref="MachineTraffic.DefaultFragments"/>.</summary>
    public List<string>? MachineUserAgents { get; set; }

    /// <summary>Soft bounces of one address within <see cref="SoftBouncePeriod"/> that suppress it.</summary>
    public int SoftBounceLimit { get; set; } = 3;

    public TimeSpan SoftBouncePeriod { get; set; } = TimeSpan.FromDays(30);

    public static EngagementOptions From(IConfiguration configuration)
    {
        var options = new EngagementOptions();
        var fragments = configuration.GetSection("Automator:Tracking:MachineUserAgents").Get<List<string>>();
        if (fragments is { Count: > 0 })
        {
            options.MachineUserAgents = fragments;
        }

        var suppression = configuration.GetSection("Automator:Suppression");
        if (int.TryParse(suppression["SoftBounceLimit"], System.Globalization.CultureInfo.InvariantCulture, out var limit) && limit > 0)
        {
            options.SoftBounceLimit = limit;
        }

        if (TimeSpan.TryParse(suppression["SoftBouncePeriod"], System.Globalization.CultureInfo.InvariantCulture, out var period) && period > TimeSpan.Zero)
        {
            options.SoftBouncePeriod = period;
        }

        return options;
    }
}
