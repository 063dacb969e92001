using Automator.WebApi.Http;
using Automator.WebApi.Templates;

namespace Automator.WebApi.Ai;

/// <summary>
/// What a written variant must satisfy before it is shown to anyone, whichever generator wrote it: the requested
/// number of variants, lengths, balanced Liquid delimiters that Fluid parses, and no script.
/// </summary>
public static class VariantRules
{
    public const int MaxSubjectLength = 200;
    public const int MaxRationaleLength = 600;
    public const int MaxHtmlLength = 100_000;

    /// <summary>The problems found, each naming the variant and field; empty when every variant may be returned.</summary>
    public static IReadOnlyList<string> Check(VariantKind kind, int count, IReadOnlyList<Variant> variants)
    {
        var problems = new List<string>();
        if (variants.Count != count)
        {
            problems.Add($"expected {count} variants, got {variants.Count}.");
        }

        for (var i = 0; i < variants.Count; i++)
        {
            var variant = variants[i];
            CheckText(problems, $"variants[{i}].subject", variant.Subject, MaxSubjectLength);
            if (variant.Subject.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                problems.Add($"variants[{i}].subject spans several lines.");
            }

            if (kind == VariantKind.SubjectLines)
            {
                CheckText(problems, $"variants[{i}].rationale", variant.Rationale, MaxRationaleLength);
            }
            else
            {
                CheckText(problems, $"variants[{i}].html", variant.Html, MaxHtmlLength);
            }
        }

        return problems;
    }

    private static void CheckText(List<string> problems, string field, string? text, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            problems.Add($"{field} is empty.");
            return;
        }

        if (text.Length > maxLength)
        {
            problems.Add($"{field} is longer than {maxLength} characters.");
            return;
        }

        if (!Validator.IsStorable(text))
        {
            problems.Add($"{field} contains a NUL character or an unpaired surrogate.");
            return;
        }

        if (text.Contains("<script", StringComparison.OrdinalIgnoreCase))
        {
            problems.Add($"{field} contains a <script> element.");
            return;
        }

        if (UnbalancedLiquid(text) is { } unbalanced)
        {
            problems.Add($"{field} has {unbalanced}.");
            return;
        }

        if (!LiquidTemplates.TryParse(field, text, out _, out var error))
        {
            problems.Add($"{field} is not valid Liquid (line {error!.Line}, column {error.Column}: {error.Message}).");
        }
    }

    /// <summary>
    /// Every <c>{{</c> closed by <c>}}</c> and every <c>{%</c> by <c>%}</c> before the next opening, and no closing
    /// without its opening. Fluid would read a stray <c>}}</c> as text; in an email it is a visible mistake.
    /// </summary>
    public static string? UnbalancedLiquid(string text)
    {
        var i = 0;
        while (i < text.Length - 1)
        {
            var pair = text.AsSpan(i, 2);
            if (pair is "{{" or "{%")
            {
                var closing = pair is "{{" ? "}}" : "%}";
                var end = text.IndexOf(closing, i + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    return $"an unclosed '{pair}' at character {i + 1}";
                }

                var inner = text.AsSpan(i + 2, end - i - 2);
                if (inner.Contains("{{", StringComparison.Ordinal) || inner.Contains("{%", StringComparison.Ordinal))
                {
                    return $"a '{pair}' at character {i + 1} opened again before it is closed";
                }

                i = end + 2;
                continue;
            }

            if (pair is "}}" or "%}")
            {
                return $"a '{pair}' at character {i + 1} without its opening";
            }

            i++;
        }

        return null;
    }
}
