using SendGrid;
using SendGrid.Helpers.Mail;

namespace Automator.Delivery.Providers;

/// <summary>SendGrid through the official client, pointed at <c>Automator:Providers:SendGrid:BaseUrl</c>.</summary>
public sealed class SendGridEmailProvider : IBatchingEmailProvider
{
    private readonly SendGridClient _client;
    private readonly TimeProvider _time;

    public SendGridEmailProvider(HttpClient http, DeliveryOptions options, TimeProvider time)
    {
        _time = time;
        _client = new SendGridClient(http, new SendGridClientOptions
        {
            ApiKey = options.SendGridApiKey,
            Host = options.SendGridBaseUrl.TrimEnd('/'),
        });
    }

    public string Name => DeliveryOptions.SendGrid;

    public int MaxBatch => SendGridRequestBuilder.MaxPersonalizations;

    public bool MarksAtRequestStart => true;

    public Task<ProviderOutcome> SendAsync(OutboundEmail email, CancellationToken cancellationToken = default) =>
        SendAsync(SendGridRequestBuilder.Single(email), cancellationToken);

    public Task<ProviderOutcome> SendBatchAsync(IReadOnlyList<OutboundEmail> emails, CancellationToken cancellationToken = default) =>
        SendAsync(SendGridRequestBuilder.Batch(emails), cancellationToken);

    private async Task<ProviderOutcome> SendAsync(SendGridMessage message, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.SendEmailAsync(message, cancellationToken);
            var status = (int)response.StatusCode;
            var messageId = response.Headers.TryGetValues("X-Message-Id", out var ids) ? ids.FirstOrDefault() : null;
            var body = status is >= 200 and < 300 ? null : await response.Body.ReadAsStringAsync(cancellationToken);
            return ProviderOutcomeClassifier.FromHttp(status, response.Headers, body, _time.GetUtcNow(), messageId);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException or TimeoutException)
        {
            return ProviderOutcomeClassifier.FromException(ex, cancellationToken.IsCancellationRequested);
        }
    }
}
