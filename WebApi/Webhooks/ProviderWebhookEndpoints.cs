using Automator.Delivery.Providers;
using Automator.WebApi.Engagement;
using Automator.WebApi.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Automator.WebApi.Webhooks;

/// <summary>What a provider webhook did with a request: counts only, for the provider's logs and ours.</summary>
public sealed record WebhookResponse(int Received, int Recorded, int Duplicates, int UnknownSends, int Skipped, int TrackingDuplicates);

/// <summary>The decision classes of the provider webhooks, built once from configuration.</summary>
public sealed class ProviderWebhooks(
    WebhookOptions options, SendGridSignatureVerifier sendGridSignatures, SendGridEventMapper sendGridEvents, SnsMessageVerifier snsMessages, SesEventMapper sesEvents)
{
    public WebhookOptions Options { get; } = options;

    public SendGridSignatureVerifier SendGridSignatures { get; } = sendGridSignatures;

    public SendGridEventMapper SendGridEvents { get; } = sendGridEvents;

    public SnsMessageVerifier SnsMessages { get; } = snsMessages;

    public SesEventMapper SesEvents { get; } = sesEvents;
}

/// <summary>
/// <c>POST /webhooks/sendgrid</c> (Signed Event Webhook) and <c>POST /webhooks/ses</c> (SES event publishing through an
/// SNS HTTPS subscription). Anonymous: the signature is the caller's identity, and a request failing it is 401 and
/// records nothing. Success is answered only after the recorder committed the signals, so a provider retries anything
/// else (duplicates are recorded once by their provider event id).
/// </summary>
public static class ProviderWebhookEndpoints
{
    /// <summary>SendGrid batches hold up to thousands of events; bodies are read here, before the signature is known.</summary>
    public const long MaxBodyBytes = 10 * 1024 * 1024;
    public const long MaxSnsBodyBytes = 512 * 1024;

