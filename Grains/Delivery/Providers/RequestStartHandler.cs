using System.Net;

namespace Automator.Delivery.Providers;

/// <summary>
/// In the SendGrid and SES clients' pipelines: when the worker set a <see cref="RequestStart"/>, the request body is held
/// back until the headers are written and the request start has marked its sends (see <see cref="RequestStart"/>).
/// </summary>
public sealed class RequestStartHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (RequestStart.Current is { } start && request.Content is { } content)
        {
            await content.LoadIntoBufferAsync(cancellationToken);
            request.Content = new GatedContent(content, start);
        }

        return await base.SendAsync(request, cancellationToken);
    }

    private sealed class GatedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly RequestStart _start;

        public GatedContent(HttpContent inner, RequestStart start)
        {
            _inner = inner;
            _start = start;
            foreach (var header in inner.Headers)
            {
                if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            // The headers go out first: from here on the request has started at the provider.
            await stream.FlushAsync(cancellationToken);
            await _start.BeforeBodyAsync(cancellationToken);
            await _inner.CopyToAsync(stream, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? -1;
            return length >= 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
