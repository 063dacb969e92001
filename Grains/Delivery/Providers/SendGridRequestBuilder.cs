using SendGrid.Helpers.Mail;

namespace Automator.Delivery.Providers;

/// <summary>One recipient of a batch: their address and the values substituted into the shared content.</summary>
public sealed record BatchRecipient(string Email, string SendKey, Guid SendId, IReadOnlyDictionary<string, string> Substitutions, IReadOnlyList<EmailHeader> Headers);

/// <summary>Content shared by every recipient of a batch, with substitution tags (e.g. <c>-unsubscribe_url-</c>).</summary>
public sealed record BatchContent(string FromEmail, string? FromName, string Subject, string Html, string Text);

/// <summary>Builds SendGrid v3 mail/send requests.</summary>
public static class SendGridRequestBuilder
{
    /// <summary>SendGrid's ceiling on personalizations per request.</summary>
    public const int MaxPersonalizations = 1000;

    public static SendGridMessage Single(OutboundEmail email)
    {
        var message = new SendGridMessage
        {
            From = new EmailAddress(email.FromEmail, email.FromName),
            Subject = email.Subject,
            PlainTextContent = email.Text,
            HtmlContent = email.Html,
            Personalizations =
            [
                new Personalization
                {
                    Tos = [new EmailAddress(email.To)],
                    CustomArgs = CustomArgs(email.SendKey, email.SendId),
                },
            ],
            Headers = Headers(email.MessageId, email.Headers),
        };
        return message;
    }

    /// <summary>
    /// Messages sharing their content (equal <see cref="OutboundEmail.Shared"/> keys) as one request: the shared subject
    /// and body with tags, and per recipient a personalization with its address, substitutions, own headers (Message-ID,
    /// List-Unsubscribe) and send key.
    /// </summary>
    public static SendGridMessage Batch(IReadOnlyList<OutboundEmail> emails)
    {
        ArgumentOutOfRangeException.ThrowIfZero(emails.Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(emails.Count, MaxPersonalizations);
        var first = emails[0];
        var shared = first.Shared ?? throw new ArgumentException("Only messages with shared content can be batched.", nameof(emails));
        if (emails.Any(e => e.Shared?.Key != shared.Key))
        {
            throw new ArgumentException("Every message of a batch must share the same content.", nameof(emails));
        }

        var recipients = emails.Select(e => new BatchRecipient(
            e.To, e.SendKey, e.SendId,
            e.Substitutions.ToDictionary(s => s.Tag, s => s.Value, StringComparer.Ordinal),
            [.. Headers(e.MessageId, e.Headers).Select(h => new EmailHeader(h.Key, h.Value))]));
        return Batches(new BatchContent(first.FromEmail, first.FromName, shared.Subject, shared.Html, shared.Text), recipients).Single();
    }

    /// <summary>
    /// Identical content to many recipients: one personalization per recipient (own address, substitutions, headers and
    /// send key), at most <paramref name="maxPerRequest"/> per request.
    /// </summary>
    public static IEnumerable<SendGridMessage> Batches(BatchContent content, IEnumerable<BatchRecipient> recipients, int maxPerRequest = MaxPersonalizations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerRequest, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxPerRequest, MaxPersonalizations);
        foreach (var chunk in recipients.Chunk(maxPerRequest))
        {
            yield return new SendGridMessage
            {
                From = new EmailAddress(content.FromEmail, content.FromName),
                Subject = content.Subject,
                PlainTextContent = content.Text,
                HtmlContent = content.Html,
                Personalizations = chunk.Select(r => new Personalization
                {
                    Tos = [new EmailAddress(r.Email)],
                    Substitutions = r.Substitutions.ToDictionary(),
                    Headers = r.Headers.ToDictionary(h => h.Name, h => h.Value),
                    CustomArgs = CustomArgs(r.SendKey, r.SendId),
                }).ToList(),
            };
        }
    }

    private static Dictionary<string, string> CustomArgs(string sendKey, Guid sendId) => new()
    {
        ["send_key"] = sendKey,
        ["send_id"] = sendId.ToString("N"),
    };

    private static Dictionary<string, string> Headers(string messageId, IReadOnlyList<EmailHeader> headers)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (messageId.Length > 0)
        {
            all["Message-ID"] = messageId;
        }

        foreach (var header in headers)
        {
            all[header.Name] = header.Value;
        }

        return all;
    }
}
