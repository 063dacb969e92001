using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Automator.Delivery;

public enum TrackingKind
{
    Open,
    Click,
    Unsubscribe,
}

/// <summary>What a tracking or unsubscribe link stands for.</summary>
public sealed record TrackingClaim(
    [property: JsonPropertyName("k")] TrackingKind Kind,
    [property: JsonPropertyName("s")] Guid SendId,
    [property: JsonPropertyName("o")] Guid OrganizationId,
    [property: JsonPropertyName("c")] Guid ContactId,
    [property: JsonPropertyName("u")] string? Url = null);

/// <summary>
/// HMAC-SHA256-signed tokens for the open pixel, click redirects and unsubscribe links:
/// <c>base64url(claim json) "." base64url(mac)</c>. The key is <c>Automator:Tracking:SigningKey</c>, falling back to
/// <c>Automator:Jwt:SigningKey</c>.
/// </summary>
public sealed class TrackingTokens
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private readonly byte[] _key;

    public TrackingTokens(byte[] key)
    {
        if (key.Length < 16)
        {
            throw new ArgumentException("The tracking signing key must be at least 16 bytes.", nameof(key));
        }

        _key = key;
    }

    public static TrackingTokens FromConfiguration(IConfiguration configuration)
    {
        var key = configuration["Automator:Tracking:SigningKey"];
        if (string.IsNullOrWhiteSpace(key))
        {
            key = configuration["Automator:Jwt:SigningKey"];
        }

        if (string.IsNullOrWhiteSpace(key))
        {
            // Development without any configured key: links work until the process restarts.
            return new TrackingTokens(RandomNumberGenerator.GetBytes(32));
        }

        return new TrackingTokens(Encoding.UTF8.GetBytes(key));
    }

    public string Create(TrackingClaim claim)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(claim, Json);
        var mac = HMACSHA256.HashData(_key, payload);
        return Base64Url.EncodeToString(payload) + "." + Base64Url.EncodeToString(mac.AsSpan(0, 16));
    }

    public bool TryRead(string token, out TrackingClaim? claim)
    {
        claim = null;
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0)
        {
            return false;
        }

        try
        {
            var payload = Base64Url.DecodeFromChars(token.AsSpan(0, dot));
            var mac = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
            var expected = HMACSHA256.HashData(_key, payload);
            if (mac.Length != 16 || !CryptographicOperations.FixedTimeEquals(mac, expected.AsSpan(0, 16)))
            {
                return false;
            }

            claim = JsonSerializer.Deserialize<TrackingClaim>(payload, Json);
            return claim is not null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }
    }
}
