using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Automator.Delivery.Providers;

/// <summary>One provider account's settings (<c>Automator:Providers:{SendGrid|Ses}</c>).</summary>
public sealed class ProviderAccountOptions
{
    public double RatePerSecond { get; set; } = 100;

    public long? DailyQuota { get; set; }

    public int Burst { get; set; } = 1;

    /// <summary>Warm-up: daily caps from <see cref="WarmUpStart"/> on, e.g. <c>50,100,500,1000</c>.</summary>
    public string? WarmUp { get; set; }

    public DateOnly? WarmUpStart { get; set; }

    public TokenBucketOptions ToBucketOptions() => new()
    {
        RatePerSecond = RatePerSecond,
        DailyQuota = DailyQuota,
        Burst = Math.Max(1, Burst),
        WarmUp = string.IsNullOrWhiteSpace(WarmUp) || WarmUpStart is null
            ? null
            : new WarmUpSchedule(WarmUpStart.Value, WarmUp.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray()),
    };
}

/// <summary>Delivery settings, read from the <c>Automator</c> configuration section.</summary>
public sealed class DeliveryOptions
{
    public const string SendGrid = "sendgrid";
    public const string Ses = "ses";
    public const string Outbox = "outbox";

    public string PublicBaseUrl { get; set; } = "http://localhost:5000";

    public string FromEmail { get; set; } = "no-reply@automator.local";

    public string? FromName { get; set; }

    public bool TrackOpens { get; set; } = true;

    public bool TrackLinks { get; set; } = true;

    /// <summary>sendgrid | ses | outbox; by default the first configured provider, else outbox.</summary>
    public string Primary { get; set; } = Outbox;

    public string? SendGridApiKey { get; set; }

    public string SendGridBaseUrl { get; set; } = "https://api.sendgrid.com";

    public ProviderAccountOptions SendGridAccount { get; set; } = new();

    public string? SesRegion { get; set; }

    public string? SesAccessKeyId { get; set; }

    public string? SesSecretAccessKey { get; set; }

    public string? SesServiceUrl { get; set; }

    public ProviderAccountOptions SesAccount { get; set; } = new() { RatePerSecond = 14 };

    public ProviderAccountOptions OutboxAccount { get; set; } = new() { RatePerSecond = 1000 };

    public string OutboxPath { get; set; } = "./outbox";

    /// <summary>How long to wait for a provider's answer before the outcome is ambiguous.</summary>
    public TimeSpan ProviderTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public CircuitOptions Circuit { get; set; } = new();

    public bool SendGridConfigured => !string.IsNullOrWhiteSpace(SendGridApiKey);

    public bool SesConfigured => !string.IsNullOrWhiteSpace(SesAccessKeyId) && !string.IsNullOrWhiteSpace(SesSecretAccessKey);

    /// <summary>The configured providers, primary first.</summary>
    public IReadOnlyList<string> Providers
    {
        get
        {
            var names = new List<string>();
            if (SendGridConfigured)
            {
                names.Add(SendGrid);
            }

            if (SesConfigured)
            {
                names.Add(Ses);
            }

            if (names.Count == 0 || Primary == Outbox)
            {
                names.Insert(0, Outbox);
            }
            else if (names.Remove(Primary))
            {
                names.Insert(0, Primary);
            }

            return names;
        }
    }

    public ProviderAccountOptions Account(string provider) => provider switch
    {
        SendGrid => SendGridAccount,
        Ses => SesAccount,
        _ => OutboxAccount,
    };

    public static DeliveryOptions FromConfiguration(IConfiguration configuration)
    {
        var root = configuration.GetSection("Automator");
        var providers = root.GetSection("Providers");
        var options = new DeliveryOptions
        {
            PublicBaseUrl = root["PublicBaseUrl"] ?? "http://localhost:5000",
            FromEmail = root["Delivery:FromEmail"] ?? "no-reply@automator.local",
            FromName = root["Delivery:FromName"],
            TrackOpens = root.GetValue("Delivery:TrackOpens", true),
            TrackLinks = root.GetValue("Delivery:TrackLinks", true),
            SendGridApiKey = providers["SendGrid:ApiKey"],
            SendGridBaseUrl = providers["SendGrid:BaseUrl"] is { Length: > 0 } sgUrl ? sgUrl : "https://api.sendgrid.com",
            SendGridAccount = providers.GetSection("SendGrid").Get<ProviderAccountOptions>() ?? new(),
            SesRegion = providers["Ses:Region"],
            SesAccessKeyId = providers["Ses:AccessKeyId"],
            SesSecretAccessKey = providers["Ses:SecretAccessKey"],
            SesServiceUrl = providers["Ses:ServiceUrl"],
            SesAccount = providers.GetSection("Ses").Get<ProviderAccountOptions>() ?? new() { RatePerSecond = 14 },
            OutboxAccount = root.GetSection("Outbox").Get<ProviderAccountOptions>() ?? new() { RatePerSecond = 1000 },
            OutboxPath = root["Outbox:Path"] is { Length: > 0 } path ? path : "./outbox",
            ProviderTimeout = providers.GetValue("Timeout", TimeSpan.FromSeconds(10)),
            Circuit = providers.GetSection("Circuit").Get<CircuitOptions>() ?? new(),
        };
        if (root.GetSection("Outbox")["RatePerSecond"] is null)
        {
            options.OutboxAccount.RatePerSecond = 1000;
        }

        if (providers.GetSection("Ses")["RatePerSecond"] is null)
        {
            options.SesAccount.RatePerSecond = 14;
        }

        var primary = providers["Primary"]?.Trim().ToLowerInvariant();
        options.Primary = primary is SendGrid or Ses or Outbox
            ? primary
            : options.SendGridConfigured ? SendGrid : options.SesConfigured ? Ses : Outbox;
        return options;
    }
}
