using System.Globalization;
using System.Text.RegularExpressions;
using Fluid;

namespace Automator.Delivery.Rendering;

/// <summary>A template part that does not parse, with the position the parser stopped at (1-based).</summary>
public sealed record TemplateError(string Field, int Line, int Column, string Message)
{
    public override string ToString() => $"{Field} ({Line}:{Column}): {Message}";
}

/// <summary>Liquid syntax checks for the templates API and for rendering at send time.</summary>
public static partial class TemplateSyntax
{
    internal static readonly FluidParser Parser = RenderLimits.Bound(new FluidParser(new FluidParserOptions { AllowFunctions = false, AllowParentheses = true }));

    /// <summary>Parses each part; an empty list means all parts are valid. <paramref name="text"/> may be null.</summary>
    public static IReadOnlyList<TemplateError> Validate(string? subject, string? html, string? text)
    {
        var errors = new List<TemplateError>();
        Check("subject", subject, errors);
        Check("html", html, errors);
        Check("text", text, errors);
        return errors;
    }

    internal static bool TryParse(string field, string source, out IFluidTemplate template, out TemplateError? error)
    {
        if (Parser.TryParse(source, out template, out var message))
        {
            error = null;
            return true;
        }

        error = ToError(field, message);
        return false;
    }

    private static void Check(string field, string? source, List<TemplateError> errors)
    {
        if (string.IsNullOrEmpty(source))
        {
            return;
        }

        if (!TryParse(field, source, out _, out var error))
        {
            errors.Add(error!);
        }
    }

    // Fluid reports "<message> at (line:column)" followed by the offending source line.
    private static TemplateError ToError(string field, string? message)
    {
        message ??= "The template could not be parsed.";
        var match = PositionPattern().Match(message);
        if (!match.Success)
        {
            return new TemplateError(field, 1, 1, message.Trim());
        }

        var line = int.Parse(match.Groups["line"].Value, CultureInfo.InvariantCulture);
        var column = int.Parse(match.Groups["column"].Value, CultureInfo.InvariantCulture);
        return new TemplateError(field, line, column, message[..match.Index].Trim());
    }

    [GeneratedRegex(@"\sat \((?<line>\d+):(?<column>\d+)\)")]
    private static partial Regex PositionPattern();
}
