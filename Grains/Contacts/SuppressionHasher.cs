using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Automator.Contacts;

/// <summary>
/// The key of the suppression list: HMAC-SHA256 of the trimmed, lower-cased address under a server key, so a stored
/// hash (an erased contact's only trace) cannot be confirmed by hashing a guessed address. Keys come from
/// <c>Automator:Suppression:HashKeys:&lt;id&gt;</c> (base64, at least 32 bytes) with <c>ActiveKey</c>, and are also
/// derived from every <c>Automator:Encryption:Keys</c> entry (HKDF), the active one used when no hash keys are set.
/// Look-ups try every key, then the plain SHA-256 of rows written before keyed hashes.
/// </summary>
public sealed class SuppressionHasher
{
    public const string Section = "Automator:Suppression";
    public const string DevelopmentKeyId = "dev";

    private static readonly byte[] DerivationInfo = "automator/suppression-hash/v1"u8.ToArray();
    private readonly Dictionary<string, byte[]> _keys;

    public SuppressionHasher(IReadOnlyDictionary<string, byte[]> keys, string activeKeyId)
    {
        _keys = new Dictionary<string, byte[]>(keys, StringComparer.Ordinal);
        if (!_keys.ContainsKey(activeKeyId))
        {
            throw new InvalidOperationException($"{Section}:ActiveKey '{activeKeyId}' is not one of the suppression hash keys.");
        }

        ActiveKeyId = activeKeyId;
    }

    /// <summary>
    /// The hasher the static suppression writer (<c>ContactStore.SuppressAsync</c>, called with only a connection) uses;
    /// set when a host builds its <see cref="SuppressionHasher"/>. Until then, the development key.
    /// </summary>
    public static SuppressionHasher Current { get; set; } = Development();

    public string ActiveKeyId { get; }

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    public static string Normalize(string email) => email.Trim().ToLowerInvariant();

    /// <summary>The hash a new row is stored under.</summary>
    public byte[] Hash(string email) => Hash(email, ActiveKeyId);

    public byte[] Hash(string email, string keyId) => HMACSHA256.HashData(_keys[keyId], Encoding.UTF8.GetBytes(Normalize(email)));

    /// <summary>Plain SHA-256, as rows were hashed before keyed hashes.</summary>
    public static byte[] Legacy(string email) => SHA256.HashData(Encoding.UTF8.GetBytes(Normalize(email)));

    /// <summary>Every hash the address may be stored under: the active key's first, then the other keys', then the plain one.</summary>
    public byte[][] Candidates(string email)
    {
        var hashes = new List<byte[]>(_keys.Count + 1) { Hash(email) };
        hashes.AddRange(_keys.Keys.Where(k => k != ActiveKeyId).Order(StringComparer.Ordinal).Select(k => Hash(email, k)));
        hashes.Add(Legacy(email));
        return [.. hashes];
    }

    /// <summary>Candidates of many addresses, flattened with the index of the address each belongs to (for SQL unnest).</summary>
    public (int[] Owners, byte[][] Hashes) Candidates(IReadOnlyList<string> emails)
    {
        var owners = new List<int>();
        var hashes = new List<byte[]>();
        for (var i = 0; i < emails.Count; i++)
        {
            foreach (var hash in Candidates(emails[i]))
            {
                owners.Add(i);
                hashes.Add(hash);
            }
        }

        return ([.. owners], [.. hashes]);
    }

    public static SuppressionHasher FromConfiguration(IConfiguration configuration)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var entry in configuration.GetSection($"{Section}:HashKeys").GetChildren())
        {
            keys[entry.Key] = Decode($"{Section}:HashKeys:{entry.Key}", entry.Value);
        }

        var encryption = configuration.GetSection("Automator:Encryption:Keys").GetChildren().ToList();
        foreach (var entry in encryption)
        {
            var material = Decode($"Automator:Encryption:Keys:{entry.Key}", entry.Value);
            keys[$"enc.{entry.Key}"] = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: [], info: DerivationInfo);
        }

        keys[DevelopmentKeyId] = DevelopmentKey;
        var explicitKeys = configuration.GetSection($"{Section}:HashKeys").GetChildren().Select(c => c.Key).ToList();
        var active = configuration[$"{Section}:ActiveKey"]
            ?? (explicitKeys.Count == 1 ? explicitKeys[0] : null)
            ?? (configuration["Automator:Encryption:ActiveKey"] is { Length: > 0 } encryptionActive ? $"enc.{encryptionActive}" : null)
            ?? (encryption.Count == 1 ? $"enc.{encryption[0].Key}" : DevelopmentKeyId);
        return new SuppressionHasher(keys, active);
    }

    /// <summary>Only where no key is configured (in-memory development): known to anyone, like the plain hash.</summary>
    public static SuppressionHasher Development() => new(new Dictionary<string, byte[]> { [DevelopmentKeyId] = DevelopmentKey }, DevelopmentKeyId);

    private static byte[] DevelopmentKey => SHA256.HashData("automator development suppression hash key"u8);

    private static byte[] Decode(string setting, string? value)
    {
        try
        {
            var bytes = Convert.FromBase64String(value ?? "");
            return bytes.Length >= 32 ? bytes : throw new InvalidOperationException($"{setting} must be at least 32 bytes (base64).");
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{setting} is not base64.");
        }
    }
}
