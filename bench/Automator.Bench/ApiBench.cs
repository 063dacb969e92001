using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.Contacts;
using Automator.Infrastructure.Database;
using Automator.Silo;
using Automator.WebApi.Contacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>api</c>: the machine's own Kestrel ceiling for a trivial endpoint, then the full silo + WebApi on
/// Kestrel with durable PostgreSQL on the same box: contacts/s through <c>POST /v1/contacts/batch</c> and the latency
/// of single <c>POST /v1/contacts</c> upserts at a fixed arrival rate. Options: <c>--seconds N</c> (default 10),
/// <c>--rate N</c> single requests per second (default 500), <c>--events-only</c>, <c>--statements</c> (the database's
/// busiest statements during the batched events phase).
/// </summary>
public static class ApiBench
{
    private const int BatchSize = 1_000;
    private const int Clients = 4;

    /// <summary>Untimed batches before each timed event phase, so that it measures code the JIT has finished optimizing.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 10);
        var rate = Option(args, "--rate", 500);
        var duration = TimeSpan.FromSeconds(seconds);

        var eventsOnly = args.Contains("--events-only");
        var kestrel = await TrivialKestrelAsync(duration);
        Console.WriteLine($"| Kestrel trivial GET, requests/s (64 concurrent, same box) | {kestrel:N0} |");

        if (StatementStats.Requested(args))
        {
            StatementStats.EnableOnLocalServer();
        }

        await using var postgres = await LocalPostgresServer.StartThrowawayAsync();
        await postgres.CreateDatabaseAsync("bench");
        var connectionString = postgres.ConnectionString("bench");
        var port = LocalPostgresServer.FreePort();
        await using var app = await StartSystemAsync(connectionString, port);
        using var http = Client(port, 64);

