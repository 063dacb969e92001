using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Automator.Delivery;

namespace Automator.IntegrationTests.Delivery;

public sealed class DeliveryProviderTests
{
    [Fact]
    public async Task SendGrid_request_carries_content_unsubscribe_headers_and_the_send_key()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync(postalAddress: "42 Harbour Road\nPortsmouth");
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, "ada@example.com");

        var receipt = await harness.SendAsync(org, contact, "ada@example.com", template, "journey-9:welcome:1");
        var sent = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the send to finish");

        Assert.Equal(SendStatus.Queued, receipt.Status);
        Assert.False(receipt.Duplicate);
        Assert.Equal(SendStatus.Sent, sent.Status);
        Assert.Equal("sendgrid", sent.Provider);
        Assert.Equal("sg-message-1", sent.ProviderMessageId);
        Assert.Equal("Welcome, Ada", sent.Subject);
        var request = Assert.Single(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)).RequestMessage;
        Assert.Equal("Bearer SG.test-key", request.Headers!["Authorization"].Single());
        using var body = JsonDocument.Parse(request.Body!);
        var root = body.RootElement;
        Assert.Equal("hello@sender.example", root.GetProperty("from").GetProperty("email").GetString());
        Assert.Equal("Welcome, Ada", root.GetProperty("subject").GetString());
        var personalization = Assert.Single(root.GetProperty("personalizations").EnumerateArray());
        Assert.Equal("ada@example.com", personalization.GetProperty("to")[0].GetProperty("email").GetString());
        Assert.Equal("journey-9:welcome:1", personalization.GetProperty("custom_args").GetProperty("send_key").GetString());
        var content = root.GetProperty("content").EnumerateArray().ToDictionary(c => c.GetProperty("type").GetString()!, c => c.GetProperty("value").GetString()!);
        Assert.Contains("Hi Ada", content["text/html"], StringComparison.Ordinal);
        Assert.Contains("42 Harbour Road", content["text/html"], StringComparison.Ordinal);
        Assert.Contains("https://mail.automator.test/t/c/", content["text/html"], StringComparison.Ordinal);
        Assert.Contains("https://mail.automator.test/t/o/", content["text/html"], StringComparison.Ordinal);
        Assert.Contains("Portsmouth", content["text/plain"], StringComparison.Ordinal);
        var headers = root.GetProperty("headers");
        Assert.StartsWith("<https://mail.automator.test/u/", headers.GetProperty("List-Unsubscribe").GetString(), StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", headers.GetProperty("List-Unsubscribe-Post").GetString());
        Assert.Equal($"<{receipt.SendId:N}@sender.example>", headers.GetProperty("Message-ID").GetString());
        Assert.Empty(DeliveryHarness.Requests(harness.Ses, DeliveryHarness.SesPath));
    }

    [Fact]
    public async Task Ses_request_is_a_v2_send_email_body_with_a_valid_sigv4_signature()
    {
        await using var harness = await DeliveryHarness.StartAsync(primary: "ses");
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, "grace@example.com", firstName: "Grace");

        var receipt = await harness.SendAsync(org, contact, "grace@example.com", template, "journey-ses:welcome:1");
        var sent = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the send to finish");

        Assert.Equal(SendStatus.Sent, sent.Status);
        Assert.Equal("ses", sent.Provider);
        Assert.Equal("ses-message-1", sent.ProviderMessageId);
        var request = Assert.Single(DeliveryHarness.Requests(harness.Ses, DeliveryHarness.SesPath)).RequestMessage;
        using var body = JsonDocument.Parse(request.Body!);
        var root = body.RootElement;
        Assert.Equal("grace@example.com", root.GetProperty("Destination").GetProperty("ToAddresses")[0].GetString());
        var simple = root.GetProperty("Content").GetProperty("Simple");
        Assert.Equal("Welcome, Grace", simple.GetProperty("Subject").GetProperty("Data").GetString());
        Assert.Contains("Hi Grace", simple.GetProperty("Body").GetProperty("Html").GetProperty("Data").GetString(), StringComparison.Ordinal);
        Assert.Contains("Unsubscribe:", simple.GetProperty("Body").GetProperty("Text").GetProperty("Data").GetString(), StringComparison.Ordinal);
        var headers = simple.GetProperty("Headers").EnumerateArray().ToDictionary(h => h.GetProperty("Name").GetString()!, h => h.GetProperty("Value").GetString());
        Assert.Equal("List-Unsubscribe=One-Click", headers["List-Unsubscribe-Post"]);
        Assert.StartsWith("<https://mail.automator.test/u/", headers["List-Unsubscribe"], StringComparison.Ordinal);
        var tags = root.GetProperty("EmailTags").EnumerateArray().ToDictionary(t => t.GetProperty("Name").GetString()!, t => t.GetProperty("Value").GetString());
        Assert.Equal("journey-ses_welcome_1", tags["send_key"]);

        var headerValues = request.Headers!.ToDictionary(h => h.Key, h => h.Value.ToString()!, StringComparer.OrdinalIgnoreCase);
        var expected = SigV4.Compute(request.Method, request.AbsolutePath, headerValues, request.BodyAsBytes!, DeliveryHarness.SesSecret);
        Assert.Equal(expected, headerValues["Authorization"]);
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={DeliveryHarness.SesAccessKeyId}/", headerValues["Authorization"], StringComparison.Ordinal);
        Assert.Contains($"/{DeliveryHarness.SesRegion}/ses/aws4_request", headerValues["Authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ses_rejects_a_forged_signature_check()
    {
        // Guards the independent SigV4 computation itself: a different secret must not produce the header.
        await using var harness = await DeliveryHarness.StartAsync(primary: "ses", withSendGrid: false);
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, "x@example.com");

        var receipt = await harness.SendAsync(org, contact, "x@example.com", template);
        await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the send to finish");

        var request = Assert.Single(DeliveryHarness.Requests(harness.Ses, DeliveryHarness.SesPath)).RequestMessage;
        var headerValues = request.Headers!.ToDictionary(h => h.Key, h => h.Value.ToString()!, StringComparer.OrdinalIgnoreCase);
        Assert.NotEqual(SigV4.Compute(request.Method, request.AbsolutePath, headerValues, request.BodyAsBytes!, "another-secret"), headerValues["Authorization"]);
        var tampered = request.BodyAsBytes!.Concat(" "u8.ToArray()).ToArray();
        Assert.NotEqual(SigV4.Compute(request.Method, request.AbsolutePath, headerValues, tampered, DeliveryHarness.SesSecret), headerValues["Authorization"]);
    }
}

