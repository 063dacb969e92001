using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Automator.Infrastructure.Protection;

/// <summary>Settings under <c>Automator:Encryption</c>: the key ring for contact fields kept encrypted at rest.</summary>
public sealed class EncryptionOptions
{
    public const string Section = "Automator:Encryption";

    /// <summary>Key id to base64 of a 32-byte AES-256 key. Old ids stay here after a rotation so older values still read.</summary>
    public Dictionary<string, string> Keys { get; set; } = [];

    /// <summary>The id of the key new values are encrypted with.</summary>
    public string? ActiveKey { get; set; }

    /// <summary>Custom property names (top-level keys of <c>properties</c>) whose values are encrypted, for every organization.</summary>
    public string[] SensitiveProperties { get; set; } = [];
}

/// <summary>
/// Encrypts contact names and sensitive property values with AES-256-GCM. A stored value is self-describing,
/// <c>enc:v1:&lt;keyId&gt;:&lt;base64(nonce | tag | ciphertext)&gt;</c>, so values written under an older key still read
/// after a rotation, and values without the prefix (written before encryption was on) read as they are.
/// Without any key configured it stores values unchanged, and refuses to read an encrypted one.
/// </summary>
public sealed class ContactFieldCipher
{
    public const string Prefix = "enc:v1:";
    private const int NonceSize = 12;
    private const int TagSize = 16;

    // AesGcm instances are not safe for concurrent use: one per key per thread, so a value costs no key setup.
    private readonly Dictionary<string, ThreadLocal<AesGcm>> _keys = new(StringComparer.Ordinal);
    private readonly string? _activeId;
    private readonly ThreadLocal<AesGcm>? _activeKey;

    public ContactFieldCipher(EncryptionOptions options)
    {
        foreach (var (id, value) in options.Keys)
        {
            var key = ParseKey(id, value);
            _keys[id] = new ThreadLocal<AesGcm>(() => new AesGcm(key, TagSize));
        }

        SensitiveProperties = new HashSet<string>(options.SensitiveProperties.Where(p => !string.IsNullOrWhiteSpace(p)).Select(p => p.Trim()), StringComparer.OrdinalIgnoreCase);
        if (_keys.Count == 0)
        {
            if (!string.IsNullOrWhiteSpace(options.ActiveKey))
            {
                throw new InvalidOperationException($"{EncryptionOptions.Section}:ActiveKey is '{options.ActiveKey}' but {EncryptionOptions.Section}:Keys is empty.");
            }

            return;
        }

        _activeId = string.IsNullOrWhiteSpace(options.ActiveKey) && _keys.Count == 1 ? _keys.Keys.Single() : options.ActiveKey;
        if (_activeId is null || !_keys.TryGetValue(_activeId, out _activeKey))
        {
            throw new InvalidOperationException(
                $"{EncryptionOptions.Section}:ActiveKey must name one of the keys in {EncryptionOptions.Section}:Keys ({string.Join(", ", _keys.Keys)}).");
        }
    }

    /// <summary>Whether a key is configured (values are written encrypted).</summary>
    public bool Enabled => _activeKey is not null;

    public string? ActiveKeyId => _activeId;

    public IReadOnlySet<string> SensitiveProperties { get; }

    public static bool IsProtected(string? value) => value is not null && value.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Problems with the configured key ring, worded with the setting names (empty when it is usable).</summary>
    public static List<string> Check(EncryptionOptions options)
    {
        try
        {
            _ = new ContactFieldCipher(options);
            return [];
        }
        catch (InvalidOperationException ex)
        {
            return [ex.Message];
        }
    }

    public string? Protect(string? clear)
    {
        if (clear is null || _activeKey is null)
        {
            return clear;
        }

        var plain = Encoding.UTF8.GetBytes(clear);
        var sealedBytes = new byte[NonceSize + TagSize + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        _activeKey.Value!.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));

