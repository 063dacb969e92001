using System.Globalization;
using System.Net.Http.Headers;

namespace Automator.Delivery;

public enum OutcomeKind
{
    /// <summary>The provider took the message; it must never be sent again.</summary>
    Accepted,

    /// <summary>Rate limited (429 or the provider's throttling error): slow down and retry later.</summary>
    Throttled,

    /// <summary>The request did not reach the provider or the provider failed (5xx): safe to retry, counts against the circuit.</summary>
    Transient,

    /// <summary>The provider rejected this message (4xx): retrying or failing over cannot help.</summary>
    Permanent,

    /// <summary>The request left but no answer came back (timeout, reset): the provider may or may not have accepted it.</summary>
    Ambiguous,
}

/// <summary>What one provider call came to.</summary>
public sealed record ProviderOutcome(OutcomeKind Kind, string? MessageId = null, string? Error = null, TimeSpan? RetryAfter = null, int? StatusCode = null)
{
    public static ProviderOutcome Accepted(string? messageId) => new(OutcomeKind.Accepted, messageId);

    public static ProviderOutcome Throttled(TimeSpan? retryAfter, string? error = null, int? status = 429) => new(OutcomeKind.Throttled, Error: error, RetryAfter: retryAfter, StatusCode: status);

    public static ProviderOutcome Transient(string error, int? status = null) => new(OutcomeKind.Transient, Error: error, StatusCode: status);

    public static ProviderOutcome Permanent(string error, int? status = null) => new(OutcomeKind.Permanent, Error: error, StatusCode: status);

    public static ProviderOutcome Ambiguous(string error) => new(OutcomeKind.Ambiguous, Error: error);

    /// <summary>Failures that say something about the provider's health (and so count towards opening its circuit).</summary>
    public bool CountsAgainstProvider => Kind is OutcomeKind.Transient or OutcomeKind.Ambiguous;
}

/// <summary>Turns HTTP answers and transport exceptions into <see cref="ProviderOutcome"/>s, the same way for every provider.</summary>
public static class ProviderOutcomeClassifier
{
    public static ProviderOutcome FromHttp(int status, HttpResponseHeaders? headers, string? body, DateTimeOffset now, string? messageId = null, string? errorType = null)
    {
        if (status is >= 200 and < 300)
        {
            return ProviderOutcome.Accepted(messageId);
        }

        var detail = Describe(status, errorType, body);
        if (status == 429 || IsThrottlingError(errorType))
        {
            return ProviderOutcome.Throttled(RateLimitHeaders.RetryAfter(headers, now), detail, status);
        }

        // Provider-wide conditions reported with a 4xx (bad credentials, a paused account) are not the message's fault:
        // treat them like an outage so the circuit can move traffic to the other provider.
        if (status is 401 or 403 || IsProviderWideError(errorType))
        {
            return ProviderOutcome.Transient(detail, status);
        }

        if (status is 408 || status >= 500)
        {
            return ProviderOutcome.Transient(detail, status);
        }

        return ProviderOutcome.Permanent(detail, status);
    }

    public static ProviderOutcome FromException(Exception exception, bool cancelledByCaller = false)
    {
        switch (exception)
        {
            case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError } http:
                // The connection was never made, so the message certainly did not leave.
                return ProviderOutcome.Transient("connection failed: " + http.Message);
            case HttpRequestException http:
                return ProviderOutcome.Ambiguous("connection lost after the request was sent: " + http.Message);
            case TaskCanceledException or TimeoutException when !cancelledByCaller:
                return ProviderOutcome.Ambiguous("timed out waiting for the provider's answer");
            case IOException io:
                return ProviderOutcome.Ambiguous("connection lost: " + io.Message);
            default:
                return ProviderOutcome.Transient(exception.GetType().Name + ": " + exception.Message);
        }
    }

    private static bool IsThrottlingError(string? errorType) =>
        errorType is not null && (errorType.Contains("TooManyRequests", StringComparison.OrdinalIgnoreCase)
            || errorType.Contains("Throttling", StringComparison.OrdinalIgnoreCase)
            || errorType.Contains("LimitExceeded", StringComparison.OrdinalIgnoreCase));

    private static bool IsProviderWideError(string? errorType) =>
        errorType is not null && (errorType.Contains("SendingPaused", StringComparison.OrdinalIgnoreCase)
            || errorType.Contains("AccountSuspended", StringComparison.OrdinalIgnoreCase)
            || errorType.Contains("MailFromDomainNotVerified", StringComparison.OrdinalIgnoreCase));

    private static string Describe(int status, string? errorType, string? body)
    {
        var text = string.IsNullOrWhiteSpace(body) ? "" : body.Length > 500 ? body[..500] : body;
        var prefix = errorType is null ? $"HTTP {status}" : $"HTTP {status} {errorType}";
        return text.Length == 0 ? prefix : $"{prefix}: {text}";
    }
}

/// <summary>Reads how long a provider asks us to wait: <c>Retry-After</c> (seconds or HTTP date) or <c>X-RateLimit-Reset</c> (Unix time).</summary>
public static class RateLimitHeaders
{
    public static TimeSpan? RetryAfter(HttpResponseHeaders? headers, DateTimeOffset now)
    {
        if (headers is null)
        {
            return null;
        }

        string? Get(string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
        return Parse(Get("Retry-After"), Get("X-RateLimit-Reset"), now);
    }

    public static TimeSpan? Parse(string? retryAfter, string? rateLimitReset, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(retryAfter))
        {
            var value = retryAfter.Trim();
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                return Clamp(at - now);
            }
        }

        if (!string.IsNullOrWhiteSpace(rateLimitReset)
            && long.TryParse(rateLimitReset.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var epochSeconds))
        {
            return Clamp(DateTimeOffset.FromUnixTimeSeconds(epochSeconds) - now);
        }

        return null;
    }

    private static TimeSpan Clamp(TimeSpan wait) => wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
}
