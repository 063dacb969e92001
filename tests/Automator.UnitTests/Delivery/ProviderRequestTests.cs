using System.Text;
using System.Text.Json;
using Automator.Delivery.Providers;
using Newtonsoft.Json.Linq;

namespace Automator.UnitTests.Delivery;

public sealed class ProviderRequestTests
{
    private static OutboundEmail Email(string sendKey = "j1:welcome:1") => new()
    {
        SendId = Guid.NewGuid(),
        SendKey = sendKey,
        OrganizationId = Guid.NewGuid(),
        ContactId = Guid.NewGuid(),
        FromEmail = "hello@sender.example",
        FromName = "Acme",
        To = "ada@example.com",
        Subject = "Welcome, Ada",
        Html = "<p>Hi</p>",
        Text = "Hi\n",
        MessageId = "<abc@sender.example>",
        Headers = [new EmailHeader("List-Unsubscribe", "<https://m.test/u/tok>"), new EmailHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")],
    };

    [Fact]
    public void SendGrid_single_request_has_content_headers_and_the_send_key()
    {
        var email = Email();

        var json = JObject.Parse(SendGridRequestBuilder.Single(email).Serialize());

        Assert.Equal("hello@sender.example", (string?)json["from"]!["email"]);
        Assert.Equal("Welcome, Ada", (string?)json["subject"]);
        Assert.Equal("ada@example.com", (string?)json["personalizations"]![0]!["to"]![0]!["email"]);
        Assert.Equal("j1:welcome:1", (string?)json["personalizations"]![0]!["custom_args"]!["send_key"]);
        Assert.Equal(["text/plain", "text/html"], json["content"]!.Select(c => (string?)c["type"]));
        Assert.Equal("List-Unsubscribe=One-Click", (string?)json["headers"]!["List-Unsubscribe-Post"]);
        Assert.Equal("<https://m.test/u/tok>", (string?)json["headers"]!["List-Unsubscribe"]);
        Assert.Equal("<abc@sender.example>", (string?)json["headers"]!["Message-ID"]);
    }

    [Fact]
    public void SendGrid_batches_identical_content_as_personalizations_of_at_most_1000()
    {
        var recipients = Enumerable.Range(0, 2500).Select(i => new BatchRecipient(
            $"r{i}@example.com", $"key-{i}", Guid.NewGuid(),
            new Dictionary<string, string> { ["-unsubscribe_url-"] = $"https://m.test/u/{i}" },
            [new EmailHeader("List-Unsubscribe", $"<https://m.test/u/{i}>")])).ToList();
        var content = new BatchContent("hello@sender.example", "Acme", "News", "<a href=\"-unsubscribe_url-\">u</a>", "u: -unsubscribe_url-");

        var batches = SendGridRequestBuilder.Batches(content, recipients).Select(m => JObject.Parse(m.Serialize())).ToList();

        Assert.Equal([1000, 1000, 500], batches.Select(b => b["personalizations"]!.Count()));
        var last = batches[2]["personalizations"]![499]!;
        Assert.Equal("r2499@example.com", (string?)last["to"]![0]!["email"]);
        Assert.Equal("key-2499", (string?)last["custom_args"]!["send_key"]);
        Assert.Equal("https://m.test/u/2499", (string?)last["substitutions"]!["-unsubscribe_url-"]);
        Assert.Equal("<https://m.test/u/2499>", (string?)last["headers"]!["List-Unsubscribe"]);
        Assert.All(batches, b => Assert.Equal("News", (string?)b["subject"]));
    }

    [Fact]
    public void SendGrid_batch_size_cannot_exceed_the_api_limit()
    {
        var content = new BatchContent("a@b.c", null, "s", "h", "t");

        Assert.Throws<ArgumentOutOfRangeException>(() => SendGridRequestBuilder.Batches(content, [], 1001).ToList());
    }

    [Fact]
    public void Ses_body_is_a_v2_simple_message_with_headers_and_tags()
    {
        var email = Email("journey/1:step 2:1");

        using var json = JsonDocument.Parse(SesEmailProvider.BuildBody(email));
        var root = json.RootElement;

        Assert.Equal("\"Acme\" <hello@sender.example>", root.GetProperty("FromEmailAddress").GetString());
        Assert.Equal("ada@example.com", root.GetProperty("Destination").GetProperty("ToAddresses")[0].GetString());
        var simple = root.GetProperty("Content").GetProperty("Simple");
        Assert.Equal("Welcome, Ada", simple.GetProperty("Subject").GetProperty("Data").GetString());
        Assert.Equal("<p>Hi</p>", simple.GetProperty("Body").GetProperty("Html").GetProperty("Data").GetString());
        Assert.Equal("Hi\n", simple.GetProperty("Body").GetProperty("Text").GetProperty("Data").GetString());
        var headers = simple.GetProperty("Headers").EnumerateArray().ToDictionary(h => h.GetProperty("Name").GetString()!, h => h.GetProperty("Value").GetString());
        Assert.Equal("List-Unsubscribe=One-Click", headers["List-Unsubscribe-Post"]);
        Assert.Equal("<abc@sender.example>", headers["Message-ID"]);
        var tags = root.GetProperty("EmailTags").EnumerateArray().ToDictionary(t => t.GetProperty("Name").GetString()!, t => t.GetProperty("Value").GetString());
        Assert.Equal("journey_1_step_2_1", tags["send_key"]);
        Assert.Equal(email.SendId.ToString("N"), tags["send_id"]);
    }

    [Fact]
    public void Ses_signature_is_stable_for_a_fixed_time_and_covers_the_body()
    {
        var signer = new SesRequestSigner("eu-west-1", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        var at = new DateTime(2026, 3, 2, 10, 0, 0, DateTimeKind.Utc);
        var endpoint = new Uri("https://email.eu-west-1.amazonaws.com");

        var a = signer.Sign(endpoint, "POST", SesEmailProvider.SendEmailPath, Encoding.UTF8.GetBytes("{}"), "application/json", at);
        var b = signer.Sign(endpoint, "POST", SesEmailProvider.SendEmailPath, Encoding.UTF8.GetBytes("{}"), "application/json", at);
        var c = signer.Sign(endpoint, "POST", SesEmailProvider.SendEmailPath, Encoding.UTF8.GetBytes("{ }"), "application/json", at);

        Assert.Equal(a["Authorization"], b["Authorization"]);
        Assert.NotEqual(a["Authorization"], c["Authorization"]);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260302/eu-west-1/ses/aws4_request", a["Authorization"], StringComparison.Ordinal);
        Assert.Equal("20260302T100000Z", a["X-Amz-Date"]);
    }

    [Fact]
    public void Outbox_writes_a_multipart_message_with_its_headers()
    {
        var eml = OutboxEmailProvider.Format(Email(), new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));

        Assert.Contains("Message-ID: <abc@sender.example>\r\n", eml, StringComparison.Ordinal);
        Assert.Contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", eml, StringComparison.Ordinal);
        Assert.Contains("To: ada@example.com\r\n", eml, StringComparison.Ordinal);
        Assert.Contains("Content-Type: multipart/alternative;", eml, StringComparison.Ordinal);
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("<p>Hi</p>")), eml, StringComparison.Ordinal);
    }

    [Fact]
    public void Provider_order_puts_the_configured_primary_first_and_defaults_to_outbox()
    {
        Assert.Equal(["outbox"], new DeliveryOptions().Providers);
        Assert.Equal(["ses", "sendgrid"], new DeliveryOptions { SendGridApiKey = "k", SesAccessKeyId = "a", SesSecretAccessKey = "s", Primary = "ses" }.Providers);
        Assert.Equal(["sendgrid", "ses"], new DeliveryOptions { SendGridApiKey = "k", SesAccessKeyId = "a", SesSecretAccessKey = "s", Primary = "sendgrid" }.Providers);
    }
}
