using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Automator.WebApi.Webhooks;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Webhooks;

public sealed class SnsMessageVerifierTests : IDisposable
{
    private const string Topic = "arn:aws:sns:eu-west-1:123456789012:automator-ses";
    private const string CertUrl = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem";
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly FakeCertificates _certificates;
    private readonly FakeTimeProvider _time = new(Now);

    public SnsMessageVerifierTests()
    {
        var request = new CertificateRequest("CN=sns.amazonaws.com", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        _certificate = request.CreateSelfSigned(Now.AddDays(-1), Now.AddDays(30));
        _certificates = new FakeCertificates(_certificate);
    }

    private SnsMessageVerifier Verifier(params string[] topics) =>
        new(new WebhookOptions { SnsTopicArns = topics.Length == 0 ? [Topic] : topics }, _time, _certificates);

    private static SnsMessage Notification(string? subject = "Amazon SES Email Event Notification", string version = "1") => new()
    {
        Type = SnsMessage.Notification,
        MessageId = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        TopicArn = Topic,
        Subject = subject,
        Message = "{\"eventType\":\"Delivery\",\"mail\":{\"tags\":{\"send_id\":[\"abc\"]}}}",
        Timestamp = "2026-12-05T11:59:30.123Z",
        SignatureVersion = version,
        SigningCertUrl = CertUrl,
    };

    private static SnsMessage Confirmation(string version = "1") => new()
    {
        Type = SnsMessage.SubscriptionConfirmation,
        MessageId = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        Token = "2336412f37-token",
        TopicArn = Topic,
        Message = "You have chosen to subscribe to the topic " + Topic + ".\nTo confirm the subscription, visit the SubscribeURL included in this message.",
        SubscribeUrl = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + Topic + "&Token=2336412f37-token",
        Timestamp = "2026-12-05T11:59:00.000Z",
        SignatureVersion = version,
        SigningCertUrl = CertUrl,
    };

    private SnsMessage Signed(SnsMessage message)
    {
        var hash = SnsMessageVerifier.HashFor(message.SignatureVersion)!.Value;
        var signature = _key.SignData(Encoding.UTF8.GetBytes(SnsMessageVerifier.StringToSign(message)!), hash, RSASignaturePadding.Pkcs1);
        return message with { Signature = Convert.ToBase64String(signature) };
    }

    [Fact]
    public void A_notification_signs_message_id_subject_timestamp_topic_and_type_in_order()
    {
        var message = Notification();

        Assert.Equal(
            "Message\n" + message.Message + "\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nAmazon SES Email Event Notification\n"
            + "Timestamp\n2026-12-05T11:59:30.123Z\nTopicArn\n" + Topic + "\nType\nNotification\n",
            SnsMessageVerifier.StringToSign(message));
    }

    [Fact]
    public void A_notification_without_subject_leaves_the_subject_out()
    {
        var text = SnsMessageVerifier.StringToSign(Notification(subject: null));

        Assert.DoesNotContain("Subject", text, StringComparison.Ordinal);
        Assert.Contains("\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nTimestamp\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_subscription_confirmation_signs_subscribe_url_and_token()
    {
        var message = Confirmation();

        Assert.Equal(
            "Message\n" + message.Message + "\nMessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\nSubscribeURL\n" + message.SubscribeUrl
            + "\nTimestamp\n2026-12-05T11:59:00.000Z\nToken\n2336412f37-token\nTopicArn\n" + Topic + "\nType\nSubscriptionConfirmation\n",
            SnsMessageVerifier.StringToSign(message));
        Assert.EndsWith("Type\nUnsubscribeConfirmation\n", SnsMessageVerifier.StringToSign(message with { Type = SnsMessage.UnsubscribeConfirmation }), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_types_and_missing_signed_fields_give_no_string_to_sign()
    {
        Assert.Null(SnsMessageVerifier.StringToSign(Notification() with { Type = "Other" }));
        Assert.Null(SnsMessageVerifier.StringToSign(Notification() with { MessageId = null }));
        Assert.Null(SnsMessageVerifier.StringToSign(Confirmation() with { Token = null }));
    }

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public async Task Notifications_and_confirmations_signed_by_the_certificate_are_authentic(string version)
    {
        Assert.Null(await Verifier().VerifyAsync(Signed(Notification(version: version)), default));
        Assert.Null(await Verifier().VerifyAsync(Signed(Notification(subject: null, version: version)), default));
        Assert.Null(await Verifier().VerifyAsync(Signed(Confirmation(version)), default));
    }

    [Fact]
    public async Task A_signature_made_with_sha1_does_not_pass_as_version_2()
    {
        var signed = Signed(Notification(version: "1"));

        Assert.NotNull(await Verifier().VerifyAsync(signed with { SignatureVersion = "2" }, default));
        Assert.NotNull(await Verifier().VerifyAsync(signed with { SignatureVersion = "3" }, default));
    }

    [Fact]
    public async Task An_altered_message_is_refused()
    {
        var signed = Signed(Notification());

        Assert.NotNull(await Verifier().VerifyAsync(signed with { Message = signed.Message + " " }, default));
        Assert.NotNull(await Verifier().VerifyAsync(signed with { Subject = null }, default));
    }

    [Fact]
    public async Task A_message_signed_by_another_key_is_refused()
    {
        using var other = RSA.Create(2048);
        var message = Notification();
        var signature = other.SignData(Encoding.UTF8.GetBytes(SnsMessageVerifier.StringToSign(message)!), HashAlgorithmName.SHA1, RSASignaturePadding.Pkcs1);

        Assert.NotNull(await Verifier().VerifyAsync(message with { Signature = Convert.ToBase64String(signature) }, default));
    }

    [Fact]
    public async Task Unknown_topics_old_messages_and_foreign_certificate_hosts_are_refused_without_a_fetch()
    {
        var signed = Signed(Notification());

        Assert.NotNull(await Verifier("arn:aws:sns:eu-west-1:123456789012:other").VerifyAsync(signed, default));
        Assert.NotNull(await new SnsMessageVerifier(new WebhookOptions(), _time, _certificates).VerifyAsync(signed, default));
        Assert.NotNull(await Verifier().VerifyAsync(Signed(Notification() with { SigningCertUrl = "https://evil.test/cert.pem" }), default));
        Assert.NotNull(await Verifier().VerifyAsync(Signed(Confirmation() with { SubscribeUrl = "https://evil.test/confirm" }), default));
        _time.Advance(TimeSpan.FromHours(1.1));
        Assert.NotNull(await Verifier().VerifyAsync(signed, default));
        Assert.Empty(_certificates.Fetched);
    }

    [Theory]
    [InlineData("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem", true)]
    [InlineData("https://SNS.us-east-1.AmazonAWS.com/cert.pem", true)]
    [InlineData("https://sns.eu-west-1.amazonaws.com.evil.test/cert.pem", false)]
    [InlineData("https://evil.test/cert.pem", false)]
    [InlineData("http://sns.eu-west-1.amazonaws.com/cert.pem", false)]
    [InlineData("https://sns.amazonaws.com/cert.pem", false)]
    [InlineData("https://sns.a.b.amazonaws.com/cert.pem", false)]
    [InlineData("https://evil.test@sns.eu-west-1.amazonaws.com/cert.pem", false)]
    [InlineData("https://snsx.eu-west-1.amazonaws.com/cert.pem", false)]
    [InlineData("/relative/cert.pem", false)]
    [InlineData("file:///etc/passwd", false)]
    public void Certificate_urls_must_be_https_on_an_allowed_host(string url, bool allowed)
    {
        Assert.Equal(allowed, SnsMessageVerifier.IsAllowedUrl(url, [WebhookOptions.DefaultCertificateHost], out _));
    }

    [Fact]
    public void Configured_hosts_may_name_a_local_address()
    {
        Assert.True(SnsMessageVerifier.IsAllowedUrl("https://127.0.0.1:5443/cert.pem", ["127.0.0.1", "localhost"], out _));
        Assert.True(SnsMessageVerifier.IsAllowedUrl("https://localhost:5443/cert.pem", ["127.0.0.1", "localhost"], out _));
        Assert.False(SnsMessageVerifier.IsAllowedUrl("https://127.0.0.2/cert.pem", ["127.0.0.1"], out _));
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
    }

    private sealed class FakeCertificates(X509Certificate2 certificate) : ISnsCertificateSource
    {
        public List<Uri> Fetched { get; } = [];

        public Task<X509Certificate2?> GetAsync(Uri url, CancellationToken cancellationToken)
        {
            Fetched.Add(url);
            return Task.FromResult<X509Certificate2?>(certificate);
        }
    }
}
