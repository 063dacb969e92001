using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Automator.WebApi.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Webhooks;

public sealed class SendGridSignatureVerifierTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("[{\"event\":\"delivered\",\"timestamp\":1764936000,\"sg_event_id\":\"ev-1\"}]\r\n");

    private static (ECDsa Key, SendGridSignatureVerifier Verifier) Create()
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var publicKey = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        return (key, new SendGridSignatureVerifier(publicKey, new FakeTimeProvider(Now)));
    }

    private static string Timestamp(TimeSpan offset) => (Now + offset).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void A_batch_signed_with_the_configured_key_is_authentic()
    {
        var (key, verifier) = Create();
        var timestamp = Timestamp(TimeSpan.FromSeconds(-30));

        Assert.Null(verifier.Verify(timestamp, SendGridSignatureVerifier.Sign(key, timestamp, Body), Body));
    }

    [Fact]
    public void A_batch_signed_with_another_key_is_refused()
    {
        var (_, verifier) = Create();
        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var timestamp = Timestamp(TimeSpan.Zero);

        Assert.NotNull(verifier.Verify(timestamp, SendGridSignatureVerifier.Sign(other, timestamp, Body), Body));
    }

    [Fact]
    public void An_altered_body_is_refused()
    {
        var (key, verifier) = Create();
        var timestamp = Timestamp(TimeSpan.Zero);
        var signature = SendGridSignatureVerifier.Sign(key, timestamp, Body);
        var altered = (byte[])Body.Clone();
        altered[12] ^= 1;

        Assert.NotNull(verifier.Verify(timestamp, signature, altered));
        Assert.NotNull(verifier.Verify(timestamp, signature, Body.AsSpan(0, Body.Length - 2)));
    }

    [Fact]
    public void An_altered_timestamp_is_refused()
    {
        var (key, verifier) = Create();
        var signature = SendGridSignatureVerifier.Sign(key, Timestamp(TimeSpan.Zero), Body);

        Assert.NotNull(verifier.Verify(Timestamp(TimeSpan.FromSeconds(1)), signature, Body));
    }

    [Theory]
    [InlineData(-11)]
    [InlineData(11)]
    public void A_timestamp_more_than_ten_minutes_from_now_is_refused_even_when_signed(int minutes)
    {
        var (key, verifier) = Create();
        var timestamp = Timestamp(TimeSpan.FromMinutes(minutes));

        Assert.NotNull(verifier.Verify(timestamp, SendGridSignatureVerifier.Sign(key, timestamp, Body), Body));
    }

    [Theory]
    [InlineData(null, "sig")]
    [InlineData("", "sig")]
    [InlineData("12.5", "sig")]
    [InlineData("now", "sig")]
    [InlineData("1764936000", null)]
    [InlineData("1764936000", "")]
    [InlineData("1764936000", "not base64!")]
    [InlineData("1764936000", "AAAA")]
    public void Missing_or_malformed_headers_are_refused(string? timestamp, string? signature)
    {
        var (_, verifier) = Create();

        Assert.NotNull(verifier.Verify(timestamp, signature, Body));
    }

    [Fact]
    public void Without_a_configured_key_everything_is_refused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var verifier = new SendGridSignatureVerifier(null, new FakeTimeProvider(Now));
        var timestamp = Timestamp(TimeSpan.Zero);

        Assert.False(verifier.Configured);
        Assert.NotNull(verifier.Verify(timestamp, SendGridSignatureVerifier.Sign(key, timestamp, Body), Body));
    }

    [Fact]
    public void A_key_that_is_not_a_public_key_is_reported_and_refuses_everything()
    {
        var verifier = new SendGridSignatureVerifier("bm90IGEga2V5", new FakeTimeProvider(Now));

        Assert.False(verifier.Configured);
        Assert.NotNull(verifier.KeyError);
    }
}
