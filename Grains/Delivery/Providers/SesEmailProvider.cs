using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Automator.Delivery.Providers;

/// <summary>Amazon SES v2 <c>SendEmail</c> (<c>POST /v2/email/outbound-emails</c>), SigV4-signed.</summary>
public sealed partial class SesEmailProvider(HttpClient http, DeliveryOptions options, TimeProvider time) : IEmailProvider
{
    public const string SendEmailPath = "/v2/email/outbound-emails";
    private readonly SesRequestSigner _signer = new(options.SesRegion ?? "us-east-1", options.SesAccessKeyId ?? "", options.SesSecretAccessKey ?? "");
    private readonly Uri _endpoint = new(string.IsNullOrWhiteSpace(options.SesServiceUrl)
        ? $"https://email.{options.SesRegion ?? "us-east-1"}.amazonaws.com"
        : options.SesServiceUrl.TrimEnd('/'));

    public string Name => DeliveryOptions.Ses;

    public bool MarksAtRequestStart => true;

    public static byte[] BuildBody(OutboundEmail email)
    {
        var headers = new List<object> { new { Name = "Message-ID", Value = email.MessageId } };
        headers.AddRange(email.Headers.Select(h => new { h.Name, h.Value }));
        var from = string.IsNullOrWhiteSpace(email.FromName) ? email.FromEmail : $"\"{email.FromName.Replace("\"", "'", StringComparison.Ordinal)}\" <{email.FromEmail}>";
        var body = new
        {
            FromEmailAddress = from,
            Destination = new { ToAddresses = new[] { email.To } },
            Content = new
            {
                Simple = new
                {
                    Subject = new { Data = email.Subject, Charset = "UTF-8" },
                    Body = new
                    {
                        Html = new { Data = email.Html, Charset = "UTF-8" },
                        Text = new { Data = email.Text, Charset = "UTF-8" },
                    },
                    Headers = headers,
                },
            },
            EmailTags = new[]
            {
                new { Name = "send_key", Value = TagValue(email.SendKey) },
                new { Name = "send_id", Value = email.SendId.ToString("N") },
            },
        };
        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>SES tag values allow only letters, digits, '_', '-', '.', '@': anything else becomes '_'.</summary>
    public static string TagValue(string value) => TagUnsafe().Replace(value, "_");

    public async Task<ProviderOutcome> SendAsync(OutboundEmail email, CancellationToken cancellationToken = default)
    {
        var body = BuildBody(email);
        var signed = _signer.Sign(_endpoint, "POST", SendEmailPath, body, "application/json", time.GetUtcNow().UtcDateTime);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, SendEmailPath))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        foreach (var (name, value) in signed)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            string? messageId = null;
            string? errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.FirstOrDefault()?.Split(':')[0] : null;
            if (status is >= 200 and < 300)
            {
                messageId = ReadString(text, "MessageId");
            }
            else
            {
                errorType ??= ReadString(text, "__type") ?? ReadString(text, "code");
            }

            return ProviderOutcomeClassifier.FromHttp(status, response.Headers, text, time.GetUtcNow(), messageId, errorType);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or TimeoutException)
        {
            return ProviderOutcomeClassifier.FromException(ex, cancellationToken.IsCancellationRequested);
        }
    }

    private static string? ReadString(string json, string property)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"[^A-Za-z0-9_\-.@]")]
    private static partial Regex TagUnsafe();
}
