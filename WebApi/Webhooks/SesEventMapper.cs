using System.Globalization;
using System.Text.Json;
using Automator.WebApi.Engagement;

namespace Automator.WebApi.Webhooks;

/// <summary>
/// Turns the SES event carried in an SNS notification's <c>Message</c> (event publishing: <c>eventType</c>; older
/// feedback notifications: <c>notificationType</c>) into engagement signals. The send is named by the
/// <c>send_id</c> message tag; the event id is the SNS MessageId.
/// </summary>
public sealed class SesEventMapper(bool trackOpens, bool trackLinks)
{
    public const string Source = "ses";

    public WebhookBatch Map(string messageId, string message)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            return WebhookBatch.Malformed("must be an SES event (a JSON object).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return WebhookBatch.Malformed("must be an SES event (a JSON object).");
            }

            var type = Text(root, "eventType") ?? Text(root, "notificationType");
            var mail = Child(root, "mail");
            var mailAt = Time(mail, "timestamp");
            Guid? sendId = mail is { } m && Child(m, "tags") is { } tags && tags.TryGetProperty("send_id", out var ids)
                && ids.ValueKind == JsonValueKind.Array && ids.GetArrayLength() > 0 && ids[0].ValueKind == JsonValueKind.String
                && Guid.TryParse(ids[0].GetString(), out var parsed)
                ? parsed
                : null;

            EngagementSignal Signal(string kind, JsonElement? detail) => new()
            {
                Kind = kind,
                Source = Source,
                SendId = sendId,
                ProviderEventId = messageId,
                At = Time(detail, "timestamp") ?? mailAt ?? DateTimeOffset.UnixEpoch,
            };

            EngagementSignal? signal = null;
            switch (type)
            {
                case "Send":
                    signal = Signal(EngagementKinds.Processed, null);
                    break;
                case "Delivery":
                    signal = Signal(EngagementKinds.Delivered, Child(root, "delivery"));
                    break;
                case "Bounce":
                    var bounce = Child(root, "bounce");
                    var firstRecipient = First(bounce, "bouncedRecipients");
                    signal = Signal(EngagementKinds.Bounced, bounce) with
                    {
                        BounceType = Text(bounce, "bounceType") == "Permanent" ? BounceTypes.Hard : BounceTypes.Soft,
                        Diagnostic = Text(firstRecipient, "diagnosticCode") ?? Text(bounce, "bounceSubType"),
                    };
                    break;
                case "Complaint":
                    var complaint = Child(root, "complaint");
                    signal = Signal(EngagementKinds.Complained, complaint) with { Diagnostic = Text(complaint, "complaintFeedbackType") };
                    break;
                case "Reject":
                    signal = Signal(EngagementKinds.Dropped, null) with { Diagnostic = Text(Child(root, "reject"), "reason") };
                    break;
                case "DeliveryDelay":
                    var delay = Child(root, "deliveryDelay");
                    signal = Signal(EngagementKinds.Deferred, delay) with
                    {
                        Diagnostic = Text(First(delay, "delayedRecipients"), "diagnosticCode") ?? Text(delay, "delayType"),
                    };
                    break;
                case "Open":
                    var open = Child(root, "open");
                    signal = Signal(EngagementKinds.Opened, open) with { UserAgent = Text(open, "userAgent") };
                    break;
                case "Click":
                    var click = Child(root, "click");
                    signal = Signal(EngagementKinds.Clicked, click) with { Url = Text(click, "link"), UserAgent = Text(click, "userAgent") };
                    break;
            }

            return signal switch
            {
                null => new WebhookBatch([], 1, 0, 0),
                { Kind: EngagementKinds.Opened } when trackOpens => new WebhookBatch([], 0, 0, 1),
                { Kind: EngagementKinds.Clicked } when trackLinks => new WebhookBatch([], 0, 0, 1),
                { SendId: null } => new WebhookBatch([], 0, 1, 0),
                _ => new WebhookBatch([signal], 0, 0, 0),
            };
        }
    }

    private static JsonElement? Child(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : null;

    private static JsonElement? First(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
            ? value[0]
            : null;

    private static string? Text(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static DateTimeOffset? Time(JsonElement? parent, string name) =>
        DateTimeOffset.TryParse(Text(parent, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
}
