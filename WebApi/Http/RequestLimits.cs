using System.Buffers;
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

    /// <summary>Gives a route a body limit of its own (e.g. a provider webhook that reads its raw body itself).</summary>
    public static RouteHandlerBuilder WithBodyLimit(this RouteHandlerBuilder builder, long bytes) =>
        builder.WithMetadata(new BodyLimitMetadata(bytes));

    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        var limit = endpoint?.Metadata.GetMetadata<BodyLimitMetadata>()?.Bytes
            ?? (endpoint?.Metadata.GetMetadata<LargeBodyMetadata>() is null ? DefaultBodyBytes : BatchBodyBytes);
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
        if (accepts is { ContentTypes.Count: > 0 } && hasBody && IsJson(context.Request.ContentType))
        {
            switch (await BufferAsync(context, limit))
            {
                case BodyCheck.TooLarge:
                    await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "The request body is too large.", "body", $"must be at most {limit} bytes.");
                    return;
                case BodyCheck.NotUtf8:
                    await ProblemAsync(context, StatusCodes.Status400BadRequest, "The request body is not valid UTF-8.", "body", "is not valid UTF-8.");
                    return;
            }
        }

        await next(context);
    });

    private static bool IsJson(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || media.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>
    /// Reads the whole body once into a pooled buffer (returned when the response completes), checks it and hands the
    /// same bytes on as the request body: no second copy, and nothing spilled to a temporary file.
    /// </summary>
    private static async Task<BodyCheck> BufferAsync(HttpContext context, long limit)
    {
        // One byte over the announced length lets the final read see the end without growing the buffer.
        var body = new PooledBody(context.Request.ContentLength is > 0 and var length ? (int)length + 1 : 16 * 1024);
        context.Response.RegisterForDispose(body);
        if (!await body.FillAsync(context.Request.Body, limit, context.RequestAborted))
        {
            return BodyCheck.TooLarge;
        }

        context.Request.Body = body.AsStream();
        return Utf8.IsValid(body.Bytes) ? BodyCheck.Ok : BodyCheck.NotUtf8;
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

    private sealed record BodyLimitMetadata(long Bytes);

    private enum BodyCheck { Ok, TooLarge, NotUtf8 }

    private sealed class PooledBody(int sizeHint) : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(sizeHint);
        private int _length;

        public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, _length);

        /// <summary>Reads to the end; false when the body turns out larger than <paramref name="limit"/>.</summary>
        public async Task<bool> FillAsync(Stream source, long limit, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_length > limit)
                {
                    return false;
                }

                if (_length == _buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                    _buffer.AsSpan(0, _length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(_buffer);
                    _buffer = larger;
                }

                var read = await source.ReadAsync(_buffer.AsMemory(_length), cancellationToken);
                if (read == 0)
                {
                    return true;
                }

                _length += read;
            }
        }

        public Stream AsStream() => new MemoryStream(_buffer, 0, _length, writable: false);

        public void Dispose()
        {
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
