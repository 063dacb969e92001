using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Automator.WebApi.Webhooks;

/// <summary>
/// Fetches SNS signing certificates (PEM) through the <c>sns-certificates</c> HTTP client, with a short timeout and a
/// size cap, and keeps a few of them by URL for an hour. Only URLs the verifier approved reach it.
/// </summary>
public sealed class SnsCertificates(IHttpClientFactory clients, TimeProvider time, ILogger<SnsCertificates> logger) : ISnsCertificateSource
{
    public const string ClientName = "sns-certificates";
    public const int MaxBytes = 64 * 1024;
    public const int MaxCached = 32;
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, (X509Certificate2 Certificate, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public async Task<X509Certificate2?> GetAsync(Uri url, CancellationToken cancellationToken)
    {
        var key = url.AbsoluteUri;
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Certificate;
        }

        var certificate = await FetchAsync(url, cancellationToken);
        if (certificate is null)
        {
            return null;
        }

        if (_cache.Count >= MaxCached)
        {
            foreach (var stale in _cache.Where(e => e.Value.Expires <= now).Select(e => e.Key).ToList())
            {
                _cache.TryRemove(stale, out _);
            }

            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }
        }

        _cache[key] = (certificate, now + Lifetime);
        return certificate;
    }

    private async Task<X509Certificate2?> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await clients.CreateClient(ClientName).GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode || response.Content.Headers.ContentLength > MaxBytes)
            {
                logger.LogWarning("SNS signing certificate {Url} answered {Status}", url, (int)response.StatusCode);
                return null;
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
            }

            if (length > MaxBytes)
            {
                logger.LogWarning("SNS signing certificate {Url} is larger than {Max} bytes", url, MaxBytes);
                return null;
            }

            return X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(buffer, 0, length));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or CryptographicException or ArgumentException)
        {
            logger.LogWarning(e, "SNS signing certificate {Url} could not be fetched", url);
            return null;
        }
    }
}
