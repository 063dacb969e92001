using System.Globalization;
using System.Net.Mail;
using System.Text.Json;

namespace Automator.WebApi.Http;

/// <summary>Collects the errors of one request body, keyed by the camelCase JSON path of each bad field.</summary>
public sealed class Validator
{
    public const int MaxPropertiesBytes = 64 * 1024;
    public const int MaxPropertyStringBytes = 8 * 1024;
    public const int MaxPropertyKeys = 200;
    public const int MaxPropertyDepth = 5;
    public const int MaxKeyLength = 100;

    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsValid => _errors.Count == 0;

    public Dictionary<string, string[]> Errors => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    public Validator Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
        {
            _errors[field] = list = [];
        }

        list.Add(message);
        return this;
    }

    public bool Has(string field) => _errors.ContainsKey(field);

    /// <summary>A required text: present, not blank, within length, and free of characters PostgreSQL cannot store.</summary>
    public string? Required(string field, string? value, int maxLength = 200)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required.");
            return null;
        }

        return Optional(field, value, maxLength);
    }

    public string? Optional(string field, string? value, int maxLength = 200)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters.");
            return null;
        }

        if (!IsStorable(value))
        {
            Add(field, "contains a NUL character or an unpaired surrogate.");
            return null;
        }

        return value;
    }

    public string? Email(string field, string? value, bool required = true)
    {
        if (value is null && !required)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required.");
            return null;
        }

        var problem = EmailProblem(value);
        if (problem is not null)
        {
            Add(field, problem);
            return null;
        }

        return value.Trim();
    }

    public static string? EmailProblem(string value)
    {
        var email = value.Trim();
        if (email.Length > 254)
        {
            return "must be at most 254 characters.";
        }

        if (!IsStorable(email) || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return "must not contain spaces or control characters.";
        }

        var at = email.LastIndexOf('@');
        if (at <= 0 || at == email.Length - 1 || email.IndexOf('@') != at)
        {
            return "is not an email address (expected local@domain).";
        }

        var local = email[..at];
        var domain = email[(at + 1)..];
        if (local.Length > 64)
        {
            return "has a local part longer than 64 characters.";
        }

        if (local.Any(c => c > 127))
        {
            return "has a non-ASCII local part; internationalized mailboxes are not supported.";
        }

        string asciiDomain;
        try
        {
            asciiDomain = new IdnMapping().GetAscii(domain);
        }
        catch (ArgumentException)
        {
            return "has an invalid domain.";
        }

        if (!asciiDomain.Contains('.', StringComparison.Ordinal) || asciiDomain.StartsWith('.') || asciiDomain.EndsWith('.') || asciiDomain.Contains("..", StringComparison.Ordinal)
            || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal))
        {
            return "is not an email address (expected local@domain.tld).";
        }

        if (!MailAddress.TryCreate($"{local}@{asciiDomain}", out var parsed) || !string.Equals(parsed.Address, $"{local}@{asciiDomain}", StringComparison.Ordinal))
        {
            return "is not an email address.";
        }

        return null;
    }

    /// <summary>An IANA time zone id such as <c>Europe/Paris</c> (Windows ids are refused).</summary>
    public string? TimeZone(string field, string? value)
    {
        if (value is null)
        {
            return null;
        }

        if (value.Length > 64 || !IsStorable(value) || !TimeZoneInfo.TryConvertIanaIdToWindowsId(value, out _) || !TimeZoneInfo.TryFindSystemTimeZoneById(value, out _))
        {
            Add(field, "must be an IANA time zone id such as Europe/Paris.");
            return null;
        }

        return value;
    }

    public T? OneOf<T>(string field, string? value, IReadOnlyCollection<string> allowed, Func<string, T> map, bool required = true)
        where T : class
    {
        if (value is null)
        {
            if (required)
            {
                Add(field, $"is required (one of {string.Join(", ", allowed)}).");
            }

            return null;
        }

        if (!allowed.Contains(value))
        {
            Add(field, $"must be one of {string.Join(", ", allowed)}.");
            return null;
        }

        return map(value);
    }

    /// <summary>
    /// Custom properties: a JSON object within size, key and depth limits, with finite numbers and storable strings.
    /// Returns the object's JSON text, or null when absent or invalid.
    /// </summary>
    public string? Properties(string field, JsonElement? value)
    {
        if (value is not { } element || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            Add(field, "must be a JSON object.");
            return null;
        }

        var errorsBefore = _errors.Count;
        var keys = 0;
        foreach (var property in element.EnumerateObject())
        {
            keys++;
            CheckKey($"{field}.{property.Name}", property.Name);
            CheckValue($"{field}.{property.Name}", property.Value, 1);
        }

        if (keys > MaxPropertyKeys)
        {
            Add(field, $"must have at most {MaxPropertyKeys} keys.");
        }

        var json = element.GetRawText();
        if (System.Text.Encoding.UTF8.GetByteCount(json) > MaxPropertiesBytes)
        {
            Add(field, $"must be at most {MaxPropertiesBytes} bytes of JSON.");
        }

        return _errors.Count == errorsBefore ? json : null;
    }

    private void CheckKey(string path, string key)
    {
        if (key.Length == 0 || key.Length > MaxKeyLength || !IsStorable(key))
        {
            Add(path, $"keys must be 1 to {MaxKeyLength} characters without NUL characters.");
        }
    }

    private void CheckValue(string path, JsonElement value, int depth)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                if (depth >= MaxPropertyDepth)
                {
                    Add(path, $"nests deeper than {MaxPropertyDepth} levels.");
                    return;
                }

                foreach (var property in value.EnumerateObject())
                {
                    CheckKey($"{path}.{property.Name}", property.Name);
                    CheckValue($"{path}.{property.Name}", property.Value, depth + 1);
                }

                break;
            case JsonValueKind.Array:
                if (depth >= MaxPropertyDepth)
                {
                    Add(path, $"nests deeper than {MaxPropertyDepth} levels.");
                    return;
                }

                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    CheckValue($"{path}[{index++}]", item, depth + 1);
                }

                break;
            case JsonValueKind.String:
                string text;
                try
                {
                    text = value.GetString() ?? "";
                }
                catch (InvalidOperationException)
                {
                    Add(path, "is not valid Unicode text.");
                    return;
                }

                if (System.Text.Encoding.UTF8.GetByteCount(text) > MaxPropertyStringBytes)
                {
                    Add(path, $"must be at most {MaxPropertyStringBytes} bytes.");
                }
                else if (!IsStorable(text))
                {
                    Add(path, "contains a NUL character or an unpaired surrogate.");
                }

                break;
            case JsonValueKind.Number:
                if (!value.TryGetDouble(out var number) || !double.IsFinite(number) || value.GetRawText().Length > 40)
                {
                    Add(path, "is a number out of range.");
                }

                break;
        }
    }

    /// <summary>PostgreSQL text and jsonb cannot hold NUL, and UTF-8 cannot hold a lone surrogate.</summary>
    public static bool IsStorable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
