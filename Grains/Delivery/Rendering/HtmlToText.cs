using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Automator.Delivery.Rendering;

/// <summary>A readable plain-text part from HTML, for templates that have none of their own.</summary>
public static partial class HtmlToText
{
    public static string Convert(string html)
    {
        var text = DropBlocks().Replace(html, "");
        text = Links().Replace(text, m =>
        {
            var label = Tags().Replace(m.Groups["label"].Value, "").Trim();
            var href = m.Groups["href"].Value;
            return label.Length == 0 || WebUtility.HtmlDecode(label) == href ? href : $"{label} ({href})";
        });
        text = LineBreaks().Replace(text, "\n");
        text = BlockEnds().Replace(text, "\n\n");
        text = ListItems().Replace(text, "\n- ");
        text = Tags().Replace(text, "");
        text = WebUtility.HtmlDecode(text);

        var builder = new StringBuilder(text.Length);
        var blank = 0;
        foreach (var raw in text.Split('\n'))
        {
            var line = Spaces().Replace(raw, " ").Trim();
            if (line.Length == 0)
            {
                if (builder.Length > 0 && blank++ == 0)
                {
                    builder.Append('\n');
                }

                continue;
            }

            blank = 0;
            builder.Append(line).Append('\n');
        }

        return builder.ToString().TrimEnd() + "\n";
    }

    [GeneratedRegex(@"<(script|style|head)\b[^>]*>.*?</\1\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex DropBlocks();

    [GeneratedRegex("<a\\b[^>]*?href\\s*=\\s*[\"'](?<href>[^\"']*)[\"'][^>]*>(?<label>.*?)</a\\s*>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex Links();

    [GeneratedRegex(@"<br\s*/?>", RegexOptions.IgnoreCase)]
    private static partial Regex LineBreaks();

    [GeneratedRegex(@"</(p|div|h[1-6]|tr|table|ul|ol|blockquote)\s*>", RegexOptions.IgnoreCase)]
    private static partial Regex BlockEnds();

    [GeneratedRegex(@"<li\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex ListItems();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tags();

    [GeneratedRegex(@"[ \t\r\f\v]+")]
    private static partial Regex Spaces();
}
