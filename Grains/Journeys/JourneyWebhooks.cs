using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Journeys;

/// <summary>Outbound webhook steps. Fire and forget with a timeout; never follows redirects.</summary>
public interface IJourneyWebhooks
{
    void Enqueue(string url, string method, string? bodyJson, string journeyId, string stepId);
}

/// <summary>
/// SSRF-safe: the address actually connected to is checked (after DNS, so rebinding cannot slip through), and loopback,
/// private, link-local and other internal ranges are refused unless <see cref="JourneyOptions.AllowPrivateWebhooks"/>.
/// </summary>
public sealed class JourneyWebhooks : IJourneyWebhooks, IDisposable
{
    private readonly HttpClient _client;
    private readonly ILogger<JourneyWebhooks> _logger;

    public JourneyWebhooks(IOptions<JourneyOptions> options, ILogger<JourneyWebhooks> logger)
    {
        _logger = logger;
        var allowPrivate = options.Value.AllowPrivateWebhooks;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
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
        _client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public void Enqueue(string url, string method, string? bodyJson, string journeyId, string stepId) =>
        _ = SendAsync(url, method, bodyJson, journeyId, stepId);

    private async Task SendAsync(string url, string method, string? bodyJson, string journeyId, string stepId)
    {
        try
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), url);
            if (method != "GET" && method != "DELETE")
            {
                request.Content = new StringContent(bodyJson ?? "{}", Encoding.UTF8, "application/json");
            }

            request.Headers.Add("X-Automator-Journey", journeyId);
            request.Headers.Add("X-Automator-Step", stepId);
            using var response = await _client.SendAsync(request);
            _logger.LogInformation("Webhook step {StepId} of {JourneyId}: {Status}", stepId, journeyId, (int)response.StatusCode);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Webhook step {StepId} of {JourneyId} failed.", stepId, journeyId);
        }
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

        return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal);
    }
}
