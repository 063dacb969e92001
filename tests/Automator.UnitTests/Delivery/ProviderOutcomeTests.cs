using System.Net;
using System.Net.Http.Headers;
using Automator.Delivery;

namespace Automator.UnitTests.Delivery;

public sealed class ProviderOutcomeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(200, OutcomeKind.Accepted)]
    [InlineData(202, OutcomeKind.Accepted)]
    [InlineData(429, OutcomeKind.Throttled)]
    [InlineData(500, OutcomeKind.Transient)]
    [InlineData(502, OutcomeKind.Transient)]
    [InlineData(503, OutcomeKind.Transient)]
    [InlineData(504, OutcomeKind.Transient)]
    [InlineData(408, OutcomeKind.Transient)]
    [InlineData(401, OutcomeKind.Transient)]
    [InlineData(403, OutcomeKind.Transient)]
    [InlineData(400, OutcomeKind.Permanent)]
    [InlineData(413, OutcomeKind.Permanent)]
    [InlineData(422, OutcomeKind.Permanent)]
    public void Http_status_is_classified(int status, OutcomeKind expected)
    {
        Assert.Equal(expected, ProviderOutcomeClassifier.FromHttp(status, null, "body", Now).Kind);
    }

    [Theory]
    [InlineData("TooManyRequestsException", OutcomeKind.Throttled)]
    [InlineData("LimitExceededException", OutcomeKind.Throttled)]
    [InlineData("SendingPausedException", OutcomeKind.Transient)]
    [InlineData("MessageRejected", OutcomeKind.Permanent)]
    [InlineData("BadRequestException", OutcomeKind.Permanent)]
    public void Ses_error_types_on_a_400_are_classified(string errorType, OutcomeKind expected)
    {
        Assert.Equal(expected, ProviderOutcomeClassifier.FromHttp(400, null, null, Now, errorType: errorType).Kind);
    }

    [Fact]
    public void A_permanent_rejection_keeps_the_providers_reason()
    {
        var outcome = ProviderOutcomeClassifier.FromHttp(400, null, "{\"errors\":[{\"message\":\"invalid email\"}]}", Now);

        Assert.Contains("invalid email", outcome.Error, StringComparison.Ordinal);
        Assert.Equal(400, outcome.StatusCode);
        Assert.False(outcome.CountsAgainstProvider);
    }

    [Fact]
    public void A_throttle_carries_the_wait_from_the_reset_header()
    {
        using var response = new HttpResponseMessage((HttpStatusCode)429);
        response.Headers.Add("X-RateLimit-Reset", Now.AddSeconds(7).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));

        var outcome = ProviderOutcomeClassifier.FromHttp(429, response.Headers, null, Now);

        Assert.Equal(TimeSpan.FromSeconds(7), outcome.RetryAfter);
    }

    [Fact]
    public void Accepted_keeps_the_provider_message_id()
    {
        Assert.Equal("abc", ProviderOutcomeClassifier.FromHttp(202, null, null, Now, messageId: "abc").MessageId);
    }

    [Fact]
    public void A_refused_connection_is_transient_because_nothing_left()
    {
        var outcome = ProviderOutcomeClassifier.FromException(new HttpRequestException(HttpRequestError.ConnectionError, "refused"));

        Assert.Equal(OutcomeKind.Transient, outcome.Kind);
    }

    [Fact]
    public void A_timeout_after_sending_is_ambiguous()
    {
        Assert.Equal(OutcomeKind.Ambiguous, ProviderOutcomeClassifier.FromException(new TaskCanceledException()).Kind);
        Assert.Equal(OutcomeKind.Ambiguous, ProviderOutcomeClassifier.FromException(new HttpRequestException(HttpRequestError.ResponseEnded, "ended")).Kind);
    }

    [Fact]
    public void Health_failures_are_transient_and_ambiguous_only()
    {
        Assert.True(ProviderOutcome.Transient("x").CountsAgainstProvider);
        Assert.True(ProviderOutcome.Ambiguous("x").CountsAgainstProvider);
        Assert.False(ProviderOutcome.Permanent("x").CountsAgainstProvider);
        Assert.False(ProviderOutcome.Throttled(null).CountsAgainstProvider);
        Assert.False(ProviderOutcome.Accepted("id").CountsAgainstProvider);
    }

    [Theory]
    [InlineData("5", null, 5)]
    [InlineData("0.5", null, 0.5)]
    [InlineData(null, "1772445610", 10)]
    [InlineData("Mon, 02 Mar 2026 10:00:20 GMT", null, 20)]
    [InlineData("2", "1772445610", 2)]
    [InlineData(null, "1772445500", 0)]
    public void Rate_limit_headers_give_the_wait(string? retryAfter, string? reset, double expectedSeconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), RateLimitHeaders.Parse(retryAfter, reset, Now));
    }

    [Fact]
    public void No_rate_limit_header_gives_no_wait()
    {
        Assert.Null(RateLimitHeaders.Parse(null, "garbage", Now));
        Assert.Null(RateLimitHeaders.RetryAfter(null, Now));
    }
}
