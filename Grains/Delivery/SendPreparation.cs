using Automator.Delivery.Providers;
using Automator.Delivery.Rendering;
using Automator.Delivery.SendLog;

namespace Automator.Delivery;

/// <summary>What a send turns into once its facts are read: a message for a provider, or the status it ends with.</summary>
public sealed record PreparedSend(OutboundEmail? Email, SendStatus Status, string Subject, string? Error, AmbiguousPolicy AmbiguousPolicy);

/// <summary>
/// Applies suppression at send time and renders, from the facts read for the send (organization, contact, template,
/// suppressions). The front door does this for a new send with the facts its batched lookup read; a live silo does it
/// again for a queued send it takes over from a silo that died, so a contact suppressed in between is still never mailed.
/// </summary>
public sealed class SendPreparation(ISendLog sendLog, MessageComposer composer)
{
    /// <summary>Reads the send's facts afresh, then <see cref="Prepare"/>.</summary>
    public async Task<PreparedSend> PrepareAsync(SendRecord send)
    {
        var lookups = await sendLog.LookupAsync([new SendLookupRequest(
            send.SendKey, send.OrganizationId, send.ContactId ?? Guid.Empty, send.Email, send.TemplateId ?? Guid.Empty)]);
        return Prepare(send, lookups[0].Facts);
    }

    public PreparedSend Prepare(SendRecord send, DeliveryFacts facts)
    {
        var suppressedBecause = facts.SuppressedBecause
            ?? (facts.Contact is { } c && SuppressionHash.BlockingStatuses.Contains(c.Status) ? c.Status : null);
        if (suppressedBecause is not null)
        {
            return End(SendStatus.Suppressed, "", $"suppressed: {suppressedBecause}", facts);
        }

        if (facts.Template is null)
        {
            return End(SendStatus.Failed, "", $"template {send.TemplateId ?? Guid.Empty} not found", facts);
        }

        try
        {
            var email = composer.Compose(new ComposeRequest(
                send.Id, send.SendKey, send.OrganizationId, facts.OrganizationName, facts.PostalAddress,
                send.ContactId ?? Guid.Empty, send.Email, facts.Contact?.FirstName, facts.Contact?.LastName, facts.Contact?.PropertiesJson,
                send.EventJson, send.WorkflowId, send.JourneyId, send.StepId, facts.Template, send.SubjectOverride,
                send.Transactional || !facts.Template.Marketing));
            return new PreparedSend(email, SendStatus.Queued, email.Subject, null, facts.AmbiguousPolicy);
        }
        catch (TemplateRenderException ex)
        {
            return End(SendStatus.Failed, facts.Template.Subject, ex.Message, facts);
        }
    }

    private static PreparedSend End(SendStatus status, string subject, string error, DeliveryFacts facts) =>
        new(null, status, subject, error, facts.AmbiguousPolicy);
}
