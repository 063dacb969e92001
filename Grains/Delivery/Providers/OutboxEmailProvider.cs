using System.Globalization;
using System.Text;

namespace Automator.Delivery.Providers;

/// <summary>Writes each message as an RFC 5322 <c>.eml</c> file under <c>Automator:Outbox:Path</c> (local use, no provider).</summary>
public sealed class OutboxEmailProvider(DeliveryOptions options, TimeProvider time) : IEmailProvider
{
    public string Name => DeliveryOptions.Outbox;

    public string Directory { get; } = Path.GetFullPath(options.OutboxPath);

    public async Task<ProviderOutcome> SendAsync(OutboundEmail email, CancellationToken cancellationToken = default)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var now = time.GetUtcNow();
            var path = Path.Combine(Directory, $"{now:yyyyMMdd'T'HHmmssfff}-{email.SendId:N}.eml");
            await File.WriteAllTextAsync(path, Format(email, now), new UTF8Encoding(false), cancellationToken);
            return ProviderOutcome.Accepted(email.MessageId.Trim('<', '>'));
        }
        catch (IOException ex)
        {
            return ProviderOutcome.Transient("outbox write failed: " + ex.Message);
        }
        catch (UnauthorizedAccessException ex)
        {
            return ProviderOutcome.Transient("outbox write failed: " + ex.Message);
        }
    }

    public static string Format(OutboundEmail email, DateTimeOffset date)
    {
        var boundary = "=_" + email.SendId.ToString("N");
        var eml = new StringBuilder();
        var from = string.IsNullOrWhiteSpace(email.FromName) ? email.FromEmail : $"{Encode(email.FromName)} <{email.FromEmail}>";
        eml.Append("From: ").Append(from).Append("\r\n");
        eml.Append("To: ").Append(email.To).Append("\r\n");
        eml.Append("Subject: ").Append(Encode(email.Subject)).Append("\r\n");
        eml.Append("Date: ").Append(date.ToString("r", CultureInfo.InvariantCulture)).Append("\r\n");
        eml.Append("Message-ID: ").Append(email.MessageId).Append("\r\n");
        eml.Append("X-Automator-Send-Key: ").Append(email.SendKey).Append("\r\n");
        foreach (var header in email.Headers)
        {
            eml.Append(header.Name).Append(": ").Append(header.Value).Append("\r\n");
        }

        eml.Append("MIME-Version: 1.0\r\n");
        eml.Append("Content-Type: multipart/alternative; boundary=\"").Append(boundary).Append("\"\r\n\r\n");
        AppendPart(eml, boundary, "text/plain", email.Text);
        AppendPart(eml, boundary, "text/html", email.Html);
        eml.Append("--").Append(boundary).Append("--\r\n");
        return eml.ToString();
    }

    private static void AppendPart(StringBuilder eml, string boundary, string type, string content)
    {
        eml.Append("--").Append(boundary).Append("\r\n");
        eml.Append("Content-Type: ").Append(type).Append("; charset=utf-8\r\n");
        eml.Append("Content-Transfer-Encoding: base64\r\n\r\n");
        var base64 = Convert.ToBase64String(Encoding.UTF8.GetBytes(content));
        for (var i = 0; i < base64.Length; i += 76)
        {
            eml.Append(base64, i, Math.Min(76, base64.Length - i)).Append("\r\n");
        }
    }

    private static string Encode(string value) =>
        value.All(c => c is >= ' ' and <= '~') ? value : $"=?utf-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(value))}?=";
}
