using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Automator.Infrastructure.Database;
using Automator.Live;
using Automator.Silo;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>live</c>: journey transitions made by grains that report each one to <see cref="ILiveEvents"/>,
/// with SignalR clients connected to the co-hosted dashboard over real WebSockets on loopback. Measures the
/// messages each client gets per second, and the cost of the live path on the engine: the saturated transition
/// rate with live updates off and on, and process CPU at a fixed rate with them off and on.
/// Options: <c>--seconds 8 --clients 20 --rate 5000 --workflows 10</c>.
/// </summary>
public static class LiveBench
{
    public static async Task RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 8);
        var clients = Option(args, "--clients", 20);
        var rate = Option(args, "--rate", 5000);
        var workflows = Option(args, "--workflows", 10);
        var rounds = Option(args, "--rounds", 6);
        var duration = TimeSpan.FromSeconds(seconds);

        await using var system = await StartAsync();
        var organizationId = Guid.NewGuid();
        var token = system.Services.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), organizationId, Roles.Viewer).Token;
        var grains = system.Services.GetRequiredService<IGrainFactory>();
        await WaitForSubscriptionAsync(grains);

        // Warm every grain once so activation cost is not part of any phase.
        await Task.WhenAll(Enumerable.Range(0, Journeys).Select(i => grains.GetGrain<IBenchJourneyGrain>(i).AdvanceAsync(organizationId, workflows, false)));

        // The clients run in a child process, as browsers would run elsewhere: this process's CPU is the engine's.
        await using var connections = await ClientProcess.StartAsync(system.Urls.First(), token, clients);

        // Warm-up (JIT, thread pool growth) before anything is measured, then live off and on alternately.
        await DriveAsync(grains, organizationId, workflows, live: false, rate: null, TimeSpan.FromSeconds(3));
        await DriveAsync(grains, organizationId, workflows, live: true, rate: null, TimeSpan.FromSeconds(3));
        // Short alternating rounds, medians: the machine is shared, so any one round can be slowed from outside.
        var offRuns = new List<(double PerSecond, double Cores, TimeSpan Elapsed)>();
        var onRuns = new List<(double PerSecond, double Cores, TimeSpan Elapsed)>();
        for (var round = 0; round < rounds; round++)
        {
            offRuns.Add(await DriveAsync(grains, organizationId, workflows, live: false, rate: null, TimeSpan.FromSeconds(3)));
            onRuns.Add(await DriveAsync(grains, organizationId, workflows, live: true, rate: null, TimeSpan.FromSeconds(3)));
        }

        var off = (PerSecond: Median(offRuns.Select(r => r.PerSecond)), CpuPerMove: Median(offRuns.Select(r => r.Cores / r.PerSecond * 1e6)));
        var on = (PerSecond: Median(onRuns.Select(r => r.PerSecond)), CpuPerMove: Median(onRuns.Select(r => r.Cores / r.PerSecond * 1e6)));
        var offPaced = await DriveAsync(grains, organizationId, workflows, live: false, rate, duration);
        await Task.Delay(1500);
        await connections.ResetAsync();
        var onPaced = await DriveAsync(grains, organizationId, workflows, live: true, rate, duration);
        await Task.Delay(300);
        var perClient = await connections.ReportAsync(onPaced.Elapsed);

        await connections.DisposeAsync();
        await system.StopAsync();
        var callCost = MeasureCallCost(workflows);
        var drop = 1 - on.PerSecond / off.PerSecond;
        Console.WriteLine($"| Transitions/s, saturated, live off (median of {rounds} x 3 s) | {off.PerSecond:N0} |");
        Console.WriteLine($"| Transitions/s, saturated, live on, {clients} clients (median of {rounds} x 3 s) | {on.PerSecond:N0} |");
        Console.WriteLine($"| Saturated throughput drop with live on (medians) | {drop:P1} |");
        Console.WriteLine($"| Process CPU per transition, saturated, live off / on (µs) | {off.CpuPerMove:N1} / {on.CpuPerMove:N1} |");
        Console.WriteLine($"| Throughput drop implied by CPU per transition | {1 - off.CpuPerMove / on.CpuPerMove:P1} |");
        Console.WriteLine($"| ILiveEvents.JourneyMoved, one thread, best of 5 x 1M calls | {callCost * 1e9:N0} ns per call ({callCost * rate * 100:N2} % of one core at {rate:N0}/s) |");
        Console.WriteLine($"| Paced {rate:N0}/s: achieved, live off / on | {offPaced.PerSecond:N0} / {onPaced.PerSecond:N0} |");
        Console.WriteLine($"| Paced {rate:N0}/s: process CPU (cores), live off / on | {offPaced.Cores:N2} / {onPaced.Cores:N2} |");
        Console.WriteLine($"| Messages/s per client (mean over {clients} clients) | {perClient.PerSecond:N1} |");
        Console.WriteLine($"| Most messages one client got in any one second | {perClient.BusiestSecond} |");
        Console.WriteLine($"| Moves listed per client per second (journeyMoved arrays, mean) | {perClient.MovesPerSecond:N0} |");
    }

    private const int Journeys = 2000;

    /// <summary>Seconds per <see cref="ILiveEvents.JourneyMoved"/> call on a private instance, with a flush every 100k calls.</summary>
    private static double MeasureCallCost(int workflows)
    {
        var events = new LiveEvents(TimeProvider.System);
        var organizationId = Guid.NewGuid();
        var contactId = Guid.NewGuid();
        var steps = new[] { "welcome", "wait", "opened?", "nudge", "buy", "offer", "offerA", "offerB" };
        var journeys = Enumerable.Range(0, Journeys).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        var workflowIds = Enumerable.Range(0, workflows).Select(i => new Guid(i, 0, 0, new byte[8])).ToArray();
        var at = DateTimeOffset.UtcNow;
        var best = double.MaxValue;
        for (var run = 0; run < 5; run++)
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 1_000_000; i++)
            {
                events.JourneyMoved(organizationId, workflowIds[i % workflowIds.Length], journeys[i % journeys.Length], contactId, steps[i % steps.Length], steps[(i + 1) % steps.Length], at);
                if (i % 100_000 == 0)
                {
                    events.TakeBatch();
                }
            }

            best = Math.Min(best, clock.Elapsed.TotalSeconds / 1_000_000);
        }

        return best;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<(double PerSecond, double Cores, TimeSpan Elapsed)> DriveAsync(
        IGrainFactory grains, Guid organizationId, int workflows, bool live, int? rate, TimeSpan duration)
    {
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        long issued = 0;
        long done = 0;
        var workers = Enumerable.Range(0, 64).Select(async _ =>
        {
            while (clock.Elapsed < duration)
            {
                var n = Interlocked.Increment(ref issued);
                if (rate is { } perSecond)
                {
                    var due = TimeSpan.FromSeconds((double)n / perSecond);
                    if (due > clock.Elapsed)
                    {
                        await Task.Delay(due - clock.Elapsed);
                    }
                }

                await grains.GetGrain<IBenchJourneyGrain>(n % Journeys).AdvanceAsync(organizationId, workflows, live);
                Interlocked.Increment(ref done);
            }
        }).ToArray();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cores = (process.TotalProcessorTime - cpuBefore).TotalSeconds / elapsed.TotalSeconds;
        return (done / elapsed.TotalSeconds, cores, elapsed);
    }

    private static async Task WaitForSubscriptionAsync(IGrainFactory grains)
    {
        var deadline = Stopwatch.StartNew();
        while (await grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key).GetSubscriberCountAsync() == 0)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("The dashboard never subscribed to the live registry.");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<WebApplication> StartAsync()
    {
        var clusterId = "bench-live-" + Guid.NewGuid().ToString("N")[..6];
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ApplicationName = typeof(SiloHostingExtensions).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Automator:Orleans:SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = clusterId,
            ["Automator:PublicBaseUrl"] = "https://mail.bench.test",
            ["Automator:Orleans:ServiceId"] = clusterId,
            ["Automator:Jwt:SigningKey"] = "benchmark-signing-key-0123456789abcdef0123456789abcdef",
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{LocalPostgresServer.FreePort()}");
        await builder.AddAutomatorSiloAsync();
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return app;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>
    /// Scenario <c>live-clients</c>, started by <c>live</c> as a child process: connects the clients, then answers
    /// <c>reset</c> and <c>report &lt;seconds&gt;</c> on standard input with one line on standard output.
    /// </summary>
    public static async Task RunClientsAsync(string[] args)
    {
        var clients = new List<CountingClient>();
        for (var i = 0; i < int.Parse(args[2], CultureInfo.InvariantCulture); i++)
        {
            clients.Add(await CountingClient.ConnectAsync(args[0], args[1]));
        }

        Console.WriteLine("ready");
        while (Console.ReadLine() is { } line && line != "quit")
        {
            if (line == "reset")
            {
                clients.ForEach(c => c.Reset());
                Console.WriteLine("ok");
            }
            else if (line.StartsWith("report ", StringComparison.Ordinal))
            {
                var elapsed = TimeSpan.FromSeconds(double.Parse(line[7..], CultureInfo.InvariantCulture));
                var summaries = clients.Select(c => c.Summary(elapsed)).ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{summaries.Average(s => s.PerSecond)} {summaries.Max(s => s.BusiestSecond)} {summaries.Average(s => s.MovesPerSecond)}"));
            }
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    private sealed class ClientProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private bool _disposed;

        private ClientProcess(Process process) => _process = process;

        public static async Task<ClientProcess> StartAsync(string url, string token, int clients)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                start.ArgumentList.Add(typeof(LiveBench).Assembly.Location);
            }

            foreach (var arg in new[] { "live-clients", url, token, clients.ToString(CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start)!;
            var client = new ClientProcess(process);
            await client.ExpectAsync("ready");
            return client;
        }

        public async Task ResetAsync()
        {
            await _process.StandardInput.WriteLineAsync("reset");
            await ExpectAsync("ok");
        }

        public async Task<(double PerSecond, int BusiestSecond, double MovesPerSecond)> ReportAsync(TimeSpan elapsed)
        {
            await _process.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"report {elapsed.TotalSeconds}"));
            var parts = (await ReadAsync()).Split(' ');
            return (double.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture));
        }

        private async Task ExpectAsync(string expected)
        {
            var line = await ReadAsync();
            if (line != expected)
            {
                throw new InvalidOperationException($"live-clients answered '{line}', expected '{expected}'");
            }
        }

        private async Task<string> ReadAsync()
        {
            // Skip anything the child logs; answers are single bare lines.
            while (await _process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60)) is { } line)
            {
                if (line == "ready" || line == "ok" || (line.Length > 0 && char.IsDigit(line[0])))
                {
                    return line;
                }
            }

            throw new InvalidOperationException("live-clients exited");
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (!_process.HasExited)
            {
                await _process.StandardInput.WriteLineAsync("quit");
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            _process.Dispose();
        }
    }

    /// <summary>A SignalR client of the live hub that only counts what it receives, per second.</summary>
    private sealed class CountingClient : IAsyncDisposable
    {
        private readonly HubConnection _connection;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly ConcurrentQueue<TimeSpan> _arrivals = new();
        private long _moves;

        private CountingClient(HubConnection connection)
        {
            _connection = connection;
            connection.On<object>("stats", _ => _arrivals.Enqueue(_clock.Elapsed));
            connection.On<object>("providerState", _ => _arrivals.Enqueue(_clock.Elapsed));
            connection.On<object>("sendRate", _ => _arrivals.Enqueue(_clock.Elapsed));
            connection.On<System.Text.Json.JsonElement>("journeyMoved", moves =>
            {
                _arrivals.Enqueue(_clock.Elapsed);
                Interlocked.Add(ref _moves, moves.GetArrayLength());
            });
        }

        public static async Task<CountingClient> ConnectAsync(string baseUrl, string token)
        {
            var connection = new HubConnectionBuilder()
                .WithUrl($"{baseUrl}/hubs/live", o =>
                {
                    o.Transports = HttpTransportType.WebSockets;
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                })
                .Build();
            await connection.StartAsync();
            return new CountingClient(connection);
        }

        public void Reset()
        {
            _arrivals.Clear();
            Interlocked.Exchange(ref _moves, 0);
        }

        public (double PerSecond, int BusiestSecond, double MovesPerSecond) Summary(TimeSpan elapsed)
        {
            var times = _arrivals.ToArray();
            var busiest = 0;
            for (int i = 0, j = 0; i < times.Length; i++)
            {
                while (times[i] - times[j] >= TimeSpan.FromSeconds(1))
                {
                    j++;
                }

                busiest = Math.Max(busiest, i - j + 1);
            }

            return (times.Length / elapsed.TotalSeconds, busiest, Interlocked.Read(ref _moves) / elapsed.TotalSeconds);
        }

        public ValueTask DisposeAsync() => _connection.DisposeAsync();
    }
}

public interface IBenchJourneyGrain : IGrainWithIntegerKey
{
    Task AdvanceAsync(Guid organizationId, int workflows, bool live);
}

/// <summary>A stand-in for a journey grain: moves one step along a fixed path per call and reports the move.</summary>
public sealed class BenchJourneyGrain(ILiveEvents live, TimeProvider time) : Grain, IBenchJourneyGrain
{
    private static readonly string[] Steps = ["welcome", "wait", "opened?", "nudge", "buy", "offer", "offerA", "offerB"];
    private readonly Guid _contactId = Guid.NewGuid();
    private int _position = -1;

    public Task AdvanceAsync(Guid organizationId, int workflows, bool publish)
    {
        var from = _position < 0 ? null : Steps[_position];
        _position = (_position + 1) % Steps.Length;
        if (publish)
        {
            var key = this.GetPrimaryKeyLong();
            var workflowId = new Guid((int)(key % workflows), 0, 0, new byte[8]);
            live.JourneyMoved(organizationId, workflowId, key.ToString(CultureInfo.InvariantCulture), _contactId, from, Steps[_position], time.GetUtcNow());
        }

        return Task.CompletedTask;
    }
}
