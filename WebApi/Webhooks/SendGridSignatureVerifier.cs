using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Automator.WebApi.Webhooks;

/// <summary>
/// Checks SendGrid's Signed Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 of DER) over the timestamp header's
/// UTF-8 bytes followed by the raw body, and a timestamp close to now so an old batch cannot be replayed.
/// </summary>
public sealed class SendGridSignatureVerifier : IDisposable
{
    public const string SignatureHeader = "X-Twilio-Email-Event-Webhook-Signature";
    public const string TimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp";

    private readonly ECDsa? _key;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tolerance;

    public SendGridSignatureVerifier(string? publicKeyBase64, TimeProvider time, TimeSpan? tolerance = null)
    {
        _time = time;
        _tolerance = tolerance ?? TimeSpan.FromMinutes(10);
        if (string.IsNullOrWhiteSpace(publicKeyBase64))
        {
            return;
        }

        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(Convert.FromBase64String(publicKeyBase64.Trim()), out _);
            _key = key;
        }
        catch (Exception e) when (e is FormatException or CryptographicException)
        {
            key.Dispose();
            KeyError = "Automator:Providers:SendGrid:WebhookPublicKey is not base64 of a public key: " + e.Message;
        }
    }

    public bool Configured => _key is not null;

    /// <summary>Why the configured key could not be used, if it could not.</summary>
    public string? KeyError { get; }

    /// <summary>Null when the request is authentic, else the reason it is not.</summary>
    public string? Verify(string? timestamp, string? signature, ReadOnlySpan<byte> body)
    {
        if (_key is null)
        {
            return "No SendGrid webhook public key is configured.";
        }

        if (string.IsNullOrEmpty(timestamp) || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return "The timestamp header is missing or not unix seconds.";
        }

        if (string.IsNullOrEmpty(signature))
        {
            return "The signature header is missing.";
        }

        byte[] der;
        try
        {
            der = Convert.FromBase64String(signature);
        }
        catch (FormatException)
        {
            return "The signature is not base64.";
        }

        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Math.Abs(now - seconds) > (long)_tolerance.TotalSeconds)
        {
            return "The timestamp is too far from now.";
        }

        var prefixLength = Encoding.UTF8.GetByteCount(timestamp);
        var signed = new byte[prefixLength + body.Length];
        Encoding.UTF8.GetBytes(timestamp, signed);
        body.CopyTo(signed.AsSpan(prefixLength));
        try
        {
            return _key.VerifyData(signed, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence) ? null : "The signature does not match.";
        }
        catch (CryptographicException)
        {
            return "The signature is malformed.";
        }
    }

    /// <summary>Signs a batch the way SendGrid does (tests and the benchmark).</summary>
    public static string Sign(ECDsa privateKey, string timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp);
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return Convert.ToBase64String(privateKey.SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    public void Dispose() => _key?.Dispose();
}