        return string.Concat(Prefix, _activeId, ":", Convert.ToBase64String(sealedBytes));
    }

    /// <summary>The clear value of a stored one; plain values pass through. Throws when the value cannot be authenticated.</summary>
    public string? Reveal(string? stored)
    {
        if (!IsProtected(stored))
        {
            return stored;
        }

        var rest = stored.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        if (colon <= 0)
        {
            throw new ContactFieldDecryptionException("An encrypted contact field is malformed (no key id).");
        }

        var keyId = rest[..colon].ToString();
        if (!_keys.TryGetValue(keyId, out var key))
        {
            throw new ContactFieldDecryptionException(
                $"An encrypted contact field uses key '{keyId}', which is not in {EncryptionOptions.Section}:Keys.");
        }

        byte[] sealedBytes;
        try
        {
            sealedBytes = Convert.FromBase64String(rest[(colon + 1)..].ToString());
        }
        catch (FormatException)
        {
            throw new ContactFieldDecryptionException($"An encrypted contact field under key '{keyId}' is malformed (not base64).");
        }

        if (sealedBytes.Length < NonceSize + TagSize)
        {
            throw new ContactFieldDecryptionException($"An encrypted contact field under key '{keyId}' is malformed (too short).");
        }

        var plain = new byte[sealedBytes.Length - NonceSize - TagSize];
        try
        {
            key.Value!.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new ContactFieldDecryptionException(
                $"An encrypted contact field does not authenticate under key '{keyId}': the key is wrong or the value was altered.");
        }

        return Encoding.UTF8.GetString(plain);
    }

    /// <summary>
    /// A properties JSON object with the values of sensitive properties encrypted (each value's JSON text becomes one
    /// encrypted string). A string that merely looks encrypted is encrypted too, so reading it back gives it unchanged.
    /// Null values (removals in a patch) stay null. Returns the input itself when nothing needs encrypting.
    /// </summary>
    public string? ProtectProperties(string? json)
    {
        if (json is null || _activeKey is null || (SensitiveProperties.Count == 0 && !json.Contains(Prefix, StringComparison.Ordinal)))
        {
            return json;
        }

        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.EnumerateObject().Any(NeedsProtection))
        {
            return json;
        }

        return Rewrite(document.RootElement, (writer, property) =>
        {
            if (NeedsProtection(property))
            {
                writer.WriteString(property.Name, Protect(property.Value.GetRawText()));
            }
            else
            {
                property.WriteTo(writer);
            }
        });
    }

    /// <summary>A stored properties JSON object with every encrypted value back to its clear JSON value.</summary>
    public string RevealProperties(string json)
    {
        if (!json.Contains(Prefix, StringComparison.Ordinal))
        {
            return json;
        }

        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return json;
        }

        return Rewrite(document.RootElement, (writer, property) =>
        {
            if (property.Value.ValueKind == JsonValueKind.String && IsProtected(property.Value.GetString()))
            {
                writer.WritePropertyName(property.Name);
                writer.WriteRawValue(Reveal(property.Value.GetString())!);
            }
            else
            {
                property.WriteTo(writer);
            }
        });
    }

    private bool NeedsProtection(JsonProperty property) =>
        property.Value.ValueKind != JsonValueKind.Null
        && (SensitiveProperties.Contains(property.Name) || (property.Value.ValueKind == JsonValueKind.String && IsProtected(property.Value.GetString())));

    private static string Rewrite(JsonElement root, Action<Utf8JsonWriter, JsonProperty> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                write(writer, property);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static byte[] ParseKey(string id, string value)
    {
        if (id.Length == 0 || id.Length > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new InvalidOperationException($"{EncryptionOptions.Section}:Keys: key id '{id}' must be 1-64 letters, digits, '-', '_' or '.'.");
        }

        byte[] key;
        try
        {
            key = Convert.FromBase64String(value ?? "");
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{EncryptionOptions.Section}:Keys:{id} must be base64.");
        }

        if (key.Length != 32)
        {
            throw new InvalidOperationException($"{EncryptionOptions.Section}:Keys:{id} must be 32 bytes (base64 of a 256-bit key), not {key.Length}.");
        }

        return key;
    }
}

/// <summary>A stored contact field could not be decrypted: wrong or missing key, or an altered value.</summary>
public sealed class ContactFieldDecryptionException(string message) : CryptographicException(message);
