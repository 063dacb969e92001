using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Automator.Delivery.Providers;

namespace Automator.Delivery.Rendering;

/// <summary>
/// Splits a rendered message into content shared with every recipient of the same template and the per-recipient values
/// (unsubscribe URL, tracking links, open pixel, the contact's address and names), each replaced by a tag such as
/// <c>%%0%%</c>. Putting the values back gives the message exactly: tags contain no letters and values contain no
/// <c>%</c>, so neither can match inside the other. Text between two tags (or a tag and a lone <c>%</c>) could still
/// spell a third tag (<c>%%3%%1%%2%%</c> holds <c>%%1%%</c>), so a split whose parts hold any tag it did not insert is
/// refused and the message goes alone. Equal shared content is kept once.
/// </summary>
public sealed partial class SharedContentSplitter
{
    private const string Mark = "%%";
    private const int MaxKept = 1024;

    /// <summary>SendGrid's ceiling on the substitutions of one personalization, in bytes.</summary>
    public const int MaxSubstitutionBytes = 10_000;
    private readonly ConcurrentDictionary<(string Identity, string Subject, string Html, string Text), SharedContent> _kept = new();

    /// <summary>
    /// The shared content and substitutions, or null when the message cannot be shared (its text already uses the tag
    /// mark, or its values exceed what one personalization may carry). <paramref name="identity"/> names what else must match for two messages to share a request (organization,
    /// sender, kind, header names); <paramref name="values"/> come most specific first.
    /// </summary>
    public (SharedContent Shared, IReadOnlyList<Substitution> Substitutions)? Split(
        string identity, string subject, string html, string text, IEnumerable<string?> values)
    {
        if (subject.Contains(Mark, StringComparison.Ordinal) || html.Contains(Mark, StringComparison.Ordinal) || text.Contains(Mark, StringComparison.Ordinal))
        {
            return null;
        }

        var substitutions = new List<Substitution>();
        var inserted = 0;
        foreach (var value in values)
        {
            if (value is null || value.Length < 3 || value.Contains('%', StringComparison.Ordinal) || value.All(char.IsAsciiDigit)
                || substitutions.Exists(s => s.Value == value)
                || !(subject.Contains(value, StringComparison.Ordinal) || html.Contains(value, StringComparison.Ordinal) || text.Contains(value, StringComparison.Ordinal)))
            {
                continue;
            }

            var tag = $"{Mark}{substitutions.Count}{Mark}";
            inserted += Occurrences(subject, value) + Occurrences(html, value) + Occurrences(text, value);
            subject = subject.Replace(value, tag, StringComparison.Ordinal);
            html = html.Replace(value, tag, StringComparison.Ordinal);
            text = text.Replace(value, tag, StringComparison.Ordinal);
            substitutions.Add(new Substitution(tag, value));
        }

        if (substitutions.Sum(s => Encoding.UTF8.GetByteCount(s.Tag) + Encoding.UTF8.GetByteCount(s.Value)) > MaxSubstitutionBytes)
        {
            return null;
        }

        // Every tag in the parts, overlapping ones included, must be one that was put there.
        if (substitutions.Count > 0 && AnyTag().Count(subject) + AnyTag().Count(html) + AnyTag().Count(text) != inserted)
        {
            return null;
        }

        // Looked up by the parts themselves (string hashing is cheaper than a digest); the digest is made once per content.
        var parts = (identity, subject, html, text);
        if (_kept.TryGetValue(parts, out var shared))
        {
            return (shared, substitutions);
        }

        if (_kept.Count >= MaxKept)
        {
            _kept.Clear();
        }

        shared = _kept.GetOrAdd(parts, p => new SharedContent { Key = Key(p.Identity, p.Subject, p.Html, p.Text), Subject = p.Subject, Html = p.Html, Text = p.Text });
        return (shared, substitutions);
    }

    /// <summary>Non-overlapping occurrences, as <see cref="string.Replace(string, string, StringComparison)"/> replaces them.</summary>
    private static int Occurrences(string part, string value)
    {
        var count = 0;
        for (var at = part.IndexOf(value, StringComparison.Ordinal); at >= 0; at = part.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [System.Text.RegularExpressions.GeneratedRegex("(?=%%[0-9]+%%)", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex AnyTag();

    private static string Key(string identity, string subject, string html, string text)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var part in (ReadOnlySpan<string>)[identity, subject, html, text])
        {
            hash.AppendData(Encoding.UTF8.GetBytes(part));
            hash.AppendData([0]);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
