namespace Automator.WebApi.Http;

/// <summary>
/// Headers every response carries (<c>X-Content-Type-Options</c>, <c>Referrer-Policy</c>, <c>X-Frame-Options</c>, HSTS
/// outside Development) and the Content-Security-Policy of each kind of page: the dashboard's own scripts and styles
/// only, the API reference page the sources its bundle needs, and nothing at all for JSON and other documents.
/// </summary>
public static class SecurityHeaders
{
    /// <summary>The dashboard (Vite build): scripts and styles from this origin, the live hub over this origin's websocket.</summary>
    public const string DashboardPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; " +
        "connect-src 'self' {websocket}; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>The Scalar API reference: its page configures the bundle inline and may load fonts and the bundle from its CDN.</summary>
    public const string ApiReferencePolicy =
        "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.scalar.com; " +
        "font-src 'self' data: https://fonts.scalar.com https://cdn.jsdelivr.net; img-src 'self' data: https:; connect-src 'self'; worker-src 'self' blob:; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>JSON, files and anything else that is not a page: nothing may run or load, and nothing may frame it.</summary>
    public const string DocumentPolicy = "default-src 'none'; frame-ancestors 'none'";

    /// <summary>The Orleans dashboard is a page of its own package: it may not be framed, the rest is its own.</summary>
    public const string ClusterDashboardPolicy = "frame-ancestors 'none'";

    private const string Registered = "Automator.SecurityHeaders";

    /// <summary>Adds the headers once per application, however many front ends (API, dashboard) the host maps.</summary>
    public static WebApplication UseSecurityHeaders(this WebApplication app)
    {
        var builder = (IApplicationBuilder)app;
        if (builder.Properties.ContainsKey(Registered))
        {
            return app;
        }

        builder.Properties[Registered] = true;
        var hsts = !app.Environment.IsDevelopment();
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                // Outside Development TLS usually ends at a proxy, so the request here may be plain HTTP; browsers only
                // honour the header over HTTPS anyway.
                if (hsts)
                {
                    headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
                }

                if (PolicyFor(context.Request, context.Response.ContentType) is { } policy)
                {
                    headers.ContentSecurityPolicy = policy;
                }

                return Task.CompletedTask;
            });
            return next(context);
        });
        return app;
    }

    /// <returns>The policy for the response, or null for scripts (a worker script's own policy would bind the worker).</returns>
    public static string? PolicyFor(HttpRequest request, string? contentType)
    {
        var path = request.Path;
        var html = contentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true;
        if (contentType?.Contains("javascript", StringComparison.OrdinalIgnoreCase) == true)
        {
            return null;
        }

        if (path.StartsWithSegments("/scalar", StringComparison.OrdinalIgnoreCase))
        {
            return html ? ApiReferencePolicy : DocumentPolicy;
        }

        if (path.StartsWithSegments("/orleans", StringComparison.OrdinalIgnoreCase))
        {
            return ClusterDashboardPolicy;
        }

        if (!html)
        {
            return DocumentPolicy;
        }

        var websocket = request.Host.HasValue ? $"{(request.IsHttps ? "wss" : "ws")}://{request.Host.Value}" : "";
        return DashboardPolicy.Replace("{websocket}", websocket, StringComparison.Ordinal).Replace("  ", " ", StringComparison.Ordinal);
    }
}
