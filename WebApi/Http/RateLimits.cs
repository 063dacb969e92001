using System.Globalization;
using System.Threading.RateLimiting;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.RateLimiting;

namespace Automator.WebApi.Http;

/// <summary>Settings under <c>Automator:RateLimits</c>: requests per window for each API key and each organization.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Automator:RateLimits";

    public bool Enabled { get; set; } = true;

    public int PerApiKey { get; set; } = 6_000;

    public int PerOrganization { get; set; } = 12_000;

    /// <summary>Unauthenticated callers (signup, login, refresh) per client address.</summary>
    public int PerAnonymousClient { get; set; } = 300;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Fixed-window limits per API key (or user) and per organization, chained so a request needs a permit from both.
/// The same limiters answer the <c>RateLimit-Limit/Remaining/Reset</c> headers of every response.
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

        return ("ip:" + context.Connection.RemoteIpAddress, _options.PerAnonymousClient);
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
                        Detail = $"The rate limit of this API key or organization is used up; retry after {Math.Max(1, retryAfter)} s.",
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