    public static IServiceCollection AddProviderWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        var options = WebhookOptions.FromConfiguration(configuration);
        services.AddSingleton(options);
        services.AddHttpClient(SnsCertificates.ClientName, c =>
            {
                c.Timeout = SnsCertificates.Timeout;
                c.MaxResponseContentBufferSize = SnsCertificates.MaxBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton<SnsCertificates>();
        services.AddSingleton(sp =>
        {
            var delivery = sp.GetService<DeliveryOptions>() ?? DeliveryOptions.FromConfiguration(configuration);
            var time = sp.GetRequiredService<TimeProvider>();
            var signatures = new SendGridSignatureVerifier(options.SendGridWebhookPublicKey, time, options.SendGridTimestampTolerance);
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProviderWebhookEndpoints));
            if (!signatures.Configured)
            {
                logger.LogWarning("POST /webhooks/sendgrid refuses every request: {Reason}", signatures.KeyError ?? "Automator:Providers:SendGrid:WebhookPublicKey is not set.");
            }

            if (options.SnsTopicArns.Count == 0)
            {
                logger.LogWarning("POST /webhooks/ses refuses every message: Automator:Providers:Ses:SnsTopicArns is not set.");
            }

            return new ProviderWebhooks(
                options,
                signatures,
                new SendGridEventMapper(delivery.TrackOpens, delivery.TrackLinks),
                new SnsMessageVerifier(options, time, sp.GetRequiredService<SnsCertificates>()),
                new SesEventMapper(delivery.TrackOpens, delivery.TrackLinks));
        });
        return services;
    }

    public static IEndpointRouteBuilder MapProviderWebhooks(this IEndpointRouteBuilder routes)
    {
        // Built at start so a missing key is said once, when the process starts.
        _ = routes.ServiceProvider.GetRequiredService<ProviderWebhooks>();
        var group = routes.MapGroup("/webhooks").WithTags("Webhooks").AllowAnonymous();
        group.MapPost("/sendgrid", SendGridAsync).WithBodyLimit(MaxBodyBytes);
        group.MapPost("/ses", SesAsync).WithBodyLimit(MaxSnsBodyBytes);
        return routes;
    }

    private static async Task<Results<Ok<WebhookResponse>, ValidationProblem, ProblemHttpResult>> SendGridAsync(
        HttpRequest request, ProviderWebhooks webhooks, [FromServices] IEngagementRecorder recorder, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(request, MaxBodyBytes, cancellationToken);
        if (body is null)
        {
            return TooLarge(MaxBodyBytes);
        }

        var refusal = webhooks.SendGridSignatures.Verify(
            request.Headers[SendGridSignatureVerifier.TimestampHeader].ToString(),
            request.Headers[SendGridSignatureVerifier.SignatureHeader].ToString(),
            body.Value.Span);
        if (refusal is not null)
        {
            return ApiResults.Unauthorized(refusal);
        }

        var batch = webhooks.SendGridEvents.Map(body.Value);
        if (batch.Error is not null)
        {
            return ApiResults.Invalid("body", batch.Error);
        }

        return await RecordAsync(batch, recorder, loggers, "sendgrid", cancellationToken);
    }

    private static async Task<Results<Ok<WebhookResponse>, ValidationProblem, ProblemHttpResult>> SesAsync(
        HttpRequest request, ProviderWebhooks webhooks, [FromServices] IEngagementRecorder recorder, IHttpClientFactory clients, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(request, MaxSnsBodyBytes, cancellationToken);
        if (body is null)
        {
            return TooLarge(MaxSnsBodyBytes);
        }

        // An envelope that cannot be read cannot be verified either: refused like a bad signature.
        var (message, error) = SnsMessage.Parse(body.Value);
        if (message is null)
        {
            return ApiResults.Unauthorized("The SNS message cannot be verified: the body " + error);
        }

        var refusal = await webhooks.SnsMessages.VerifyAsync(message, cancellationToken);
        if (refusal is not null)
        {
            return ApiResults.Unauthorized(refusal);
        }

        var logger = loggers.CreateLogger(typeof(ProviderWebhookEndpoints));
        switch (message.Type)
        {
            case SnsMessage.SubscriptionConfirmation:
                // VerifyAsync approved SubscribeURL's host and scheme; redirects are not followed.
                SnsMessageVerifier.IsAllowedUrl(message.SubscribeUrl, webhooks.Options.SnsCertificateHosts, out var subscribe);
                try
                {
                    using var response = await clients.CreateClient(SnsCertificates.ClientName).GetAsync(subscribe, cancellationToken);
                    if (!response.IsSuccessStatusCode)
                    {
                        return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: $"Confirming the subscription answered {(int)response.StatusCode}.");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Confirming the subscription failed: " + e.Message);
                }

                logger.LogInformation("Confirmed the SNS subscription to {TopicArn}", message.TopicArn);
                return TypedResults.Ok(new WebhookResponse(0, 0, 0, 0, 0, 0));
            case SnsMessage.UnsubscribeConfirmation:
                logger.LogInformation("SNS unsubscribed this endpoint from {TopicArn}", message.TopicArn);
                return TypedResults.Ok(new WebhookResponse(0, 0, 0, 0, 0, 0));
        }

        var batch = webhooks.SesEvents.Map(message.MessageId!, message.Message!);
        if (batch.Error is not null)
        {
            return ApiResults.Invalid("Message", batch.Error);
        }

        return await RecordAsync(batch, recorder, loggers, "ses", cancellationToken);
    }

    private static async Task<Results<Ok<WebhookResponse>, ValidationProblem, ProblemHttpResult>> RecordAsync(
        WebhookBatch batch, IEngagementRecorder recorder, ILoggerFactory loggers, string provider, CancellationToken cancellationToken)
    {
        var result = batch.Signals.Count == 0 ? new EngagementResult(0, 0, 0) : await recorder.RecordAsync(batch.Signals, cancellationToken);
        var skipped = batch.Unknown + batch.Unaddressed;
        if (skipped > 0 || batch.TrackingDuplicates > 0)
        {
            loggers.CreateLogger(typeof(ProviderWebhookEndpoints)).LogDebug(
                "{Provider} webhook: {Unknown} events of unknown types, {Unaddressed} naming no send, {Tracking} opens/clicks left to our own tracking",
                provider, batch.Unknown, batch.Unaddressed, batch.TrackingDuplicates);
        }

        return TypedResults.Ok(new WebhookResponse(
            batch.Signals.Count + skipped + batch.TrackingDuplicates, result.Recorded, result.Duplicates, result.UnknownSends, skipped, batch.TrackingDuplicates));
    }

    private static ProblemHttpResult TooLarge(long limit) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "The request body is too large.",
        extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["body"] = [$"must be at most {limit} bytes."] } });

    /// <summary>The exact body bytes, at most <paramref name="limit"/>; null when there are more.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            return null;
        }

        var buffer = new byte[request.ContentLength is > 0 and var length ? length + 1 : 64 * 1024];
        var filled = 0;
        while (true)
        {
            if (filled == buffer.Length)
            {
                if (buffer.Length > limit)
                {
                    return null;
                }

                Array.Resize(ref buffer, (int)Math.Min(limit + 1, buffer.Length * 2L));
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                return buffer.AsMemory(0, filled);
            }

            filled += read;
            if (filled > limit)
            {
                return null;
            }
        }
    }
}
