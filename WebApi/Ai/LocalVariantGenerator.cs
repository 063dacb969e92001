using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Automator.WebApi.Ai;

/// <summary>
/// Writes variants without a provider, so every AI feature works offline and in tests: the same brief always gives
/// the same variants (the order of the phrasings is drawn from a hash of the input), in the same shapes as the
/// provider's, and they pass the same <see cref="VariantRules"/>.
/// </summary>
public sealed partial class LocalVariantGenerator : IVariantGenerator
{
    public const string Name = "local";

    private const string FirstName = "{{ contact.firstName | default: \"there\" }}";

    private static readonly (string Subject, string Rationale)[] Phrasings =
    [
        ("{0}", "States the topic plainly, so the reader knows what the email holds before opening it."),
        ("{1}, a quick word about {0}", "Opens with the contact's first name (a placeholder filled at send time), which tends to lift opens."),
        ("Have you seen {0}?", "A question invites the reader to answer it by opening."),
        ("{0}: what you need to know", "Promises a short, useful summary rather than a pitch."),
        ("Don't miss {0}", "A light sense of missing out without a false deadline."),
        ("3 things about {0}", "A number sets a clear, small expectation of the content."),
        ("{1}, this one is for you: {0}", "Personal and direct, with the placeholder kept for the send."),
        ("Inside: {0}", "Short and curious; leaves room for the preview text."),
        ("Your update on {0}", "Frames the email as news for the reader rather than an offer."),
        ("Quick question about {0}", "Sounds like a person writing, which reads well in a busy inbox."),
        ("Why {0} matters now", "Gives a reason to read today instead of later."),
        ("A closer look at {0}", "Calm and informative, suited to a considered decision."),
    ];

    private static readonly Dictionary<string, string> TonePrefixes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["urgent"] = "Today: ",
        ["playful"] = "Psst! ",
        ["excited"] = "Big news! ",
        ["friendly"] = "Hey! ",
    };

    private static readonly (string Opening, string Closing)[] Layouts =
    [
        ("<p>Hi {1},</p>\n<p>{0}</p>", "<p>Thanks for reading,<br>The team</p>"),
        ("<h1>{2}</h1>\n<p>{0}</p>", "<p><strong>Reply to this email</strong> if you have any question.</p>"),
        ("<p>Hi {1}, here is the short version:</p>\n<ul><li>{0}</li></ul>", "<p>See you soon.</p>"),
        ("<table role=\"presentation\" width=\"100%\"><tr><td><h2>{2}</h2><p>{0}</p></td></tr></table>", "<p>Talk soon,<br>The team</p>"),
    ];

    public string Provider => Name;

    public Task<Generation> GenerateAsync(VariantBrief brief, CancellationToken cancellationToken) => Task.FromResult(Generate(brief));

    public static Generation Generate(VariantBrief brief)
    {
        var seed = Seed(brief);
        var topic = Topic(brief);
        var prefix = brief.Tone is { } tone && TonePrefixes.TryGetValue(tone.Trim(), out var p) ? p : "";
        var toneNote = string.IsNullOrWhiteSpace(brief.Tone) ? "" : $" Written for a {Plain(brief.Tone, 40)} tone.";
        var variants = new List<Variant>(brief.Count);
        for (var i = 0; i < brief.Count; i++)
        {
            var (pattern, rationale) = Phrasings[(int)((seed + (ulong)i * 5) % (ulong)Phrasings.Length)];
            var subject = prefix + string.Format(System.Globalization.CultureInfo.InvariantCulture, pattern, topic, FirstName);
            if (brief.Kind == VariantKind.SubjectLines)
            {
                variants.Add(new Variant(subject, rationale + toneNote, null));
            }
            else
            {
                variants.Add(new Variant(subject, null, Body(brief, topic, (int)((seed + (ulong)i) % (ulong)Layouts.Length))));
            }
        }

        var tokens = variants.Sum(v => (long)(v.Subject.Length + (v.Rationale?.Length ?? 0) + (v.Html?.Length ?? 0))) / 4 + 1;
        return new Generation(variants, tokens);
    }

    private static string Body(VariantBrief brief, string topic, int layout)
    {
        var (opening, closing) = Layouts[layout];
        var text = WebUtility.HtmlEncode(Plain(brief.Brief ?? $"Here is what is new about {topic}.", 2000));
        var html = new StringBuilder(string.Format(System.Globalization.CultureInfo.InvariantCulture, opening, text, FirstName, WebUtility.HtmlEncode(topic)));

        // The template's own body follows, placeholders intact, when it is itself a valid variant body and the whole
        // still fits the length limit.
        if (brief.Template is { } template
            && html.Length + template.Html.Length + closing.Length + 2 <= VariantRules.MaxHtmlLength
            && VariantRules.Check(VariantKind.Content, 1, [new Variant("subject", null, template.Html)]).Count == 0)
        {
            html.Append('\n').Append(template.Html);
        }

        return html.Append('\n').Append(closing).ToString();
    }

    /// <summary>The subject of the variants: the brief's first clause, else the template's subject without its Liquid.</summary>
    private static string Topic(VariantBrief brief)
    {
        var source = !string.IsNullOrWhiteSpace(brief.Brief)
            ? brief.Brief.Split(['.', '!', '?', '\n', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? ""
            : LiquidMarkup().Replace(brief.Template?.Subject ?? "", " ");
        var topic = Plain(source, 60);
        if (topic.Length == 0)
        {
            topic = Plain(brief.Template?.Name ?? "", 60);
        }

        return topic.Length == 0 ? "our latest news" : topic;
    }

    /// <summary>One line of text without Liquid or markup delimiters, cut at a word boundary.</summary>
    private static string Plain(string text, int maxLength)
    {
        var cleaned = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '{' or '}' or '%' or '<' or '>' || char.IsControl(c) || char.IsSurrogate(c))
            {
                cleaned.Append(' ');
            }
            else
            {
                cleaned.Append(c);
            }
        }

        var line = Spaces().Replace(cleaned.ToString(), " ").Trim();
        if (line.Length <= maxLength)
        {
            return line;
        }

        var cut = line.LastIndexOf(' ', maxLength);
        return (cut > maxLength / 2 ? line[..cut] : line[..maxLength]).TrimEnd();
    }

    private static ulong Seed(VariantBrief brief)
    {
        var input = string.Join('\u001f', brief.Kind, brief.Count, brief.Brief, brief.Tone, brief.Template?.Name, brief.Template?.Subject, brief.Template?.Html);
        return BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(input)));
    }

    [GeneratedRegex(@"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline)]
    private static partial Regex LiquidMarkup();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
