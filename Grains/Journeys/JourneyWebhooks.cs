using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Journeys;

/// <summary>Outbound webhook steps: calls in the background with a timeout, never following redirects, and reports the outcome.</summary>
public interface IJourneyWebhooks
{
    /// <summary>Calls the URL in the background; <paramref name="completed"/> is told whether it answered 2xx.</summary>
    void Enqueue(Guid organizationId, string url, string method, string? bodyJson, string journeyId, string stepId, string deliveryId, Func<bool, Task>? completed = null);
}

/// <summary>
/// SSRF-safe: the address actually connected to is checked (after DNS, so rebinding cannot slip through), and loopback,
/// private, link-local, NAT64, 6to4, Teredo and other internal ranges are refused unless
/// <see cref="JourneyOptions.AllowPrivateWebhooks"/>. Bounded: at most <see cref="JourneyOptions.WebhookConcurrencyPerOrganization"/>
/// calls in flight per organization, response headers read first and at most <see cref="JourneyOptions.WebhookResponseBodyLimit"/>
/// bytes of the body. Signed: each request carries <see cref="WebhookSignature.SignatureHeader"/> (HMAC with the
/// organization's secret) and a <see cref="WebhookSignature.DeliveryHeader"/> id receivers can deduplicate on.
/// </summary>
public sealed class JourneyWebhooks : IJourneyWebhooks, IDisposable
{
    private readonly HttpClient _client;
    private readonly ILogger<JourneyWebhooks> _logger;
    private readonly IWebhookSigningSecrets _secrets;
    private readonly TimeProvider _time;
    private readonly OrganizationGate _gate;
    private readonly int _bodyLimit;

    public JourneyWebhooks(IOptions<JourneyOptions> options, IWebhookSigningSecrets secrets, TimeProvider time, ILogger<JourneyWebhooks> logger)
    {
        _logger = logger;
        _secrets = secrets;
        _time = time;
        _gate = new OrganizationGate(Math.Max(1, options.Value.WebhookConcurrencyPerOrganization));
        _bodyLimit = Math.Max(0, options.Value.WebhookResponseBodyLimit);
        var allowPrivate = options.Value.AllowPrivateWebhooks;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            MaxResponseHeadersLength = 64,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
                var address = addresses.FirstOrDefault(a => allowPrivate || IsPublic(a))
                    ?? throw new HttpRequestException($"Webhook host {context.DnsEndPoint.Host} resolves only to non-public addresses.");
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10), MaxResponseContentBufferSize = Math.Max(1, _bodyLimit) };
    }

    /// <summary>The per-organization limit on calls in flight (for tests and metrics).</summary>
    internal OrganizationGate Gate => _gate;

    public void Enqueue(Guid organizationId, string url, string method, string? bodyJson, string journeyId, string stepId, string deliveryId, Func<bool, Task>? completed = null) =>
        _ = SendAndReportAsync(organizationId, url, method, bodyJson, journeyId, stepId, deliveryId, completed);

    private async Task SendAndReportAsync(Guid organizationId, string url, string method, string? bodyJson, string journeyId, string stepId, string deliveryId, Func<bool, Task>? completed)
    {
        var succeeded = await SendAsync(organizationId, url, method, bodyJson, journeyId, stepId, deliveryId);
        if (completed is null)
        {
            return;
        }

        try
        {
            await completed(succeeded);
        }
        catch (Exception ex)
        {
            // The persisted intent stays; its retry time brings it back.
            _logger.LogWarning(ex, "Webhook step {StepId} of {JourneyId}: its outcome could not be recorded.", stepId, journeyId);
        }
    }

    private async Task<bool> SendAsync(Guid organizationId, string url, string method, string? bodyJson, string journeyId, string stepId, string deliveryId)
    {
        try
        {
            // A slot frees within one call's timeout; a call still waiting after two is dropped and logged.
            using var lease = await _gate.EnterAsync(organizationId, _client.Timeout * 2);
            if (lease is null)
            {
                _logger.LogWarning("Webhook step {StepId} of {JourneyId} not sent now: the organization has {Limit} calls in flight.", stepId, journeyId, _gate.Limit);
                return false;
            }

            var hasBody = method != "GET" && method != "DELETE";
            var body = hasBody ? bodyJson ?? "{}" : "";
            using var request = new HttpRequestMessage(new HttpMethod(method), url);
            if (hasBody)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            var secret = await _secrets.GetOrCreateAsync(organizationId);
            request.Headers.Add("X-Automator-Journey", journeyId);
            request.Headers.Add("X-Automator-Step", stepId);
            request.Headers.Add(WebhookSignature.DeliveryHeader, deliveryId);
            request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Header(secret, _time.GetUtcNow(), body));
            using var timeout = new CancellationTokenSource(_client.Timeout);
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var read = await DrainAsync(response, timeout.Token);
            _logger.LogInformation("Webhook step {StepId} of {JourneyId}: {Status} ({Bytes} bytes read)", stepId, journeyId, (int)response.StatusCode, read);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Webhook step {StepId} of {JourneyId} failed.", stepId, journeyId);
            return false;
        }
    }

    /// <summary>Reads at most the body limit, then lets the response go (disposing it closes the connection).</summary>
    private async Task<int> DrainAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[Math.Min(8192, Math.Max(1, _bodyLimit))];
        var total = 0;
        while (total < _bodyLimit)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, _bodyLimit - total)), cancellationToken);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    public void Dispose() => _client.Dispose();

    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 10 || b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) || (b[0] == 172 && b[1] >= 16 && b[1] <= 31) ||
                     (b[0] == 192 && b[1] == 168) || (b[0] == 100 && b[1] >= 64 && b[1] <= 127) || b[0] >= 224);
        }

        if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal || address.IsIPv6Teredo)
        {
            return false;
        }

        // Ranges that embed an IPv4 address a gateway would reach: NAT64 (64:ff9b::/96, local-use 64:ff9b:1::/48) and
        // 6to4 (2002::/16). Refused whole, as a public IPv6 destination never needs them.
        var v6 = address.GetAddressBytes();
        var nat64 = v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b;
        var sixToFour = v6[0] == 0x20 && v6[1] == 0x02;
        return !(nat64 || sixToFour);
    }
}
