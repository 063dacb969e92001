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

        // One pass over the event's fields (an event carries a dozen or more; most are not ours).
        string? kind = null, eventId = null, sendIdText = null, sendKey = null, reason = null, status = null, response = null, type = null, url = null, userAgent = null;
        double? seconds = null;
        var machine = false;
        foreach (var field in item.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "timestamp":
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || number < 0 || number > 253_402_300_799)
                    {
                        return (null, $"[{index}].timestamp must be unix seconds.");
                    }

                    seconds = number;
                    break;
                case "sg_machine_open":
                    // Apple Mail Privacy Protection fetches every pixel: SendGrid flags those opens.
                    machine = value.ValueKind == JsonValueKind.True;
                    break;
                case "event" or "send_id" or "send_key" or "sg_event_id" or "reason" or "status" or "response" or "type" or "url" or "useragent":
                    // SendGrid sends some codes (status, sg_event_id of old accounts) as numbers; keep their text.
                    var numbers = field.Name is not ("event" or "send_id" or "send_key");
                    string? text;
                    if (value.ValueKind == JsonValueKind.String)
                    {
                        text = value.GetString();
                    }
                    else if (value.ValueKind == JsonValueKind.Null)
                    {
                        text = null;
                    }
                    else if (numbers && value.ValueKind == JsonValueKind.Number)
                    {
                        text = value.GetRawText();
                    }
                    else
                    {
                        return (null, $"[{index}].{field.Name} must be a string.");
                    }

                    switch (field.Name)
                    {
                        case "event": kind = text; break;
                        case "send_id": sendIdText = text; break;
                        case "send_key": sendKey = text; break;
                        case "sg_event_id": eventId = text; break;
                        case "reason": reason = text; break;
                        case "status": status = text; break;
                        case "response": response = text; break;
                        case "type": type = text; break;
                        case "url": url = text; break;
                        default: userAgent = text; break;
                    }

                    break;
            }
        }

        if (kind is null)
        {
            return (null, $"[{index}].event is required.");
        }

        if (seconds is null)
        {
            return (null, $"[{index}].timestamp must be unix seconds.");
        }

        string? bounceType = null, diagnostic = null;
        switch (kind)
        {
            case "processed":
                kind = EngagementKinds.Processed;
                break;
            case "delivered":
                kind = EngagementKinds.Delivered;
                break;
            case "deferred":
                kind = EngagementKinds.Deferred;
                diagnostic = response ?? reason;
                break;
            case "bounce":
                kind = EngagementKinds.Bounced;
                bounceType = type == "blocked" ? BounceTypes.Soft : BounceTypes.Hard;
                diagnostic = reason ?? status;
                break;
            case "dropped":
                kind = EngagementKinds.Dropped;
                diagnostic = reason;
                break;
            case "spamreport":
                kind = EngagementKinds.Complained;
                break;
            case "unsubscribe" or "group_unsubscribe":
                kind = EngagementKinds.Unsubscribed;
                break;
            case "open":
                kind = EngagementKinds.Opened;
                url = null;
                break;
            case "click":
                kind = EngagementKinds.Clicked;
                machine = false;
                break;
            default:
                return (null, null);
        }

        var tracking = kind is EngagementKinds.Opened or EngagementKinds.Clicked;
        return (new EngagementSignal
        {
            Kind = kind,
            Source = Source,
            At = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds.Value * 1000)),
            ProviderEventId = string.IsNullOrEmpty(eventId) ? null : eventId,
            SendId = Guid.TryParse(sendIdText, out var sendId) ? sendId : null,
            SendKey = string.IsNullOrEmpty(sendKey) ? null : sendKey,
            BounceType = bounceType,
            Diagnostic = diagnostic,
            Url = kind == EngagementKinds.Clicked ? url : null,
            UserAgent = tracking ? userAgent : null,
            Machine = kind == EngagementKinds.Opened && machine,
        }, null);
    }
}
