using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Automator.IntegrationTests.Security;

/// <summary>
/// A raw HTTP/1.1 receiver for outbound webhook steps: records each request, holds the ones whose path starts with
/// <c>/held</c> until <see cref="Release"/>, then answers 200 with a body that never ends (up to <see cref="BodyCap"/>),
/// and counts how much of it the caller let it write before hanging up.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    public const long BodyCap = 64L * 1024 * 1024;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _accepting;

    public WebhookReceiver()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    /// <summary>Bytes of the endless body written to each finished connection.</summary>
    public ConcurrentQueue<long> BytesWritten { get; } = new();

    /// <summary>Requests to <c>/flaky</c> answered 500 before the first 200.</summary>
    public int FailFirst { get; init; }

    public void Release() => _release.TrySetResult();

    private int _flaky;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0)
            {
                return;
            }

            head.Append((char)one[0]);
        }

        var lines = head.ToString().Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var path = lines[0].Split(' ')[1];
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = headers.TryGetValue("Content-Length", out var l) ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 0;
        var body = new byte[length];
        var read = 0;
        while (read < length)
        {
            read += await stream.ReadAsync(body.AsMemory(read), _stop.Token);
        }

        Requests.Enqueue(new ReceivedRequest(path, headers, Encoding.UTF8.GetString(body)));
        if (path.StartsWith("/flaky", StringComparison.Ordinal) && Interlocked.Increment(ref _flaky) <= FailFirst)
        {
            await stream.WriteAsync("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
            return;
        }

        if (path.StartsWith("/held", StringComparison.Ordinal))
        {
            await _release.Task.WaitAsync(_stop.Token);
        }

        long written = 0;
        try
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
            var chunk = new byte[64 * 1024];
            while (written < BodyCap)
            {
                await stream.WriteAsync(chunk, _stop.Token);
                written += chunk.Length;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The caller hung up: what it read is bounded by what was written until now.
        }

        BytesWritten.Enqueue(written);
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}

public sealed record ReceivedRequest(string Path, IReadOnlyDictionary<string, string> Headers, string Body);
