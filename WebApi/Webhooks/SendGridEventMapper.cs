using System.Text.Json;
using Automator.WebApi.Engagement;

namespace Automator.WebApi.Webhooks;

/// <summary>What one webhook request turned into: the signals to record and what was left out, counted.</summary>
public sealed record WebhookBatch(IReadOnlyList<EngagementSignal> Signals, int Unknown, int Unaddressed, int TrackingDuplicates)
{
    /// <summary>Set when the body is malformed; nothing is recorded then.</summary>
    public string? Error { get; init; }

    public static WebhookBatch Malformed(string error) => new([], 0, 0, 0) { Error = error };
}

/// <summary>
/// Turns a SendGrid Event Webhook batch (a JSON array of events) into engagement signals. Custom args (<c>send_id</c>,
/// <c>send_key</c>) arrive as top-level fields of each event. While Automator tracks opens (or clicks) itself,
/// SendGrid's own open (click) events are left out so that nothing is counted twice.
/// </summary>
public sealed class SendGridEventMapper(bool trackOpens, bool trackLinks)
{
    public const string Source = "sendgrid";

    public WebhookBatch Map(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException)
        {
            return WebhookBatch.Malformed("must be a JSON array of events.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                return WebhookBatch.Malformed("must be a JSON array of events.");
            }

            var signals = new List<EngagementSignal>(root.GetArrayLength());
            int unknown = 0, unaddressed = 0, tracking = 0, index = 0;
            foreach (var item in root.EnumerateArray())
            {
                var (signal, error) = MapOne(item, index);
                if (error is not null)
                {
                    return WebhookBatch.Malformed(error);
                }

                switch (signal)
                {
                    case null:
                        unknown++;
                        break;
                    case { Kind: EngagementKinds.Opened } when trackOpens:
                    case { Kind: EngagementKinds.Clicked } when trackLinks:
                        tracking++;
                        break;
                    case { SendId: null, SendKey: null }:
                        unaddressed++;
                        break;
                    default:
                        signals.Add(signal);
                        break;
                }

                index++;
            }

            return new WebhookBatch(signals, unknown, unaddressed, tracking);
        }
    }

    private static (EngagementSignal? Signal, string? Error) MapOne(JsonElement item, int index)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return (null, $"[{index}] must be an event object.");
        }

        string? Text(string name, out string? error, bool numbers = true)
        {
            error = null;
            if (!item.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.String)
            {
                return value.GetString();
            }

            // SendGrid sends some codes (status, sg_event_id of old accounts) as numbers; keep their text.
            if (numbers && value.ValueKind == JsonValueKind.Number)
            {
                return value.GetRawText();
            }

            error = $"[{index}].{name} must be a string.";
            return null;
        }

        var kind = Text("event", out var fieldError, numbers: false);
        if (fieldError is not null || kind is null)
        {
            return (null, fieldError ?? $"[{index}].event is required.");
        }

        if (!item.TryGetProperty("timestamp", out var ts) || ts.ValueKind != JsonValueKind.Number || !ts.TryGetDouble(out var seconds)
            || seconds < 0 || seconds > 253_402_300_799)
        {
            return (null, $"[{index}].timestamp must be unix seconds.");
        }

        var eventId = Text("sg_event_id", out fieldError);
        var sendIdText = fieldError is null ? Text("send_id", out fieldError, numbers: false) : null;
        var sendKey = fieldError is null ? Text("send_key", out fieldError, numbers: false) : null;
        var reason = fieldError is null ? Text("reason", out fieldError) : null;
        var status = fieldError is null ? Text("status", out fieldError) : null;
        var response = fieldError is null ? Text("response", out fieldError) : null;
        var type = fieldError is null ? Text("type", out fieldError) : null;
        var url = fieldError is null ? Text("url", out fieldError) : null;
        var userAgent = fieldError is null ? Text("useragent", out fieldError) : null;
        if (fieldError is not null)
        {
            return (null, fieldError);
        }

        var signal = new EngagementSignal
        {
            Kind = "",
            Source = Source,
            At = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000)),
            ProviderEventId = string.IsNullOrEmpty(eventId) ? null : eventId,
            SendId = Guid.TryParse(sendIdText, out var sendId) ? sendId : null,
            SendKey = string.IsNullOrEmpty(sendKey) ? null : sendKey,
        };

        return kind switch
        {
            "processed" => (signal with { Kind = EngagementKinds.Processed }, null),
            "delivered" => (signal with { Kind = EngagementKinds.Delivered }, null),
            "deferred" => (signal with { Kind = EngagementKinds.Deferred, Diagnostic = response ?? reason }, null),
            "bounce" => (signal with
            {
                Kind = EngagementKinds.Bounced,
                BounceType = type == "blocked" ? BounceTypes.Soft : BounceTypes.Hard,
                Diagnostic = reason ?? status,
            }, null),
            "dropped" => (signal with { Kind = EngagementKinds.Dropped, Diagnostic = reason }, null),
            "spamreport" => (signal with { Kind = EngagementKinds.Complained }, null),
            "unsubscribe" or "group_unsubscribe" => (signal with { Kind = EngagementKinds.Unsubscribed }, null),
            "open" => (signal with
            {
                Kind = EngagementKinds.Opened,
                UserAgent = userAgent,
                // Apple Mail Privacy Protection fetches every pixel: SendGrid flags those opens.
                Machine = item.TryGetProperty("sg_machine_open", out var machine) && machine.ValueKind == JsonValueKind.True,
            }, null),
            "click" => (signal with { Kind = EngagementKinds.Clicked, Url = url, UserAgent = userAgent }, null),
            _ => (null, null),
        };
    }
}
