using System.Net;
using System.Text;
using Automator.Delivery;

namespace Automator.WebApi.Engagement;

/// <summary>
/// The unsubscribe link of every marketing email. <c>GET /u/{token}</c> shows a preference page (server-rendered, no
/// script) and never unsubscribes, since mail scanners follow links; <c>POST /u/{token}</c> unsubscribes at once, from
/// a mail client's RFC 8058 one-click request (<c>List-Unsubscribe=One-Click</c>) or the page's form, or takes the
/// contact off one list when the form names it. Tokens never expire; a token that does not verify is a plain 404.
/// </summary>
public static class UnsubscribeEndpoints
{
    public static IEndpointRouteBuilder MapUnsubscribeRoutes(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/u").WithTags("Tracking").AllowAnonymous().ExcludeFromDescription();
        group.MapGet("/{token}", PageAsync);
        group.MapPost("/{token}", UnsubscribeAsync).DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> PageAsync(string token, TrackingTokens tokens, Unsubscriber unsubscriber, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, out var claim) || claim is not { Kind: TrackingKind.Unsubscribe })
        {
            return TrackingEndpoints.NotFoundPage();
        }

        var page = await unsubscriber.PreferencesAsync(claim.OrganizationId, claim.ContactId, cancellationToken);
        if (page is null)
        {
            return Page("Unsubscribed", "<p>This address is no longer on our mailing lists.</p>");
        }

        var body = new StringBuilder();
        body.Append("<p>Email preferences for <strong>").Append(Encode(Mask(page.Email))).Append("</strong>")
            .Append(page.OrganizationName.Length > 0 ? " from " + Encode(page.OrganizationName) : "").Append(".</p>");
        if (page.Unsubscribed)
        {
            body.Append("<p>You are unsubscribed: you will receive no more marketing email from us.</p>");
        }
        else
        {
            body.Append("<form method=\"post\"><input type=\"hidden\" name=\"scope\" value=\"all\">")
                .Append("<button type=\"submit\">Unsubscribe from all marketing email</button></form>");
        }

        if (page.Lists.Count > 0)
        {
            body.Append("<h2>Your lists</h2><ul>");
            foreach (var (id, name) in page.Lists)
            {
                body.Append("<li><form method=\"post\"><input type=\"hidden\" name=\"list\" value=\"").Append(id).Append("\">")
                    .Append(Encode(name)).Append(" <button type=\"submit\">Leave this list</button></form></li>");
            }

            body.Append("</ul>");
        }

        return Page("Email preferences", body.ToString());
    }

    private static async Task<IResult> UnsubscribeAsync(string token, HttpRequest request, TrackingTokens tokens, Unsubscriber unsubscriber, CancellationToken cancellationToken)
    {
        if (!tokens.TryRead(token, out var claim) || claim is not { Kind: TrackingKind.Unsubscribe })
        {
            return TrackingEndpoints.NotFoundPage();
        }

        var form = request.HasFormContentType ? await request.ReadFormAsync(cancellationToken) : null;
        if (form?["list"].ToString() is { Length: > 0 } list)
        {
            if (!Guid.TryParse(list, out var listId))
            {
                return Page("Email preferences", "<p>That list is not one of yours.</p>", StatusCodes.Status400BadRequest);
            }

            await unsubscriber.LeaveListAsync(claim.OrganizationId, claim.ContactId, listId, cancellationToken);
            return Page("Email preferences", "<p>You left the list. Your other subscriptions are unchanged.</p>");
        }

        // RFC 8058: the mail client posts List-Unsubscribe=One-Click; the page posts its form; both unsubscribe at once.
        var source = form?["List-Unsubscribe"].ToString() == "One-Click" || form is null ? Unsubscriber.OneClick : Unsubscriber.PreferencePage;
        await unsubscriber.UnsubscribeAsync(claim.OrganizationId, claim.ContactId, source, claim.SendId, cancellationToken);
        return Page("Unsubscribed", "<p>You are unsubscribed and will receive no more marketing email from us.</p>");
    }

    /// <summary><c>ada.lovelace@example.com</c> -> <c>ad**********@example.com</c>: enough to recognise, not to read.</summary>
    internal static string Mask(string email)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0)
        {
            return "***";
        }

        var shown = Math.Min(2, at - 1);
        return email[..shown] + new string('*', Math.Max(3, at - shown)) + email[at..];
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    private static IResult Page(string title, string body, int status = StatusCodes.Status200OK) => Results.Content(
        $$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>{{Encode(title)}}</title>
        <style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#222}button{margin:.25rem 0;padding:.4rem .8rem}li{margin:.5rem 0}</style>
        </head><body><h1>{{Encode(title)}}</h1>{{body}}</body></html>
        """,
        "text/html; charset=utf-8",
        statusCode: status);
}
