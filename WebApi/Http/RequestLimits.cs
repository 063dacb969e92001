using System.Text.Unicode;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace Automator.WebApi.Http;

/// <summary>
/// Checks the shape of a request body before any handler runs: its size (a small default, a larger allowance for
/// batch routes), its content type (JSON routes answer 415 ProblemDetails naming it) and that it is valid UTF-8
/// (System.Text.Json does not look inside values it skips).
/// </summary>
public static class RequestLimits
{
    public const long DefaultBodyBytes = 2 * 1024 * 1024;
    public const long BatchBodyBytes = 32 * 1024 * 1024;

    /// <summary>Marks a route as a batch route allowed <see cref="BatchBodyBytes"/>.</summary>
    public static RouteHandlerBuilder AllowsLargeBody(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(new LargeBodyMetadata());

    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        var limit = endpoint?.Metadata.GetMetadata<LargeBodyMetadata>() is null ? DefaultBodyBytes : BatchBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "The request body is too large.", "body", $"must be at most {limit} bytes.");
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }

        var accepts = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>();
        var hasBody = context.Request.ContentLength > 0 || (context.Request.ContentLength is null && context.Request.Headers.TransferEncoding.Count > 0);
        // A body of the wrong content type never gets here: routing picks its own 415 endpoint (see AddWebApi).
        if (accepts is { ContentTypes.Count: > 0 } && hasBody && IsJson(context.Request.ContentType) && !await IsUtf8Async(context.Request, limit))
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid UTF-8.", "body", "is not valid UTF-8.");
            return;
        }

        await next(context);
    });

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static async Task<bool> IsUtf8Async(HttpRequest request, long limit)
    {
        request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: limit);
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        }
        finally
        {
            request.Body.Position = 0;
        }

        return Utf8.IsValid(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    private static async Task ProblemAsync(HttpContext context, int status, string title, string field, string message)
    {
        context.Response.StatusCode = status;
        var problems = context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = status,
                Title = title,
                Extensions = { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } },
            },
        });
    }

    private sealed class LargeBodyMetadata;
}