/// <summary>An independent AWS Signature Version 4 computation (per the AWS specification), to check the SDK's signature.</summary>
internal static class SigV4
{
    public static string Compute(string method, string path, IReadOnlyDictionary<string, string> headers, byte[] body, string secret)
    {
        var authorization = headers["Authorization"];
        var credential = Part(authorization, "Credential=");
        var signedHeaders = Part(authorization, "SignedHeaders=");
        var scope = credential[(credential.IndexOf('/', StringComparison.Ordinal) + 1)..];
        var scopeParts = scope.Split('/');
        var (date, region, service) = (scopeParts[0], scopeParts[1], scopeParts[2]);
        var amzDate = headers["X-Amz-Date"];

        var canonicalHeaders = new StringBuilder();
        foreach (var name in signedHeaders.Split(';'))
        {
            canonicalHeaders.Append(name).Append(':').Append(string.Join(' ', headers[name].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))).Append('\n');
        }

        var canonicalRequest = string.Join('\n', method.ToUpperInvariant(), path, "", canonicalHeaders.ToString(), signedHeaders, Hex(SHA256.HashData(body)));
        var stringToSign = string.Join('\n', "AWS4-HMAC-SHA256", amzDate, scope, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var signature = Hex(Hmac(key, stringToSign));
        return $"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    private static string Part(string authorization, string prefix)
    {
        var start = authorization.IndexOf(prefix, StringComparison.Ordinal) + prefix.Length;
        var end = authorization.IndexOf(',', start);
        return end < 0 ? authorization[start..] : authorization[start..end];
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
