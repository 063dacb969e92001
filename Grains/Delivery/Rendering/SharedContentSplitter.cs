using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Automator.Delivery.Providers;

namespace Automator.Delivery.Rendering;

/// <summary>
/// Splits a rendered message into content shared with every recipient of the same template and the per-recipient values
/// (unsubscribe URL, tracking links, open pixel, the contact's address and names), each replaced by a tag such as
/// <c>%%0%%</c>. Putting the values back gives the message exactly: tags contain no letters and values contain no
/// <c>%</c>, so neither can match inside the other. Equal shared content is kept once.
/// </summary>
public sealed class SharedContentSplitter
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
        foreach (var value in values)
        {
            if (value is null || value.Length < 3 || value.Contains('%', StringComparison.Ordinal) || value.All(char.IsAsciiDigit)
                || substitutions.Exists(s => s.Value == value)
                || !(subject.Contains(value, StringComparison.Ordinal) || html.Contains(value, StringComparison.Ordinal) || text.Contains(value, StringComparison.Ordinal)))
            {
                continue;
            }

            var tag = $"{Mark}{substitutions.Count}{Mark}";
            subject = subject.Replace(value, tag, StringComparison.Ordinal);
            html = html.Replace(value, tag, StringComparison.Ordinal);
            text = text.Replace(value, tag, StringComparison.Ordinal);
            substitutions.Add(new Substitution(tag, value));
        }

        if (substitutions.Sum(s => Encoding.UTF8.GetByteCount(s.Tag) + Encoding.UTF8.GetByteCount(s.Value)) > MaxSubstitutionBytes)
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
