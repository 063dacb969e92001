using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Automator.Journeys;

/// <summary>
/// How an outbound webhook request is signed: <c>X-Automator-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256&gt;</c>
/// of <c>"&lt;t&gt;.&lt;body&gt;"</c>, keyed with the UTF-8 bytes of the organization's signing secret.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Automator-Signature";
    public const string DeliveryHeader = "X-Automator-Delivery";
    public const string SecretPrefix = "whsec_";

    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Header(string secret, DateTimeOffset at, string body)
    {
        var t = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Compute(secret, t, body)}";
    }

    /// <summary>What a receiver does: recompute the HMAC for the header's timestamp and compare in constant time.</summary>
    public static bool Verify(string secret, string header, string body)
    {
        string? t = null, v1 = null;
        foreach (var part in header.Split(','))
        {
            var kv = part.Split('=', 2);
            if (kv.Length == 2 && kv[0] == "t")
            {
                t = kv[1];
            }
            else if (kv.Length == 2 && kv[0] == "v1")
            {
                v1 = kv[1];
            }
        }

        return t is not null && v1 is not null &&
            CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(secret, t, body)), Encoding.ASCII.GetBytes(v1));
    }

    private static string Compute(string secret, string t, string body) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{body}")));
}
