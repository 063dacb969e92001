using System.Net;
using System.Threading.Channels;
using Automator.Delivery;
using Automator.Delivery.Providers;

namespace Automator.WebApi.Auth;

/// <summary>A message to a user about their account (address verification, password reset).</summary>
public sealed record AccountMessage(Guid OrganizationId, string To, string Kind, string Subject, string Text, string Html);

/// <summary>
/// Sends account messages through the configured provider (the primary, then the failover), off the request path: a
/// request only queues its work, so an answer takes the same time whether or not a message goes out. These are the
/// platform's own transactional messages, not an organization's sends: they are not in the send log, and a message lost
/// with its process is asked for again (another reset, or <c>POST /v1/auth/verify-email/resend</c>).
/// </summary>
public sealed class AccountMail(ProviderRegistry providers, TimeProvider time, ILogger<AccountMail> logger) : BackgroundService
{
    private readonly Channel<Func<CancellationToken, Task>> _work =
        Channel.CreateBounded<Func<CancellationToken, Task>>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropWrite });

    public string PublicBaseUrl => providers.Options.PublicBaseUrl.TrimEnd('/');

    /// <summary>Queues work (looking up, issuing a token, sending); false when the queue is full.</summary>
    public bool Enqueue(Func<CancellationToken, Task> work) => _work.Writer.TryWrite(work);

    public bool Enqueue(AccountMessage message) => Enqueue(cancellationToken => SendAsync(message, cancellationToken));

    public static AccountMessage Verification(Guid organizationId, string to, string link) => new(
        organizationId, to, "verify", "Confirm your email address",
        $"Confirm that this address is yours by opening this link:\r\n\r\n{link}\r\n\r\nThe link works once, for 7 days. If you did not sign up for Automator, ignore this message.",
        $"<p>Confirm that this address is yours:</p><p><a href=\"{WebUtility.HtmlEncode(link)}\">Confirm my email address</a></p><p>The link works once, for 7 days. If you did not sign up for Automator, ignore this message.</p>");

    public static AccountMessage PasswordReset(Guid organizationId, string to, string link) => new(
        organizationId, to, "reset", "Reset your password",
        $"Someone asked to reset the password of the Automator account of this address. To choose a new one, open:\r\n\r\n{link}\r\n\r\nThe link works once, for 1 hour, and signs out every session. If it was not you, ignore this message: nothing changes.",
        $"<p>Someone asked to reset the password of the Automator account of this address.</p><p><a href=\"{WebUtility.HtmlEncode(link)}\">Choose a new password</a></p><p>The link works once, for 1 hour, and signs out every session. If it was not you, ignore this message: nothing changes.</p>");

    public async Task SendAsync(AccountMessage message, CancellationToken cancellationToken)
    {
        var id = Guid.CreateVersion7(time.GetUtcNow());
        var from = providers.Options.FromEmail;
        var email = new OutboundEmail
        {
            SendId = id,
            SendKey = $"account:{message.Kind}:{id:N}",
            OrganizationId = message.OrganizationId,
            Transactional = true,
            FromEmail = from,
            FromName = providers.Options.FromName,
            To = message.To,
            Subject = message.Subject,
            Html = message.Html,
            Text = message.Text,
            MessageId = $"<{id:N}@{from[(from.IndexOf('@') + 1)..]}>",
        };
        foreach (var name in new[] { providers.Primary, providers.Secondary }.OfType<string>())
        {
            var outcome = await providers.Get(name).SendAsync(email, cancellationToken);
            if (outcome.Kind == OutcomeKind.Accepted)
            {
                return;
            }

            logger.LogWarning("Account message ({Kind}) through {Provider} was not accepted: {Error}", message.Kind, name, outcome.Error);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var work in _work.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await work(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogError(ex, "An account message could not be prepared or sent.");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
