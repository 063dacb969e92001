using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Automator.Delivery;
using Automator.Delivery.SendLog;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.IntegrationTests.Engagement;

/// <summary>
/// Real sends through the fake providers, then the providers' webhooks posted back as SendGrid and SNS would: signed with
/// keys and certificates the test makes, the send ids read from the requests the fake providers recorded.
/// </summary>
public sealed class ProviderWebhookTests
{
    private const string Topic = "arn:aws:sns:eu-west-1:123456789012:automator-ses-events";

    [Fact]
    public async Task SendGrid_signed_batch_marks_the_send_delivered_once_and_unsigned_stale_or_forged_batches_change_nothing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var harness = await StartSendGridAsync(key);
        var (org, template) = await SeedAsync(harness);
        var sent = await SendAsync(harness, org, template, "ada@example.com");
        var (sendId, sendKey) = SendGridArgs(harness, "ada@example.com");
        Assert.Equal(sent.Id, sendId);
        var client = harness.Web.CreateClient();
        var batch = SendGridBatch(
            SendGridEvent("processed", sendId, sendKey),
            SendGridEvent("delivered", sendId, sendKey));

        using var other = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSendGridAsync(client, batch, null)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSendGridAsync(client, batch, other)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSendGridAsync(client, batch, key, DateTimeOffset.UtcNow.AddMinutes(-30))).StatusCode);
        var altered = await PostSendGridAsync(client, batch, key, alter: true);
        Assert.Equal(HttpStatusCode.Unauthorized, altered.StatusCode);
        Assert.Equal("application/problem+json", altered.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await EngagementCountAsync(harness, sendId));
        Assert.Equal(SendStatus.Sent, (await harness.SendLog.FindByKeyAsync(sent.SendKey))!.Status);

        var first = await PostSendGridAsync(client, batch, key);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var firstBody = await first.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, firstBody.GetProperty("recorded").GetInt32());
        var delivered = (await harness.SendLog.FindByKeyAsync(sent.SendKey))!;
        Assert.Equal(SendStatus.Delivered, delivered.Status);
        Assert.NotNull(delivered.DeliveredAt);
        var recorded = await EngagementCountAsync(harness, sendId);

        var again = await PostSendGridAsync(client, batch, key);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var againBody = await again.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, againBody.GetProperty("recorded").GetInt32());
        Assert.Equal(2, againBody.GetProperty("duplicates").GetInt32());
        Assert.Equal(recorded, await EngagementCountAsync(harness, sendId));
        Assert.Equal(delivered.DeliveredAt, (await harness.SendLog.FindByKeyAsync(sent.SendKey))!.DeliveredAt);

        // A batch of thousands of events is larger than the API's default body limit.
        var large = SendGridBatch(Enumerable.Range(0, 12_000).Select(_ => SendGridEvent("delivered", Guid.NewGuid(), "unknown:send:1")).ToArray());
        Assert.True(large.Length > 2 * 1024 * 1024);
        var largeResponse = await PostSendGridAsync(client, large, key);
        Assert.Equal(HttpStatusCode.OK, largeResponse.StatusCode);
        Assert.Equal(12_000, (await largeResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("unknownSends").GetInt32());

        var malformed = await PostSendGridAsync(client, Encoding.UTF8.GetBytes("{\"event\":\"delivered\"}"), key);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.True((await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("body", out _));
    }

    [Fact]
    public async Task SendGrid_hard_bounce_and_spam_report_suppress_the_address_and_the_next_send_is_suppressed()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var harness = await StartSendGridAsync(key);
        var (org, template) = await SeedAsync(harness);
        var first = await SendAsync(harness, org, template, "bounce@example.com");
        await SendAsync(harness, org, template, "spam@example.com");
        var bounced = SendGridArgs(harness, "bounce@example.com");
        var complained = SendGridArgs(harness, "spam@example.com");

        var response = await PostSendGridAsync(harness.Web.CreateClient(), SendGridBatch(
            SendGridEvent("bounce", bounced.SendId, bounced.SendKey, new() { ["type"] = "bounce", ["reason"] = "550 5.1.1 user unknown", ["status"] = "5.1.1" }),
            SendGridEvent("spamreport", complained.SendId, complained.SendKey)), key);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var suppressions = await SuppressionsAsync(harness, org);
        Assert.Equal("bounced", suppressions["bounce@example.com"]);
        Assert.Equal("complained", suppressions["spam@example.com"]);
        var next = await SendAsync(harness, org, template, "bounce@example.com", expect: SendStatus.Suppressed, contactId: first.ContactId);
        Assert.Equal(SendStatus.Suppressed, next.Status);
    }

    [Fact]
    public async Task Ses_events_through_sns_are_verified_confirm_their_subscription_and_suppress_permanent_bounces_and_complaints()
    {
        await using var certificates = await LocalCertificateServer.StartAsync();
        var thumbprint = certificates.Certificate.GetCertHashString();
        await using var harness = await DeliveryHarness.StartAsync(
            primary: "ses",
            withSendGrid: false,
            settings: new Dictionary<string, string?>
            {
                ["Automator:Providers:Ses:SnsTopicArns:0"] = Topic,
                ["Automator:Providers:Ses:SnsCertificateHosts:0"] = "127.0.0.1",
                ["Automator:Providers:Ses:SnsCertificateHosts:1"] = "localhost",
            },
            testServices: services => services.AddHttpClient(SnsCertificates.ClientName).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == thumbprint },
            }));
        var (org, template) = await SeedAsync(harness);
        var client = harness.Web.CreateClient();

        // This system has no SendGrid webhook key: its route refuses even a well-signed batch.
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var unconfigured = await PostSendGridAsync(client, SendGridBatch(SendGridEvent("delivered", Guid.NewGuid(), "k")), key);
            Assert.Equal(HttpStatusCode.Unauthorized, unconfigured.StatusCode);
        }

        var foreign = Sign(certificates, Notification("{}") with { SigningCertUrl = $"https://localhost.evil.test:{certificates.Port}/cert.pem" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSnsAsync(client, foreign)).StatusCode);
        Assert.Empty(certificates.Requests);

        var token = "token-" + Guid.NewGuid().ToString("N");
        var confirmation = Sign(certificates, new SnsMessage
        {
            Type = SnsMessage.SubscriptionConfirmation,
            MessageId = Guid.NewGuid().ToString(),
            Token = token,
            TopicArn = Topic,
            Message = "You have chosen to subscribe to the topic " + Topic,
            SubscribeUrl = $"{certificates.BaseUrl}/confirm?Action=ConfirmSubscription&Token={token}",
            Timestamp = Now(),
            SignatureVersion = "2",
            SigningCertUrl = certificates.BaseUrl + "/cert.pem",
        });
        Assert.Equal(HttpStatusCode.OK, (await PostSnsAsync(client, confirmation)).StatusCode);
        Assert.Contains($"/confirm?Action=ConfirmSubscription&Token={token}", certificates.Requests);

        await SendAsync(harness, org, template, "permanent@example.com");
        await SendAsync(harness, org, template, "complaint@example.com");
        await SendAsync(harness, org, template, "transient@example.com");
        var permanent = Sign(certificates, Notification(SesEvent(SesSendId(harness, "permanent@example.com"), "Bounce", "bounce", new
        {
            bounceType = "Permanent",
            bounceSubType = "General",
            timestamp = Now(),
            bouncedRecipients = new[] { new { emailAddress = "permanent@example.com", diagnosticCode = "smtp; 550 5.1.1 user unknown" } },
        })));
        var complaint = Sign(certificates, Notification(SesEvent(SesSendId(harness, "complaint@example.com"), "Complaint", "complaint", new
        {
            complaintFeedbackType = "abuse",
            timestamp = Now(),
            complainedRecipients = new[] { new { emailAddress = "complaint@example.com" } },
        })), version: "1");
        var transient = Sign(certificates, Notification(SesEvent(SesSendId(harness, "transient@example.com"), "Bounce", "bounce", new
        {
            bounceType = "Transient",
            bounceSubType = "MailboxFull",
            timestamp = Now(),
            bouncedRecipients = new[] { new { emailAddress = "transient@example.com" } },
        })));

        Assert.Equal(HttpStatusCode.Unauthorized, (await PostSnsAsync(client, permanent with { Message = permanent.Message + " " })).StatusCode);
        foreach (var message in new[] { permanent, complaint, transient })
        {
            var response = await PostSnsAsync(client, message);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recorded").GetInt32());
        }

        var suppressions = await SuppressionsAsync(harness, org);
        Assert.Equal("bounced", suppressions["permanent@example.com"]);
        Assert.Equal("complained", suppressions["complaint@example.com"]);
        Assert.False(suppressions.ContainsKey("transient@example.com"));
        Assert.Equal(1, certificates.Requests.Count(r => r == "/cert.pem"));
    }

    private static Task<DeliveryHarness> StartSendGridAsync(ECDsa key) => DeliveryHarness.StartAsync(
        withSes: false,
        settings: new Dictionary<string, string?>
        {
            ["Automator:Providers:SendGrid:WebhookPublicKey"] = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()),
        });

    private static async Task<(Guid Org, Guid Template)> SeedAsync(DeliveryHarness harness)
    {
        var org = await harness.SeedOrganizationAsync();
        return (org, await harness.SeedTemplateAsync(org));
    }

    private static async Task<SendRecord> SendAsync(DeliveryHarness harness, Guid org, Guid template, string email, SendStatus expect = SendStatus.Sent, Guid? contactId = null)
    {
        var contact = contactId ?? await harness.SeedContactAsync(org, email);
        var receipt = await harness.SendAsync(org, contact, email, template);
        var record = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, $"the send to {email} to finish");
        Assert.Equal(expect, record.Status);
        return record;
    }

    private static (Guid SendId, string SendKey) SendGridArgs(DeliveryHarness harness, string email)
    {
        foreach (var entry in DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath))
        {
            using var body = JsonDocument.Parse(entry.RequestMessage.Body!);
            foreach (var personalization in body.RootElement.GetProperty("personalizations").EnumerateArray())
            {
                if (personalization.GetProperty("to")[0].GetProperty("email").GetString() == email)
                {
                    var args = personalization.GetProperty("custom_args");
                    return (Guid.Parse(args.GetProperty("send_id").GetString()!), args.GetProperty("send_key").GetString()!);
                }
            }
        }

        throw new InvalidOperationException("SendGrid received no message to " + email);
    }

    private static string SesSendId(DeliveryHarness harness, string email)
    {
        foreach (var entry in DeliveryHarness.Requests(harness.Ses, DeliveryHarness.SesPath))
        {
            using var body = JsonDocument.Parse(entry.RequestMessage.Body!);
            if (body.RootElement.GetProperty("Destination").GetProperty("ToAddresses")[0].GetString() == email)
            {
                return body.RootElement.GetProperty("EmailTags").EnumerateArray().Single(t => t.GetProperty("Name").GetString() == "send_id").GetProperty("Value").GetString()!;
            }
        }

        throw new InvalidOperationException("SES received no message to " + email);
    }

    private static Dictionary<string, object> SendGridEvent(string kind, Guid sendId, string sendKey, Dictionary<string, object>? extra = null)
    {
        var item = new Dictionary<string, object>
        {
            ["email"] = "someone@example.com",
            ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["event"] = kind,
            ["sg_event_id"] = Guid.NewGuid().ToString("N"),
            ["sg_message_id"] = "sg-message-1.filter",
            ["send_id"] = sendId.ToString("N"),
            ["send_key"] = sendKey,
        };
        foreach (var (name, value) in extra ?? new Dictionary<string, object>())
        {
            item[name] = value;
        }

        return item;
    }

    private static byte[] SendGridBatch(params Dictionary<string, object>[] events) => JsonSerializer.SerializeToUtf8Bytes(events);

    private static async Task<HttpResponseMessage> PostSendGridAsync(HttpClient client, byte[] body, ECDsa? key, DateTimeOffset? at = null, bool alter = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/sendgrid");
        var sent = alter ? Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("delivered", "bounce", StringComparison.Ordinal)) : body;
        request.Content = new ByteArrayContent(sent);
        request.Content.Headers.ContentType = new("application/json");
        if (key is not null)
        {
            var timestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            request.Headers.Add(SendGridSignatureVerifier.TimestampHeader, timestamp);
            request.Headers.Add(SendGridSignatureVerifier.SignatureHeader, SendGridSignatureVerifier.Sign(key, timestamp, body));
        }

        return await client.SendAsync(request);
    }

    private static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static SnsMessage Notification(string message) => new()
    {
        Type = SnsMessage.Notification,
        MessageId = Guid.NewGuid().ToString(),
        TopicArn = Topic,
        Message = message,
        Timestamp = Now(),
        SignatureVersion = "2",
    };

    private static string SesEvent(string sendId, string eventType, string detailName, object detail) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["eventType"] = eventType,
        ["mail"] = new
        {
            timestamp = Now(),
            messageId = "ses-message-1",
            tags = new Dictionary<string, string[]> { ["send_id"] = [sendId] },
        },
        [detailName] = detail,
    });

    private static SnsMessage Sign(LocalCertificateServer certificates, SnsMessage message, string? version = null)
    {
        message = message with
        {
            SignatureVersion = version ?? message.SignatureVersion,
            SigningCertUrl = message.SigningCertUrl ?? certificates.BaseUrl + "/cert.pem",
        };
        using var key = certificates.Certificate.GetRSAPrivateKey()!;
        var signature = key.SignData(
            Encoding.UTF8.GetBytes(SnsMessageVerifier.StringToSign(message)!), SnsMessageVerifier.HashFor(message.SignatureVersion)!.Value, RSASignaturePadding.Pkcs1);
        return message with { Signature = Convert.ToBase64String(signature) };
    }

    private static async Task<HttpResponseMessage> PostSnsAsync(HttpClient client, SnsMessage message)
    {
        var body = JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["Type"] = message.Type,
            ["MessageId"] = message.MessageId,
            ["Token"] = message.Token,
            ["TopicArn"] = message.TopicArn,
            ["Subject"] = message.Subject,
            ["Message"] = message.Message,
            ["SubscribeURL"] = message.SubscribeUrl,
            ["Timestamp"] = message.Timestamp,
            ["SignatureVersion"] = message.SignatureVersion,
            ["Signature"] = message.Signature,
            ["SigningCertURL"] = message.SigningCertUrl,
        });
        // SNS posts its JSON as text/plain.
        return await client.PostAsync("/webhooks/ses", new StringContent(body, Encoding.UTF8, "text/plain"));
    }

    private static async Task<Dictionary<string, string>> SuppressionsAsync(DeliveryHarness harness, Guid org)
    {
        var page = await harness.GetJsonAsync(harness.Web.CreateClientFor(org, "suppressions:read"), "/v1/suppressions?limit=500");
        return page.GetProperty("items").EnumerateArray().ToDictionary(i => i.GetProperty("email").GetString()!, i => i.GetProperty("reason").GetString()!);
    }

    private static async Task<long> EngagementCountAsync(DeliveryHarness harness, Guid sendId)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM email_engagements WHERE send_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = sendId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>An HTTPS host on 127.0.0.1 serving the SNS signing certificate (also its TLS certificate) and the confirm URL.</summary>
    private sealed class LocalCertificateServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private LocalCertificateServer(WebApplication app, X509Certificate2 certificate, int port)
        {
            _app = app;
            Certificate = certificate;
            Port = port;
        }

        public X509Certificate2 Certificate { get; }

        public int Port { get; }

        public string BaseUrl => $"https://127.0.0.1:{Port}";

        public ConcurrentQueue<string> Requests { get; } = new();

        public static async Task<LocalCertificateServer> StartAsync()
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=sns.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            names.AddDnsName("localhost");
            request.CertificateExtensions.Add(names.Build());
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
            var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
            var pem = certificate.ExportCertificatePem();

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            var app = builder.Build();
            LocalCertificateServer? server = null;
            app.Use(async (context, next) =>
            {
                server!.Requests.Enqueue(context.Request.Path + context.Request.QueryString);
                await next(context);
            });
            app.MapGet("/cert.pem", () => Results.Text(pem, "application/x-pem-file"));
            app.MapGet("/confirm", () => Results.Text("<ConfirmSubscriptionResponse/>", "text/xml"));
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            server = new LocalCertificateServer(app, certificate, new Uri(address).Port);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            Certificate.Dispose();
        }
    }
}
