using System.Text.Json;

namespace Automator.Workflows;

public enum ReentryKind
{
    Never,
    Always,
    After,
}

/// <summary>Whether a contact that has been through a workflow may enter it again, and after how long.</summary>
public readonly record struct ReentryRule(ReentryKind Kind, TimeSpan After)
{
    public static readonly ReentryRule Never = new(ReentryKind.Never, TimeSpan.Zero);

    public static bool TryParse(JsonElement? value, out ReentryRule rule)
    {
        rule = Never;
        if (value is not { } v || v.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return true;
        }

        string? after = null;
        if (v.ValueKind == JsonValueKind.String)
        {
            var text = v.GetString()!;
            switch (text)
            {
                case "never":
                    return true;
                case "always":
                    rule = new ReentryRule(ReentryKind.Always, TimeSpan.Zero);
                    return true;
            }

            after = text.StartsWith("after:", StringComparison.Ordinal) ? text["after:".Length..] : text;
        }
        else if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("after", out var afterElement) && afterElement.ValueKind == JsonValueKind.String)
        {
            after = afterElement.GetString();
        }

        if (Durations.TryParse(after, out var duration) && duration > TimeSpan.Zero)
        {
            rule = new ReentryRule(ReentryKind.After, duration);
            return true;
        }

        return false;
    }

    /// <summary>May a contact whose last entry was at <paramref name="lastEnteredAt"/> (null: never entered) enter now?</summary>
    public bool Allows(DateTimeOffset? lastEnteredAt, DateTimeOffset now) => lastEnteredAt is not { } last || Kind switch
    {
        ReentryKind.Always => true,
        ReentryKind.After => now - last >= After,
        _ => false,
    };
}
