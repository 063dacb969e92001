using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Automator.Delivery.Providers;

namespace Automator.Delivery.Rendering;

/// <summary>Everything known about one send when its message is built.</summary>
public sealed record ComposeRequest(
    Guid SendId,
    string SendKey,
    Guid OrganizationId,
    string OrganizationName,
    string? PostalAddress,
    Guid ContactId,
    string Email,
    string? FirstName,
    string? LastName,
    string? ContactPropertiesJson,
    string? EventJson,
    Guid? WorkflowId,
    string? JourneyId,
    string? StepId,
    TemplateContent Template,
    string? SubjectOverride,
    bool Transactional);

/// <summary>
/// Builds the message a provider sends: renders the template, then for marketing mail adds the signed unsubscribe link,
/// RFC 8058 one-click headers and the sender's postal address; rewrites links for click tracking, adds the open
/// pixel, and gives the message its own Message-ID.
/// </summary>
public sealed partial class MessageComposer(EmailRenderer renderer, TrackingTokens tokens, DeliveryOptions options)
{
    private readonly SharedContentSplitter _splitter = new();

    public OutboundEmail Compose(ComposeRequest request)
    {
        var baseUrl = options.PublicBaseUrl.TrimEnd('/');
        var unsubscribeUrl = $"{baseUrl}/u/{tokens.Create(new TrackingClaim(TrackingKind.Unsubscribe, request.SendId, request.OrganizationId, request.ContactId))}";
        var contact = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
        {
            ["id"] = request.ContactId.ToString(),
            ["email"] = request.Email,
            ["firstName"] = request.FirstName,
            ["lastName"] = request.LastName,
            ["properties"] = EmailRenderer.FromJson(request.ContactPropertiesJson),
        };
        var eventProperties = EmailRenderer.FromJson(request.EventJson);
        var model = new RenderModel(
            contact,
            new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase) { ["properties"] = eventProperties },
            new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
            {
                ["id"] = request.JourneyId,
                ["workflowId"] = request.WorkflowId?.ToString(),
                ["stepId"] = request.StepId,
            },
            new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase)
            {
                ["id"] = request.OrganizationId.ToString(),
                ["name"] = request.OrganizationName,
                ["postalAddress"] = request.PostalAddress,
            },
            request.Transactional ? "" : unsubscribeUrl);

        var rendered = renderer.Render(request.Template, model, request.SubjectOverride);
        var marketing = request.Template.Marketing && !request.Transactional;
        var html = rendered.Html;
        var text = rendered.Text;
        var headers = new List<EmailHeader>();
        if (marketing)
        {
            html = AddHtmlFooter(html, request, unsubscribeUrl);
            text = AddTextFooter(text, request, unsubscribeUrl);
            headers.Add(new EmailHeader("List-Unsubscribe", $"<{unsubscribeUrl}>"));
            headers.Add(new EmailHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"));
        }

        // Per-recipient values, most specific first: they become substitutions when the message's content is shared.
        var perRecipient = new List<string?> { unsubscribeUrl };
        if (options.TrackLinks)
        {
            html = RewriteLinks(html, request, baseUrl, unsubscribeUrl, perRecipient);
        }

        if (options.TrackOpens)
        {
            var pixelUrl = $"{baseUrl}/t/o/{tokens.Create(new TrackingClaim(TrackingKind.Open, request.SendId, request.OrganizationId, request.ContactId))}.gif";
            perRecipient.Add(pixelUrl);
            html = AddOpenPixel(html, pixelUrl);
        }

        perRecipient.AddRange([request.Email, request.ContactId.ToString(), request.FirstName, request.LastName]);
        var fromName = string.IsNullOrWhiteSpace(options.FromName) ? request.OrganizationName : options.FromName;
        var split = _splitter.Split(
            $"{request.OrganizationId}|{marketing}|{options.FromEmail}|{fromName}|{string.Join(',', headers.Select(h => h.Name))}",
            rendered.Subject, html, text, perRecipient);
        var fromDomain = options.FromEmail[(options.FromEmail.IndexOf('@', StringComparison.Ordinal) + 1)..];
        return new OutboundEmail
        {
            SendId = request.SendId,
            SendKey = request.SendKey,
            OrganizationId = request.OrganizationId,
            ContactId = request.ContactId,
            Transactional = request.Transactional,
            FromEmail = options.FromEmail,
            FromName = fromName,
            To = request.Email,
            Subject = rendered.Subject,
            Html = split is null ? html : null!,
            Text = split is null ? text : null!,
            MessageId = $"<{request.SendId:N}@{fromDomain}>",
            Headers = headers,
            Shared = split?.Shared,
            Substitutions = split?.Substitutions ?? [],
        };
    }

    private static string AddHtmlFooter(string html, ComposeRequest request, string unsubscribeUrl)
    {
        var footer = new StringBuilder("<div class=\"automator-footer\" style=\"font-size:12px;color:#666;margin-top:24px\">");
        if (!string.IsNullOrWhiteSpace(request.PostalAddress))
        {
            footer.Append("<p>").Append(WebUtility.HtmlEncode(request.OrganizationName)).Append("<br>")
                .Append(WebUtility.HtmlEncode(request.PostalAddress).ReplaceLineEndings("<br>")).Append("</p>");
        }

        if (!html.Contains(unsubscribeUrl, StringComparison.Ordinal))
        {
            footer.Append("<p><a href=\"").Append(WebUtility.HtmlEncode(unsubscribeUrl)).Append("\">Unsubscribe</a></p>");
        }

        footer.Append("</div>");
        return InsertBeforeBodyEnd(html, footer.ToString());
    }

    private static string AddTextFooter(string text, ComposeRequest request, string unsubscribeUrl)
    {
        var footer = new StringBuilder(text.TrimEnd()).Append("\n\n--\n");
        if (!string.IsNullOrWhiteSpace(request.PostalAddress))
        {
            footer.Append(request.OrganizationName).Append('\n').Append(request.PostalAddress.Trim()).Append('\n');
        }

        if (!text.Contains(unsubscribeUrl, StringComparison.Ordinal))
        {
            footer.Append("Unsubscribe: ").Append(unsubscribeUrl).Append('\n');
        }

        return footer.ToString();
    }

    private string RewriteLinks(string html, ComposeRequest request, string baseUrl, string unsubscribeUrl, List<string?> trackedUrls) =>
        Hrefs().Replace(html, match =>
        {
            var url = WebUtility.HtmlDecode(match.Groups["url"].Value);
            if (url == unsubscribeUrl || url.StartsWith(baseUrl + "/", StringComparison.Ordinal)
                || !(url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("https://", StringComparison.OrdinalIgnoreCase)))
            {
                return match.Value;
            }

            var tracked = $"{baseUrl}/t/c/{tokens.Create(new TrackingClaim(TrackingKind.Click, request.SendId, request.OrganizationId, request.ContactId, url))}";
            trackedUrls.Add(tracked);
            return $"{match.Groups["prefix"].Value}{tracked}{match.Groups["quote"].Value}";
        });

    private static string AddOpenPixel(string html, string pixelUrl) =>
        InsertBeforeBodyEnd(html, $"<img src=\"{pixelUrl}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">");

    private static string InsertBeforeBodyEnd(string html, string fragment)
    {
        var end = html.LastIndexOf("</body>", StringComparison.OrdinalIgnoreCase);
        return end < 0 ? html + fragment : html.Insert(end, fragment);
    }

    [GeneratedRegex("(?<prefix>\\bhref\\s*=\\s*(?<quote>[\"']))(?<url>[^\"']*)\\k<quote>", RegexOptions.IgnoreCase)]
    private static partial Regex Hrefs();
}
