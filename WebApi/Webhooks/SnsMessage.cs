using System.Text.Json;

namespace Automator.WebApi.Webhooks;

/// <summary>The envelope Amazon SNS posts to an HTTP(S) subscription.</summary>
public sealed record SnsMessage
{
    public const string Notification = "Notification";
    public const string SubscriptionConfirmation = "SubscriptionConfirmation";
    public const string UnsubscribeConfirmation = "UnsubscribeConfirmation";

    public string? Type { get; init; }

    public string? MessageId { get; init; }

    public string? Token { get; init; }

    public string? TopicArn { get; init; }

    public string? Subject { get; init; }

    public string? Message { get; init; }

    public string? SubscribeUrl { get; init; }

    public string? Timestamp { get; init; }

    public string? SignatureVersion { get; init; }

    public string? Signature { get; init; }

    public string? SigningCertUrl { get; init; }

    /// <summary>Reads the envelope; null with a reason when the body is not one.</summary>
    public static (SnsMessage? Message, string? Error) Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 16 });
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "must be an SNS message (a JSON object).");
            }

            string? error = null;
            string? Field(string name)
            {
                if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
                {
                    return null;
                }

                if (value.ValueKind != JsonValueKind.String)
                {
                    error ??= $"{name} must be a string.";
                    return null;
                }

                return value.GetString();
            }

            var message = new SnsMessage
            {
                Type = Field("Type"),
                MessageId = Field("MessageId"),
                Token = Field("Token"),
                TopicArn = Field("TopicArn"),
                Subject = Field("Subject"),
                Message = Field("Message"),
                SubscribeUrl = Field("SubscribeURL"),
                Timestamp = Field("Timestamp"),
                SignatureVersion = Field("SignatureVersion"),
                Signature = Field("Signature"),
                SigningCertUrl = Field("SigningCertURL"),
            };
            return error is null ? (message, null) : (null, error);
        }
        catch (JsonException)
        {
            return (null, "must be an SNS message (a JSON object).");
        }
    }
}
