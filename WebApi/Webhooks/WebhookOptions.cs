using Microsoft.Extensions.Configuration;

namespace Automator.WebApi.Webhooks;

/// <summary>
/// Settings of the provider webhooks, read from <c>Automator:Providers:SendGrid</c> and <c>Automator:Providers:Ses</c>.
/// </summary>
public sealed class WebhookOptions
{
    public const string DefaultCertificateHost = "sns.*.amazonaws.com";

    /// <summary>Base64 of the SubjectPublicKeyInfo SendGrid shows for its Signed Event Webhook; unset: every request is 401.</summary>
    public string? SendGridWebhookPublicKey { get; set; }

    /// <summary>How far the SendGrid timestamp header may be from now.</summary>
    public TimeSpan SendGridTimestampTolerance { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The SNS topics whose messages are accepted; none: every message is refused.</summary>
    public IReadOnlyList<string> SnsTopicArns { get; set; } = [];

    /// <summary>Hosts a <c>SigningCertURL</c> or <c>SubscribeURL</c> may name; <c>*</c> stands for exactly one label.</summary>
    public IReadOnlyList<string> SnsCertificateHosts { get; set; } = [DefaultCertificateHost];

    /// <summary>How old an SNS message may be before it is taken for a replay.</summary>
    public TimeSpan SnsMaxAge { get; set; } = TimeSpan.FromHours(1);

    public static WebhookOptions FromConfiguration(IConfiguration configuration)
    {
        var providers = configuration.GetSection("Automator:Providers");
        var hosts = Strings(providers.GetSection("Ses:SnsCertificateHosts"));
        return new WebhookOptions
        {
            SendGridWebhookPublicKey = providers["SendGrid:WebhookPublicKey"] is { Length: > 0 } key ? key.Trim() : null,
            SnsTopicArns = Strings(providers.GetSection("Ses:SnsTopicArns")),
            SnsCertificateHosts = hosts.Count > 0 ? hosts : [DefaultCertificateHost],
        };
    }

    private static List<string> Strings(IConfigurationSection section) =>
        section.GetChildren().Select(c => c.Value?.Trim()).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToList();
}
