using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Fluid;

namespace Automator.Delivery.Rendering;

/// <summary>A stored template's parts.</summary>
public sealed record TemplateContent(Guid Id, string Subject, string Html, string? Text, bool Marketing = true);

/// <summary>The variables a template sees: <c>contact</c>, <c>event</c>, <c>journey</c>, <c>organization</c>, <c>unsubscribe_url</c>.</summary>
public sealed record RenderModel(
    IReadOnlyDictionary<string, object?> Contact,
    IReadOnlyDictionary<string, object?> Event,
    IReadOnlyDictionary<string, object?> Journey,
    IReadOnlyDictionary<string, object?> Organization,
    string UnsubscribeUrl);

public sealed record RenderedContent(string Subject, string Html, string Text);

/// <summary>A template that cannot produce this email; the send fails with <see cref="Exception.Message"/> as its reason.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Renders templates with Fluid (Liquid). Parsed templates are cached by content, so edits take effect at once.</summary>
public sealed class EmailRenderer(TimeProvider time)
{
    private static readonly TemplateOptions Options = CreateOptions();
    private readonly ConcurrentDictionary<string, IFluidTemplate> _parsed = new(StringComparer.Ordinal);

    public EmailRenderer()
        : this(TimeProvider.System)
    {
    }

    public RenderedContent Render(TemplateContent template, RenderModel model, string? subjectOverride = null)
    {
        var context = new TemplateContext(Options);
        context.SetValue("contact", model.Contact);
        context.SetValue("event", model.Event);
        context.SetValue("journey", model.Journey);
        context.SetValue("organization", model.Organization);
        context.SetValue("unsubscribe_url", model.UnsubscribeUrl);

        var subject = RenderPart("subject", subjectOverride ?? template.Subject, context, NullEncoder.Default).Trim();
        subject = subject.ReplaceLineEndings(" ");
        var html = RenderPart("html", template.Html, context, HtmlEncoder.Default);
        var text = template.Text is { Length: > 0 } textTemplate
            ? RenderPart("text", textTemplate, context, NullEncoder.Default)
            : HtmlToText.Convert(html);
        return new RenderedContent(subject, html, text);
    }

    private string RenderPart(string field, string source, TemplateContext context, TextEncoder encoder)
    {
        var template = _parsed.GetOrAdd(Key(source), _ =>
            TemplateSyntax.TryParse(field, source, out var parsed, out var error)
                ? parsed
                : throw new TemplateRenderException($"The template's {error} does not parse."));
        try
        {
            // Fluid completes synchronously unless a filter or tag awaits; the limits keep either bounded.
            return RenderLimits.RenderAsync(template, context, encoder, field, time).AsTask().GetAwaiter().GetResult();
        }
        catch (TemplateLimitException ex)
        {
            throw new TemplateRenderException(ex.Message, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new TemplateRenderException($"Rendering the template's {field} failed: {ex.Message}", ex);
        }
    }

    private static string Key(string source) => source.Length < 256 ? source : Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source)));

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions { MaxSteps = 100_000, MaxRecursion = 50 };
        options.TimeZone = TimeZoneInfo.Utc;
        return RenderLimits.Bound(options);
    }

    /// <summary>JSON object text (contact properties, event properties) as nested dictionaries and lists Fluid can walk.</summary>
    public static IReadOnlyDictionary<string, object?> FromJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        }

        using var document = JsonDocument.Parse(json);
        return ToValue(document.RootElement) as IReadOnlyDictionary<string, object?> ?? new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
    }

    private static object? ToValue(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Aggregate(
            new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase),
            (d, p) => { d[p.Name] = ToValue(p.Value); return d; }),
        JsonValueKind.Array => element.EnumerateArray().Select(ToValue).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var l) ? l : element.GetDecimal(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
