using System.Globalization;
using System.Threading.RateLimiting;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;

namespace Automator.WebApi.Http;

/// <summary>Settings under <c>Automator:RateLimits</c>: requests per window for each API key and each organization.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Automator:RateLimits";

    public bool Enabled { get; set; } = true;

    public int PerApiKey { get; set; } = 6_000;

    public int PerOrganization { get; set; } = 12_000;

    /// <summary>Unauthenticated callers of <c>/v1</c> per client address.</summary>
    public int PerAnonymousClient { get; set; } = 300;

    /// <summary>Sign-in attempts (login, signup, accept-invite) per client address.</summary>
    public int SignInPerAddress { get; set; } = 60;

    /// <summary>Inbound workflow webhooks (<c>/hooks</c>) per client address.</summary>
    public int HooksPerAddress { get; set; } = 600;

    /// <summary>Open pixels, click redirects and unsubscribe pages (<c>/t/</c>, <c>/u/</c>) per client address.</summary>
    public int TrackingPerAddress { get; set; } = 600;

    /// <summary>Provider event webhooks (<c>/webhooks/</c>) per client address.</summary>
    public int ProviderWebhooksPerAddress { get; set; } = 6_000;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Back-off of one account after consecutive failed logins, whatever address they come from.</summary>
    public LoginLockoutOptions Login { get; set; } = new();
}

/// <summary>Settings under <c>Automator:RateLimits:Login</c>.</summary>
public sealed class LoginLockoutOptions
{
    /// <summary>Consecutive failures an account may have before it is locked.</summary>
    public int FreeFailures { get; set; } = 5;

    /// <summary>The first lock; each further failure doubles it.</summary>
    public TimeSpan BaseLockout { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxLockout { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// Fixed-window limits per API key (or user) and per organization, chained so a request needs a permit from both;
/// anonymous callers per client address (the connection's, or the one a configured proxy forwarded, see
/// <see cref="ForwardedHeadersSetup"/>), with their own limits for sign-in and for the anonymous routes outside
/// <c>/v1</c> (inbound workflow webhooks, tracking, provider webhooks), chosen by path prefix.
/// The same limiters answer the <c>RateLimit-Limit/Remaining/Reset</c> headers of every <c>/v1</c> response.
/// </summary>
public sealed class ApiRateLimits
{
    private readonly RateLimitOptions _options;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _epoch;

    public ApiRateLimits(Microsoft.Extensions.Options.IOptions<RateLimitOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        _epoch = time.GetUtcNow();
        Caller = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            if (AnonymousRoute(context.Request.Path) is { } route)
            {
                return RateLimitPartition.GetFixedWindowLimiter(route.Name + ":" + Address(context), _ => Window(route.Limit));
            }

            if (!context.Request.Path.StartsWithSegments("/v1"))
            {
                return RateLimitPartition.GetNoLimiter("unlimited");
            }

            var (key, limit) = CallerPartition(context);
            return RateLimitPartition.GetFixedWindowLimiter(key, _ => Window(limit));
        });
        Organization = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            var organization = context.User.FindFirst(AutomatorClaims.OrganizationId)?.Value;
            return organization is null || !context.Request.Path.StartsWithSegments("/v1")
                ? RateLimitPartition.GetNoLimiter("anonymous")
                : RateLimitPartition.GetFixedWindowLimiter("org:" + organization, _ => Window(_options.PerOrganization));
        });
        Chained = PartitionedRateLimiter.CreateChained(Caller, Organization);
    }

    public PartitionedRateLimiter<HttpContext> Caller { get; }

    public PartitionedRateLimiter<HttpContext> Organization { get; }

    public PartitionedRateLimiter<HttpContext> Chained { get; }

    /// <summary>Seconds until the current window ends (windows are aligned to this instance's start).</summary>
    public int SecondsToReset()
    {
        var window = _options.Window.TotalSeconds;
        var elapsed = (_time.GetUtcNow() - _epoch).TotalSeconds % window;
        return Math.Max(1, (int)Math.Ceiling(window - elapsed));
    }

    private (string Key, int Limit) CallerPartition(HttpContext context)
    {
        var user = context.User;
        if (user.FindFirst("key_id")?.Value is { } keyId)
        {
            return ("key:" + keyId, _options.PerApiKey);
        }

        if (user.GetUserId() is { } userId)
        {
            return ("user:" + userId, _options.PerApiKey);
        }

        return IsSignIn(context.Request.Path)
            ? ("signin:" + Address(context), _options.SignInPerAddress)
            : ("ip:" + Address(context), _options.PerAnonymousClient);
    }

    private static bool IsSignIn(PathString path) =>
        path.StartsWithSegments("/v1/auth/login") || path.StartsWithSegments("/v1/auth/signup") || path.StartsWithSegments("/v1/auth/accept-invite");

    /// <summary>The anonymous routes outside <c>/v1</c>, limited per address whether or not this process serves them.</summary>
    private (string Name, int Limit)? AnonymousRoute(PathString path) =>
        path.StartsWithSegments("/hooks") ? ("hooks", _options.HooksPerAddress)
        : path.StartsWithSegments("/t") || path.StartsWithSegments("/u") ? ("tracking", _options.TrackingPerAddress)
        : path.StartsWithSegments("/webhooks") ? ("webhooks", _options.ProviderWebhooksPerAddress)
        : null;

    /// <summary>
    /// The client's address: the connection's, rewritten by the forwarded-headers middleware only for configured
    /// proxies. An IPv6 client is bucketed by its /64, the block one subscriber usually holds whole.
    /// </summary>
    public static string Address(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4().ToString();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new System.Net.IPAddress(bytes) + "/64";
    }

    private FixedWindowRateLimiterOptions Window(int limit) => new()
    {
        PermitLimit = limit,
        Window = _options.Window,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public int Limit(HttpContext context)
    {
        var caller = CallerPartition(context).Limit;
        return context.User.FindFirst(AutomatorClaims.OrganizationId) is null ? caller : Math.Min(caller, _options.PerOrganization);
    }

    public long Remaining(HttpContext context)
    {
        var caller = Caller.GetStatistics(context)?.CurrentAvailablePermits ?? long.MaxValue;
        var organization = Organization.GetStatistics(context)?.CurrentAvailablePermits ?? long.MaxValue;
        return Math.Max(0, Math.Min(caller, organization));
    }
}

