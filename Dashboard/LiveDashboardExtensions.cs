using Automator.Dashboard.Live;
using Microsoft.AspNetCore.Http.Connections;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Automator.Dashboard;

public static class LiveDashboardExtensions
{
    /// <summary>Path prefixes that belong to the API and operations, never to the web UI's client-side routes.</summary>
    private static readonly string[] ServerPrefixes =
        ["/v1", "/hubs", "/health", "/metrics", "/openapi", "/orleans", "/scalar", "/t/", "/u/", "/webhooks", "/hooks", "/assets"];

    /// <summary>Registers the live hub, the live relay from the cluster, and the web UI.</summary>
    public static WebApplicationBuilder AddLiveDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<DashboardOptions>(builder.Configuration.GetSection(DashboardOptions.Section));
        if (!services.Any(d => d.ServiceType == typeof(AccessTokens)))
        {
            services.AddAutomatorIdentity(builder.Configuration);
        }

        services.AddSignalR();
        services.AddAuthorization(o => o.AddPolicy(LiveHub.Policy, LiveHub.BuildPolicy));
        services.AddSingleton<LiveConnections>();
        services.AddSingleton<LiveOutbox>();
        services.AddSingleton<LiveRelay>();
        services.AddHostedService<LiveDashboardService>();
        return builder;
    }

    public static WebApplication MapLiveDashboard(this WebApplication app)
    {
        app.UseSecurityHeaders();
        // Connections end when their access token does; the client signs in again and reconnects. WebSockets only: a
        // connection is then one request to one process, so dashboard replicas behind a load balancer need no sticky
        // sessions (the other transports spread one connection over several requests that must reach the same process).
        app.MapHub<LiveHub>("/hubs/live", o =>
        {
            o.CloseOnAuthenticationExpiration = true;
            o.Transports = HttpTransportType.WebSockets;
        }).RequireAuthorization(LiveHub.Policy);

        var appPath = FindAppPath(app);
        var files = appPath is null ? null : new PhysicalFileProvider(appPath);
        if (files is not null)
        {
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }

        app.MapFallback("{*path:nonfile}", async context =>
        {
            var path = context.Request.Path;
            if (ServerPrefixes.Any(p => path.StartsWithSegments(p.TrimEnd('/'), StringComparison.OrdinalIgnoreCase)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            var index = files?.GetFileInfo("index.html");
            if (index is { Exists: true })
            {
                await context.Response.SendFileAsync(index);
            }
            else
            {
                await context.Response.WriteAsync(NotBuiltPage);
            }
        });
        return app;
    }

    /// <summary>The built web UI: configured, beside the binaries (published), or in the source tree (dev and tests).</summary>
    private static string? FindAppPath(WebApplication app)
    {
        var configured = app.Services.GetRequiredService<IOptions<DashboardOptions>>().Value.AppPath;
        var candidates = new List<string>();
        if (!string.IsNullOrWhiteSpace(configured))
        {
            candidates.Add(configured);
        }

        candidates.Add(Path.Combine(AppContext.BaseDirectory, "wwwroot", "app"));
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "wwwroot", "_content", "Automator.Dashboard", "app"));
        candidates.Add(Path.Combine(app.Environment.ContentRootPath, "wwwroot", "app"));
        foreach (var start in new[] { app.Environment.ContentRootPath, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                candidates.Add(Path.Combine(dir.FullName, "Dashboard", "wwwroot", "app"));
            }
        }

        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "index.html")));
    }

    private const string NotBuiltPage = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Automator</title></head>
        <body><main><h1>Automator</h1>
        <p>The web UI is not built: run <code>npm ci &amp;&amp; npm run build</code> in <code>Dashboard/ClientApp</code>.</p>
        <p>The API is at <a href="/scalar">/scalar</a> (<a href="/openapi/v1.json">/openapi/v1.json</a>); the cluster at <a href="/orleans">/orleans</a>.</p>
        </main></body></html>
        """;
}