        var signup = await http.PostAsJsonAsync("/v1/auth/signup", new { organizationName = "Bench", email = "bench@example.test", password = "benchmark password" });
        signup.EnsureSuccessStatusCode();
        var token = (await signup.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // --events-only: the contacts the event phases address are created once, then only the event phases are timed.
        var (created, batchPerSecond, batchP50, batchP99) = await BatchUpsertsAsync(http, duration, "new");
        if (!eventsOnly)
        {
            Console.WriteLine($"| POST /v1/contacts/batch ({BatchSize:N0}/call, {Clients} clients): new contacts/s | {batchPerSecond:N0} (p50 {batchP50:N0} ms, p99 {batchP99:N0} ms per call; {created:N0} rows) |");
            var (_, updatePerSecond, _, _) = await BatchUpsertsAsync(http, duration, "new");
            Console.WriteLine($"| POST /v1/contacts/batch ({BatchSize:N0}/call, {Clients} clients): updates/s of existing contacts | {updatePerSecond:N0} |");

            var (sent, p50, p99, achieved) = await FixedRateSinglesAsync(http, rate, duration,
                i => http.PostAsJsonAsync("/v1/contacts", new { email = $"single-{i}@bench.example", properties = new { plan = "pro" } }));
            Console.WriteLine($"| POST /v1/contacts single upsert at {rate:N0}/s offered: p50 / p99 | {p50:N1} ms / {p99:N1} ms ({achieved:N0}/s achieved, {sent:N0} requests) |");
        }

        // Events go all the way: validation, idempotency keys, the events table, then each contact's grain. CPU seconds
        // spent by this process and by PostgreSQL per event are printed too: unlike rates, they hardly move with the
        // machine's load, and two cores divided by them bound what an idle machine can do.
        await EventBatchesAsync(http, WarmUp, EventBodies(WarmUp, created, "warm-views", _ => "page_viewed"));
        if (StatementStats.Requested(args))
        {
            await StatementStats.ResetAsync(connectionString);
        }

        var views = EventBodies(duration, created, "views", _ => "page_viewed");
        var cpu = CpuMeter.Start(postgres.DataDirectory);
        var (events, eventsPerSecond, eventsP50, eventsP99) = await EventBatchesAsync(http, duration, views);
        Console.WriteLine($"| POST /v1/events/batch ({BatchSize:N0}/call, {Clients} clients), page views of contacts in no journey: events/s | {eventsPerSecond:N0} (p50 {eventsP50:N0} ms, p99 {eventsP99:N0} ms per call; {events:N0} events) |");
        Console.WriteLine($"| POST /v1/events/batch: CPU per event | {cpu.PerItem(events)} |");
        if (StatementStats.Requested(args))
        {
            await StatementStats.PrintAsync(connectionString);
        }

        var eventRate = Option(args, "--event-rate", 1_000);
        cpu = CpuMeter.Start(postgres.DataDirectory);
        var (singleEvents, eventP50, eventP99, eventAchieved) = await FixedRateSinglesAsync(http, eventRate, duration,
            i => http.PostAsJsonAsync("/v1/events", new { email = $"new-{i % Math.Max(1, created)}@bench.example", name = "page_viewed", properties = new { n = i } }));
        Console.WriteLine($"| POST /v1/events single at {eventRate:N0}/s offered: p50 / p99 | {eventP50:N1} ms / {eventP99:N1} ms ({eventAchieved:N0}/s achieved, {singleEvents:N0} requests) |");
        Console.WriteLine($"| POST /v1/events single: CPU per event | {cpu.PerItem(singleEvents)} |");

        // With an active workflow: one event in ten starts a journey (into a 7-day delay), and from then on every event of
        // a contact in a journey goes through its contact grain.
        var workflow = await http.PostAsJsonAsync("/v1/workflows", JsonSerializer.Deserialize<JsonElement>("""
            { "name": "Trial", "trigger": { "type": "event", "event": "trial_started" }, "start": "wait",
              "steps": [ { "id": "wait", "type": "delay", "duration": "P7D", "next": null } ] }
            """));
        workflow.EnsureSuccessStatusCode();
        var workflowId = (await workflow.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();
        (await http.PostAsync($"/v1/workflows/{workflowId}/activate", null)).EnsureSuccessStatusCode();
        await EventBatchesAsync(http, WarmUp, EventBodies(WarmUp, created, "warm-mixed", n => n % 10 == 0 ? "trial_started" : "page_viewed"));
        var mix = EventBodies(duration, created, "mixed", n => n % 10 == 0 ? "trial_started" : "page_viewed");
        cpu = CpuMeter.Start(postgres.DataDirectory);
        var (mixed, mixedPerSecond, mixedP50, mixedP99) = await EventBatchesAsync(http, duration, mix);
        var stats = await http.GetFromJsonAsync<JsonElement>($"/v1/workflows/{workflowId}/stats");
        Console.WriteLine($"| POST /v1/events/batch, 1 in 10 events starting a journey, then every event of those contacts through their grains: events/s | {mixedPerSecond:N0} (p50 {mixedP50:N0} ms, p99 {mixedP99:N0} ms per call; {mixed:N0} events, {stats.GetProperty("entered").GetInt64():N0} journeys started) |");
        Console.WriteLine($"| POST /v1/events/batch, journeys mix: CPU per event | {cpu.PerItem(mixed)} |");
    }

    private static async Task<(long Events, double PerSecond, double P50, double P99)> EventBatchesAsync(HttpClient http, TimeSpan duration, List<byte[]> bodies)
    {
        long accepted = 0;
        long nextCall = -1;
        var latencies = new List<double>();
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            while (stopwatch.Elapsed < duration && Interlocked.Increment(ref nextCall) is var index && index < bodies.Count)
            {
                using var content = new ByteArrayContent(bodies[(int)index]);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                var call = Stopwatch.StartNew();
                var response = await http.PostAsync("/v1/events/batch", content);
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                lock (latencies)
                {
                    latencies.Add(call.Elapsed.TotalMilliseconds);
                }

                Interlocked.Add(ref accepted, body.GetProperty("accepted").GetInt32());
            }
        }));
        var total = stopwatch.Elapsed.TotalSeconds;
        if (nextCall >= bodies.Count)
        {
            Console.WriteLine($"note: all {bodies.Count:N0} prepared bodies were sent before {duration.TotalSeconds:N0} s; the rate covers {total:N1} s");
        }

        latencies.Sort();
        return (accepted, accepted / total, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>
    /// Enough 1,000-event bodies for 100,000 events/s over the phase, each event with its own idempotency key. They are
    /// serialized before the clock and the CPU meter start, as a load generator on its own machine would have them: the
    /// two cores shared with the system under test then spend nothing on building them.
    /// </summary>
    private static List<byte[]> EventBodies(TimeSpan duration, long contacts, string phase, Func<long, string> name)
    {
        var calls = (int)Math.Ceiling(100_000 * duration.TotalSeconds / BatchSize);
        var bodies = new List<byte[]>(calls);
        for (var call = 0; call < calls; call++)
        {
            var start = (long)call * BatchSize;
            var events = Enumerable.Range(0, BatchSize).Select(i => new
            {
                email = $"new-{(start + i) % Math.Max(1, contacts)}@bench.example",
                name = name(start + i),
                properties = new { page = "/pricing", n = start + i },
                idempotencyKey = $"{phase}-{start + i}",
            });
            bodies.Add(JsonSerializer.SerializeToUtf8Bytes(new { events }));
        }

        return bodies;
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    internal static HttpClient Client(int port, int connections) => new(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseCookies = false })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        Timeout = TimeSpan.FromMinutes(2),
    };

    internal static async Task<double> TrivialKestrelAsync(TimeSpan duration)
    {
        var port = LocalPostgresServer.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        app.MapGet("/ping", () => "pong");
        await app.StartAsync();
        using var http = Client(port, 64);
        return await ClosedLoopAsync(64, duration, async () => (await http.GetAsync("/ping")).EnsureSuccessStatusCode());
    }

    private static async Task<double> ClosedLoopAsync(int workers, TimeSpan duration, Func<Task> call)
    {
        for (var i = 0; i < 200; i++)
        {
            await call();
        }

        long count = 0;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (stopwatch.Elapsed < duration)
            {
                await call();
                Interlocked.Increment(ref count);
            }
        }));
        return count / stopwatch.Elapsed.TotalSeconds;
    }

    private static async Task<WebApplication> StartSystemAsync(string connectionString, int port)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Jwt:SigningKey"] = "benchmark-signing-key-0123456789abcdef0123456789",
            ["Automator:Encryption:Keys:bench"] = BenchKeys.ContactFields,
            ["Automator:Orleans:SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = "bench",
            ["Automator:PublicBaseUrl"] = "https://mail.bench.test",
            ["Automator:Orleans:ServiceId"] = "bench",
            ["Automator:RateLimits:Enabled"] = "false",
            ["Automator:Outbox:Path"] = Path.Combine(Path.GetTempPath(), "automator-bench-outbox"),
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await builder.AddAutomatorSiloAsync();

        // The contact phases measure the API and PostgreSQL path alone (the profile hand-off to contact grains is a
        // no-op here); the event phases go through the real route into the contact grains.
        builder.Services.AddSingleton<IContactSync, NoContactSync>();
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return app;
    }

    private static async Task<(long Rows, double PerSecond, double P50, double P99)> BatchUpsertsAsync(HttpClient http, TimeSpan duration, string prefix)
    {
        long rows = 0;
        long next = 0;
        var latencies = new List<double>();
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            while (stopwatch.Elapsed < duration)
            {
                var start = Interlocked.Add(ref next, BatchSize) - BatchSize;
                var contacts = Enumerable.Range(0, BatchSize).Select(i => new
                {
                    email = $"{prefix}-{start + i}@bench.example",
                    firstName = "Bench",
                    properties = new { plan = (start + i) % 3 == 0 ? "pro" : "free", seats = (start + i) % 50, source = "bench" },
                });
                var call = Stopwatch.StartNew();
                var response = await http.PostAsJsonAsync("/v1/contacts/batch", new { contacts });
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                var elapsed = call.Elapsed.TotalMilliseconds;
                lock (latencies)
                {
                    latencies.Add(elapsed);
                }

                Interlocked.Add(ref rows, body.GetProperty("created").GetInt32() + body.GetProperty("updated").GetInt32());
            }
        }));
        var total = stopwatch.Elapsed.TotalSeconds;
        latencies.Sort();
        return (rows, rows / total, Percentile(latencies, 0.50), Percentile(latencies, 0.99));
    }

    /// <summary>Open loop: requests leave on a fixed schedule whatever the latency, so queueing shows in p99.</summary>
    private static async Task<(int Sent, double P50, double P99, double Achieved)> FixedRateSinglesAsync(HttpClient http, int rate, TimeSpan duration, Func<int, Task<HttpResponseMessage>> send)
    {
        var total = (int)(rate * duration.TotalSeconds);
        var latencies = new double[total];
        var tasks = new List<Task>(total);
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - stopwatch.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = i;
            tasks.Add(Task.Run(async () =>
            {
                var call = Stopwatch.StartNew();
                var response = await send(index);
                response.EnsureSuccessStatusCode();
                latencies[index] = call.Elapsed.TotalMilliseconds;
            }));
        }

        await Task.WhenAll(tasks);
        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var sorted = latencies.Order().ToList();
        return (total, Percentile(sorted, 0.50), Percentile(sorted, 0.99), total / elapsed);
    }

    internal static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private sealed class NoContactSync : IContactSync
    {
        public Task ProfileChangedAsync(IReadOnlyList<ContactProfile> profiles, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ListJoinedAsync(Guid organizationId, Guid listId, IReadOnlyList<Guid> contactIds, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task SegmentChangedAsync(Guid organizationId, Guid segmentId, IReadOnlyList<(Guid ContactId, bool Entered)> changes, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task ErasedAsync(Guid organizationId, Guid contactId, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