public static class RateLimitExtensions
{
    public static IServiceCollection AddApiRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<RateLimitOptions>(configuration.GetSection(RateLimitOptions.Section));
        services.AddSingleton<ApiRateLimits>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<ApiRateLimits, Microsoft.Extensions.Options.IOptions<RateLimitOptions>>((o, limits, settings) =>
        {
            if (!settings.Value.Enabled)
            {
                return;
            }

            o.GlobalLimiter = limits.Chained;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : limits.SecondsToReset();
                http.Response.Headers.RetryAfter = Math.Max(1, retryAfter).ToString(CultureInfo.InvariantCulture);
                http.Response.Headers["RateLimit-Remaining"] = "0";
                var problems = http.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests.",
                        Detail = $"The rate limit of this caller, address or organization is used up; retry after {Math.Max(1, retryAfter)} s.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>Adds <c>RateLimit-*</c> headers to every response of an API route (after authentication).</summary>
    public static IApplicationBuilder UseRateLimitHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var limits = context.RequestServices.GetRequiredService<ApiRateLimits>();
        var options = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
        if (options.Enabled && context.Request.Path.StartsWithSegments("/v1"))
        {
            context.Response.OnStarting(() =>
            {
                var headers = context.Response.Headers;
                headers["RateLimit-Limit"] = limits.Limit(context).ToString(CultureInfo.InvariantCulture);
                if (!headers.ContainsKey("RateLimit-Remaining"))
                {
                    headers["RateLimit-Remaining"] = limits.Remaining(context).ToString(CultureInfo.InvariantCulture);
                }

                headers["RateLimit-Reset"] = limits.SecondsToReset().ToString(CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
        }

        return next(context);
    });
}

/// <summary>Settings under <c>Automator:Http</c>: the reverse proxies whose forwarded headers are believed.</summary>
public sealed class HttpEdgeOptions
{
    public const string Section = "Automator:Http";

    /// <summary>Addresses of proxies in front of this process (e.g. the ingress).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of such proxies, in CIDR notation (<c>10.0.0.0/8</c>).</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

/// <summary>
/// Reads <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> only from the configured proxies; with none configured the
/// headers are ignored, so a client cannot choose the address it is rate-limited by.
/// </summary>
public static class ForwardedHeadersSetup
{
    /// <summary>The middleware's options, or null when no proxy is configured.</summary>
    public static ForwardedHeadersOptions? From(IConfiguration configuration)
    {
        var edge = configuration.GetSection(HttpEdgeOptions.Section).Get<HttpEdgeOptions>() ?? new HttpEdgeOptions();
        if (edge.KnownProxies.Count == 0 && edge.KnownNetworks.Count == 0)
        {
            return null;
        }

        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,

            // Walk the chain from the nearest hop while the hop is a known proxy; the first other address is the client.
            ForwardLimit = null,
        };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        for (var i = 0; i < edge.KnownProxies.Count; i++)
        {
            if (!System.Net.IPAddress.TryParse(edge.KnownProxies[i], out var address))
            {
                throw new InvalidOperationException($"{HttpEdgeOptions.Section}:KnownProxies:{i} ('{edge.KnownProxies[i]}') is not an IP address.");
            }

            options.KnownProxies.Add(address);
        }

        for (var i = 0; i < edge.KnownNetworks.Count; i++)
        {
            if (!System.Net.IPNetwork.TryParse(edge.KnownNetworks[i], out var network))
            {
                throw new InvalidOperationException($"{HttpEdgeOptions.Section}:KnownNetworks:{i} ('{edge.KnownNetworks[i]}') is not a network in CIDR notation.");
            }

            options.KnownIPNetworks.Add(network);
        }

        return options;
    }
}
