namespace Automator.Delivery.Providers;

[GenerateSerializer, Alias("delivery.email-header"), Immutable]
public sealed record EmailHeader([property: Id(0)] string Name, [property: Id(1)] string Value);

/// <summary>A per-recipient value and the tag standing for it in <see cref="SharedContent"/>.</summary>
[GenerateSerializer, Alias("delivery.substitution"), Immutable]
public sealed record Substitution([property: Id(0)] string Tag, [property: Id(1)] string Value);

/// <summary>
/// A message's subject and body with every per-recipient value (unsubscribe URL, tracking links, open pixel, contact
/// name and address) replaced by a tag. Messages with equal <see cref="Key"/>s differ only by their substitutions, so a
/// provider that substitutes (SendGrid personalizations) can carry many of them in one request.
/// </summary>
[GenerateSerializer, Alias("delivery.shared-content"), Immutable]
public sealed class SharedContent
{
    /// <summary>Hash of everything shared: organization, kind, sender, subject, body parts, header names.</summary>
    [Id(0)] public string Key { get; init; } = "";
    [Id(1)] public string Subject { get; init; } = "";
    [Id(2)] public string Html { get; init; } = "";
    [Id(3)] public string Text { get; init; } = "";

    /// <summary>A shared part with one recipient's values put back.</summary>
    public string Resolve(string part, IReadOnlyList<Substitution> substitutions)
    {
        foreach (var substitution in substitutions)
        {
            part = part.Replace(substitution.Tag, substitution.Value, StringComparison.Ordinal);
        }

        return part;
    }
}

/// <summary>A fully rendered message for one recipient, ready for any provider.</summary>
[GenerateSerializer, Alias("delivery.outbound-email"), Immutable]
public sealed class OutboundEmail
{
    [Id(0)] public Guid SendId { get; init; }
    [Id(1)] public string SendKey { get; init; } = "";
    [Id(2)] public Guid OrganizationId { get; init; }
    [Id(3)] public Guid ContactId { get; init; }
    [Id(4)] public bool Transactional { get; init; }
    [Id(5)] public string FromEmail { get; init; } = "";
    [Id(6)] public string? FromName { get; init; }
    [Id(7)] public string To { get; init; } = "";
    [Id(8)] public string Subject { get; init; } = "";
    // A message with shared content keeps only the shared parts and its substitutions (the shared strings are one instance
    // for all of a batch's messages); its full body is put together when a provider needs it.
    [Id(9)] private string? _html;
    [Id(10)] private string? _text;

    public string Html { get => _html ?? Shared?.Resolve(Shared.Html, Substitutions) ?? ""; init => _html = value; }

    public string Text { get => _text ?? Shared?.Resolve(Shared.Text, Substitutions) ?? ""; init => _text = value; }

    /// <summary>The message's own RFC 5322 Message-ID, angle brackets included.</summary>
    [Id(11)] public string MessageId { get; init; } = "";

    /// <summary>Extra headers: List-Unsubscribe and List-Unsubscribe-Post for marketing mail.</summary>
    [Id(12)] public IReadOnlyList<EmailHeader> Headers { get; init; } = [];

    /// <summary>The same message as shared content plus this recipient's substitutions; null when it cannot be shared.</summary>
    [Id(13)] public SharedContent? Shared { get; init; }

    [Id(14)] public IReadOnlyList<Substitution> Substitutions { get; init; } = [];
}

/// <summary>A provider that can send one shared content to many recipients in a request.</summary>
public interface IBatchingEmailProvider : IEmailProvider
{
    /// <summary>How many recipients one request may carry.</summary>
    int MaxBatch { get; }

    /// <summary>
    /// Sends messages that share <see cref="OutboundEmail.Shared"/> content (equal keys) in one request; the one answer
    /// stands for every message in it. Never throws for provider or transport failures.
    /// </summary>
    Task<ProviderOutcome> SendBatchAsync(IReadOnlyList<OutboundEmail> emails, CancellationToken cancellationToken = default);
}

/// <summary>One way out: SendGrid, Amazon SES, or the local outbox directory.</summary>
public interface IEmailProvider
{
    string Name { get; }

    /// <summary>Sends one message and classifies the answer; never throws for provider or transport failures.</summary>
    Task<ProviderOutcome> SendAsync(OutboundEmail email, CancellationToken cancellationToken = default);

    /// <summary>
    /// True when the provider's requests go through <see cref="RequestStartHandler"/>, which marks the sends in flight
    /// when a request starts; otherwise the worker marks them just before calling the provider.
    /// </summary>
    bool MarksAtRequestStart => false;
}
