using Microsoft.AspNetCore.Http.Features;

namespace Automator.WebApi.Http;

/// <summary>Caps request bodies: a small default, a larger allowance for batch routes.</summary>
public static class RequestLimits
{
    public const long DefaultBodyBytes = 2 * 1024 * 1024;
    public const long BatchBodyBytes = 32 * 1024 * 1024;

    /// <summary>Marks a route as a batch route allowed <see cref="BatchBodyBytes"/>.</summary>
    public static RouteHandlerBuilder AllowsLargeBody(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new LargeBodyMetadata());

    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<LargeBodyMetadata>() is null ? DefaultBodyBytes : BatchBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status413PayloadTooLarge,
                    Title = "The request body is too large.",
                    Extensions = { ["errors"] = new Dictionary<string, string[]> { ["body"] = [$"must be at most {limit} bytes."] } },
                },
            });
            return;
        }

        // Kestrel enforces this on chunked bodies too; the test server has no such feature.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        await next(context);
    });

    private sealed class LargeBodyMetadata;
}
