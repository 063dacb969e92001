using System.Diagnostics;
using Automator.Delivery;
using Automator.Infrastructure.Database;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>tracking</c>: the machine's own Kestrel ceiling for a trivial GET, then the full silo + WebApi on Kestrel
/// with durable PostgreSQL on the same box, taking open-pixel and click-redirect GETs at a fixed rate (default 2,000/s,
/// half of each, open loop: a request is started on schedule whether or not earlier ones have answered) for N seconds.
/// Each hit names a real send (seeded with its contact); a third of the hits repeat an earlier send. Every hit is
/// recorded on its send in PostgreSQL and its event handed on to the contact. Options: <c>--seconds N</c> (default 10),
/// <c>--rate N</c> (default 2000).
/// </summary>
public static class TrackingBench
{
    private const int Connections = 256;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    public static async Task RunAsync(string[] args)
    {
        var duration = TimeSpan.FromSeconds(ApiBench.Option(args, "--seconds", 10));
        var rate = ApiBench.Option(args, "--rate", 2000);
        var kestrel = await ApiBench.TrivialKestrelAsync(duration);
        Console.WriteLine($"| Kestrel trivial GET, requests/s (64 concurrent, same box) | {kestrel:N0} |");

        await using var postgres = await LocalPostgresServer.StartThrowawayAsync();
        await postgres.CreateDatabaseAsync("bench");
        var connectionString = postgres.ConnectionString("bench");
        var port = LocalPostgresServer.FreePort();
        await using var app = await WebhookBench.StartSystemAsync(connectionString, port, "");
        // A recipient's client: the redirect's target is not ours to load.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Connections, UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
        var tokens = app.Services.GetRequiredService<TrackingTokens>();

        var total = (int)(rate * (duration.TotalSeconds + 2));
        var sends = await WebhookBench.SeedSendsAsync(connectionString, total * 2 / 3 + 1);
        var organization = Guid.Empty;
        var paths = Enumerable.Range(0, total).Select(i =>
        {
            var send = sends[i % 3 == 2 ? i / 3 : i * 2 / 3 % sends.Count];
            return i % 2 == 0
                ? $"/t/o/{tokens.Create(new TrackingClaim(TrackingKind.Open, send.Id, organization, Guid.Empty))}.gif"
                : $"/t/c/{tokens.Create(new TrackingClaim(TrackingKind.Click, send.Id, organization, Guid.Empty, "https://shop.bench.test/landing"))}";
        }).ToList();
        Console.Error.WriteLine($"seeded {sends.Count:N0} sends, {paths.Count:N0} tracking URLs");

        await HitAsync(http, paths.GetRange(0, rate * 2), rate, TimeSpan.FromSeconds(2));
        var cpu = CpuMeter.Start(postgres.DataDirectory);
        var (done, failed, perSecond, p50, p99, max) = await HitAsync(http, paths.GetRange(rate * 2, paths.Count - rate * 2), rate, duration);
        Console.WriteLine($"| GET /t/o (pixel) and /t/c (click) at {rate:N0}/s offered, open loop: served/s | {perSecond:N0} (p50 {p50:N1} ms, p99 {p99:N1} ms, max {max:N0} ms; {done:N0} hits, {failed:N0} failed) |");
        Console.WriteLine($"| Tracking GET: CPU per hit | {cpu.PerItem(done)} |");
    }

    private static async Task<(long Done, long Failed, double PerSecond, double P50, double P99, double Max)> HitAsync(
        HttpClient http, List<string> paths, int rate, TimeSpan duration)
    {
        var latencies = new List<double>(paths.Count);
        var inFlight = new List<Task>();
        long done = 0, failed = 0;
        var next = 0;
        var stopwatch = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Tick);
        while (stopwatch.Elapsed < duration && next < paths.Count && await timer.WaitForNextTickAsync())
        {
            // Start every request whose scheduled time has come.
            var due = Math.Min(paths.Count, (int)(stopwatch.Elapsed.TotalSeconds * rate));
            for (; next < due; next++)
            {
                var path = paths[next];
                inFlight.Add(Task.Run(async () =>
                {
                    var call = Stopwatch.StartNew();
                    using var request = new HttpRequestMessage(HttpMethod.Get, path);
                    request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36");
                    using var response = await http.SendAsync(request);
                    var ms = call.Elapsed.TotalMilliseconds;
                    lock (latencies)
                    {
                        latencies.Add(ms);
                    }

                    Interlocked.Increment(ref (int)response.StatusCode is 200 or 302 ? ref done : ref failed);
                }));
            }
        }

        await Task.WhenAll(inFlight);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        latencies.Sort();
        return (done, failed, done / elapsed, ApiBench.Percentile(latencies, 0.50), ApiBench.Percentile(latencies, 0.99), latencies.Count == 0 ? 0 : latencies[^1]);
    }
}
