using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Automator.Delivery.Rendering;
using Fluid;

namespace Automator.WebApi.Templates;

/// <summary>A Liquid syntax error located in one field of a template.</summary>
public sealed record LiquidError(string Field, int Line, int Column, string Message);

/// <summary>
/// Parses and renders template fields with Fluid for validation and preview (the send path renders in Delivery).
/// Rendering is bounded in steps and recursion so a hostile template cannot spin, and in output, value size and time
/// (<see cref="RenderLimits"/>) so it cannot exhaust memory.
/// </summary>
public static partial class LiquidTemplates
{
    private static readonly FluidParser Parser = RenderLimits.Bound(new FluidParser());
    private static readonly TemplateOptions Options = RenderLimits.Bound(new TemplateOptions { MaxSteps = 200_000, MaxRecursion = 20 });

    public static bool TryParse(string field, string source, out IFluidTemplate? template, out LiquidError? error)
    {
        if (Parser.TryParse(source, out var parsed, out var message))
        {
            template = parsed;
            error = null;
            return true;
        }

        template = null;
        var first = (message ?? "Invalid Liquid.").Split('\n')[0].Trim();
        var match = Position().Match(first);
        error = match.Success
            ? new LiquidError(field, int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture), match.Groups[1].Value)
            : new LiquidError(field, 1, 1, first);
        return false;
    }

    /// <summary>Renders one part within <see cref="RenderLimits"/>; over a limit throws <see cref="TemplateLimitException"/> naming the part.</summary>
    public static async Task<string> RenderAsync(string field, IFluidTemplate template, IReadOnlyDictionary<string, object?> model, bool html, TimeProvider time)
    {
        var context = new TemplateContext(Options);
        foreach (var (name, value) in model)
        {
            context.SetValue(name, value);
        }

        return await RenderLimits.RenderAsync(template, context, html ? HtmlEncoder.Default : NullEncoder.Default, field, time);
    }

    /// <summary>JSON to the plain dictionaries, lists and scalars that Fluid reads with dot access.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? whole : element.TryGetDecimal(out var number) ? number : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    [GeneratedRegex(@"^(.*) at \((\d+):(\d+)\)$")]
    private static partial Regex Position();
}
