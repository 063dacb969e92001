using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Automator.WebApi.Webhooks;

/// <summary>Where the signing certificates come from (an HTTPS fetch in production).</summary>
public interface ISnsCertificateSource
{
    /// <summary>The certificate at an already approved URL; null when it cannot be had.</summary>
    Task<X509Certificate2?> GetAsync(Uri url, CancellationToken cancellationToken);
}

/// <summary>
/// Decides whether an SNS message is authentic and meant for us: a known topic, recent, a signing certificate from an
/// approved HTTPS host, and an RSA signature (SignatureVersion 1: SHA1, 2: SHA256, PKCS#1 v1.5) over the string AWS
/// builds from the message's fields. The cheap checks run first, so a refused message never causes a fetch.
/// </summary>
public sealed class SnsMessageVerifier(WebhookOptions options, TimeProvider time, ISnsCertificateSource certificates)
{
    /// <summary>Null when the message may be acted on, else the reason it may not.</summary>
    public async Task<string?> VerifyAsync(SnsMessage message, CancellationToken cancellationToken)
    {
        if (options.SnsTopicArns.Count == 0)
        {
            return "No SNS topic is configured (Automator:Providers:Ses:SnsTopicArns).";
        }

        if (message.TopicArn is null || !options.SnsTopicArns.Contains(message.TopicArn, StringComparer.Ordinal))
        {
            return "The topic is not one of the configured SNS topics.";
        }

        var hash = HashFor(message.SignatureVersion);
        if (hash is null)
        {
            return "The signature version is not 1 or 2.";
        }

        if (StringToSign(message) is not { } signed)
        {
            return "The message type or its signed fields are missing.";
        }

        if (!DateTimeOffset.TryParse(message.Timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            || (time.GetUtcNow() - at).Duration() > options.SnsMaxAge)
        {
            return "The message timestamp is missing or too old.";
        }

        if (!IsAllowedUrl(message.SigningCertUrl, options.SnsCertificateHosts, out var certificateUrl))
        {
            return "The signing certificate URL is not an HTTPS URL on an allowed host.";
        }

        if (message.SubscribeUrl is not null && message.Type == SnsMessage.SubscriptionConfirmation
            && !IsAllowedUrl(message.SubscribeUrl, options.SnsCertificateHosts, out _))
        {
            return "The subscribe URL is not an HTTPS URL on an allowed host.";
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(message.Signature ?? "");
        }
        catch (FormatException)
        {
            return "The signature is not base64.";
        }

        var certificate = await certificates.GetAsync(certificateUrl, cancellationToken);
        if (certificate is null)
        {
            return "The signing certificate could not be fetched.";
        }

        var now = time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            return "The signing certificate is not valid now.";
        }

        return VerifySignature(signed, signature, hash.Value, certificate) ? null : "The signature does not match.";
    }

    public static HashAlgorithmName? HashFor(string? signatureVersion) => signatureVersion switch
    {
        "1" => HashAlgorithmName.SHA1,
        "2" => HashAlgorithmName.SHA256,
        _ => null,
    };

    /// <summary>"Name\nValue\n" for each signed field, in the order AWS documents per message type.</summary>
    public static string? StringToSign(SnsMessage message)
    {
        var fields = message.Type switch
        {
            SnsMessage.Notification => new (string, string?, bool)[]
            {
                ("Message", message.Message, true),
                ("MessageId", message.MessageId, true),
                ("Subject", message.Subject, false),
                ("Timestamp", message.Timestamp, true),
                ("TopicArn", message.TopicArn, true),
                ("Type", message.Type, true),
            },
            SnsMessage.SubscriptionConfirmation or SnsMessage.UnsubscribeConfirmation => new (string, string?, bool)[]
            {
                ("Message", message.Message, true),
                ("MessageId", message.MessageId, true),
                ("SubscribeURL", message.SubscribeUrl, true),
                ("Timestamp", message.Timestamp, true),
                ("Token", message.Token, true),
                ("TopicArn", message.TopicArn, true),
                ("Type", message.Type, true),
            },
            _ => null,
        };
        if (fields is null)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (var (name, value, required) in fields)
        {
            if (value is null)
            {
                if (required)
                {
                    return null;
                }

                continue;
            }

            text.Append(name).Append('\n').Append(value).Append('\n');
        }

        return text.ToString();
    }

    public static bool VerifySignature(string stringToSign, byte[] signature, HashAlgorithmName hash, X509Certificate2 certificate)
    {
        using var rsa = certificate.GetRSAPublicKey();
        if (rsa is null)
        {
            return false;
        }

        try
        {
            return rsa.VerifyData(Encoding.UTF8.GetBytes(stringToSign), signature, hash, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>
    /// An absolute https URL without user info whose host matches one of the patterns label by label, <c>*</c> standing
    /// for exactly one label (so <c>sns.*.amazonaws.com</c> never matches <c>sns.x.amazonaws.com.evil.test</c>).
    /// </summary>
    public static bool IsAllowedUrl(string? url, IReadOnlyList<string> hostPatterns, out Uri uri)
    {
        uri = null!;
        if (url is null || !Uri.TryCreate(url, UriKind.Absolute, out var parsed)
            || parsed.Scheme != Uri.UriSchemeHttps || parsed.UserInfo.Length > 0)
        {
            return false;
        }

        var host = parsed.IdnHost.TrimEnd('.');
        if (!hostPatterns.Any(pattern => HostMatches(host, pattern)))
        {
            return false;
        }

        uri = parsed;
        return true;
    }

    public static bool HostMatches(string host, string pattern)
    {
        var labels = host.Split('.');
        var wanted = pattern.Trim().TrimEnd('.').Split('.');
        if (labels.Length != wanted.Length)
        {
            return false;
        }

        for (var i = 0; i < labels.Length; i++)
        {
            var matches = wanted[i] == "*"
                ? labels[i].Length > 0
                : string.Equals(labels[i], wanted[i], StringComparison.OrdinalIgnoreCase);
            if (!matches)
            {
                return false;
            }
        }

        return true;
    }
}
