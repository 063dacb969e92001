namespace Automator.Delivery.Providers;

[GenerateSerializer, Alias("delivery.email-header"), Immutable]
public sealed record EmailHeader([property: Id(0)] string Name, [property: Id(1)] string Value);

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
    [Id(9)] public string Html { get; init; } = "";
    [Id(10)] public string Text { get; init; } = "";

    /// <summary>The message's own RFC 5322 Message-ID, angle brackets included.</summary>
    [Id(11)] public string MessageId { get; init; } = "";

    /// <summary>Extra headers: List-Unsubscribe and List-Unsubscribe-Post for marketing mail.</summary>
    [Id(12)] public IReadOnlyList<EmailHeader> Headers { get; init; } = [];
}

/// <summary>One way out: SendGrid, Amazon SES, or the local outbox directory.</summary>
public interface IEmailProvider
{
    string Name { get; }

    /// <summary>Sends one message and classifies the answer; never throws for provider or transport failures.</summary>
    Task<ProviderOutcome> SendAsync(OutboundEmail email, CancellationToken cancellationToken = default);
}
