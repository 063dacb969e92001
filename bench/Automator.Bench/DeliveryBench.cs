using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Automator.Delivery;
using Automator.Delivery.Rendering;
using Automator.Delivery.SendLog;
using Automator.Infrastructure.Database;
using Automator.Silo;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Bench;

/// <summary>
/// Emails per second through the whole delivery path: the send step's call (IDeliveryGrain: validate, suppression,
/// Liquid render, send log row) -> sending worker -> provider grain lease -> SendGrid client -> a local fake SendGrid on
/// Kestrel (127.0.0.1) with no rate limit; beside it, the machine's own loopback HTTP rate to that same fake, and the
/// memory each queued send holds. Options: <c>--sends N</c> (default 20000), <c>--postgres</c> (send log on a throwaway
/// PostgreSQL instead of in memory).
/// </summary>
public static class DeliveryBench
{
    public static async Task RunAsync(string[] args)
    {
        var sends = Option(args, "--sends", 20_000);
        var postgres = args.Contains("--postgres");
        await using var fake = await FakeSendGrid.StartAsync();
        Progress("fake SendGrid at " + fake.Url);
        var loopback = await fake.MeasureLoopbackAsync(TimeSpan.FromSeconds(5), concurrency: 64);
        Progress($"loopback {loopback:N0}/s");

        LocalPostgresServer? server = null;
        string? connectionString = null;
        if (postgres)
        {
            server = await LocalPostgresServer.StartThrowawayAsync();
            await server.CreateDatabaseAsync("bench");
            connectionString = server.ConnectionString("bench");
        }

        try
        {
            await using var silo = await StartSiloAsync(fake.Url, connectionString);
            Progress("silo started");
            var grains = silo.Services.GetRequiredService<IGrainFactory>();
            var organizationId = Guid.NewGuid();
            var templateId = Guid.NewGuid();
            await SeedAsync(silo.Services, connectionString, organizationId, templateId);

            // Warm-up: JIT, connections, grain activations.
            await SendManyAsync(grains, organizationId, templateId, 500, "warm");
            await WaitForAsync(() => fake.Received >= 500, TimeSpan.FromSeconds(60));
            fake.Reset();
            Progress("warmed up");

            // 1. Memory per queued send: hold the provider, queue everything, measure, then release and time the drain.
            var provider = grains.GetGrain<IProviderGrain>("sendgrid");
            await provider.PauseAsync();
            var before = Heap();
            var enqueue = Stopwatch.StartNew();
            await SendManyAsync(grains, organizationId, templateId, sends, "queued");
            enqueue.Stop();
            var after = Heap();
            Progress($"queued {sends} in {enqueue.Elapsed.TotalSeconds:F1}s");
            var drain = Stopwatch.StartNew();
            await provider.ResumeAsync();
            await WaitForAsync(() => fake.Received >= sends, TimeSpan.FromMinutes(10));
            drain.Stop();
            var drainRequests = fake.Requests;
            fake.Reset();
            Progress($"drained in {drain.Elapsed.TotalSeconds:F1}s");

            // 2. End to end with the provider open: the send step's call to the fake provider accepting it.
            var endToEnd = Stopwatch.StartNew();
            await SendManyAsync(grains, organizationId, templateId, sends, "e2e");
            await WaitForAsync(() => fake.Received >= sends, TimeSpan.FromMinutes(10));
            endToEnd.Stop();
            var endToEndRequests = fake.Requests;

            var mode = postgres ? "PostgreSQL send log" : "in-memory send log";
            Console.WriteLine($"| Delivery scenario | {sends:N0} sends, {mode}, {Environment.ProcessorCount} cores |");
            Console.WriteLine($"| Loopback HTTP limit: POSTs/s to the fake SendGrid (64 concurrent, no Orleans) | {loopback:N0} |");
            Console.WriteLine($"| End to end: emails/s from send step to fake SendGrid accepted | {sends / endToEnd.Elapsed.TotalSeconds:N0} |");
            Console.WriteLine($"| Front door: sends/s queued (validate, suppression, render, send log) | {sends / enqueue.Elapsed.TotalSeconds:N0} |");
            Console.WriteLine($"| Provider path: emails/s draining a full queue to fake SendGrid | {sends / drain.Elapsed.TotalSeconds:N0} |");
            Console.WriteLine($"| Memory per queued send (managed heap) | {(after - before) / (double)sends / 1024:N1} KiB |");
            Console.WriteLine($"| HTTP requests to the fake SendGrid: end to end / draining the full queue | {endToEndRequests:N0} / {drainRequests:N0} |");
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    internal static async Task SendManyAsync(IGrainFactory grains, Guid organizationId, Guid templateId, int count, string prefix)
    {
        var delivery = grains.GetGrain<IDeliveryGrain>(0);
        var next = -1;
        var workers = Enumerable.Range(0, 128).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                await delivery.SendAsync(new SendRequest
                {
                    SendKey = $"{prefix}-{i}:{Guid.NewGuid():N}:1",
                    OrganizationId = organizationId,
                    ContactId = Guid.NewGuid(),
                    Email = $"user{i}@example.com",
                    TemplateId = templateId,
                    WorkflowId = Guid.NewGuid(),
                    JourneyId = "journey-" + i.ToString(CultureInfo.InvariantCulture),
                    StepId = "welcome",
                    EventJson = "{\"plan\":\"pro\",\"item\":\"Widget\"}",
                });
            }
        });
        await Task.WhenAll(workers);
    }

    internal static async Task<WebApplication> StartSiloAsync(string sendGridUrl, string? connectionString, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Orleans:SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = "bench-" + Guid.NewGuid().ToString("N")[..6],
            ["Automator:Hosting:WebApi"] = "false",
            ["Automator:Hosting:Dashboard"] = "false",
            ["Automator:PublicBaseUrl"] = "https://mail.bench.test",
            ["Automator:Jwt:SigningKey"] = "bench-signing-key-0123456789abcdef0123456789",
            ["Automator:Encryption:Keys:bench"] = BenchKeys.ContactFields,
            ["Automator:Providers:Primary"] = "sendgrid",
            ["Automator:Providers:SendGrid:ApiKey"] = "SG.bench",
            ["Automator:Providers:SendGrid:BaseUrl"] = sendGridUrl,
            ["Automator:Providers:SendGrid:RatePerSecond"] = "1000000",
            ["Automator:Providers:SendGrid:Burst"] = "1000",
            ["Urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Automator", LogLevel.Information);
        await builder.AddAutomatorSiloAsync();
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return app;
    }

    internal static async Task SeedAsync(IServiceProvider services, string? connectionString, Guid organizationId, Guid templateId)
    {
        const string Subject = "Welcome, {{ contact.firstName | default: \"there\" }}";
        const string Html = "<html><body><h1>Hi {{ contact.firstName | default: \"there\" }}</h1><p>Thanks for choosing the {{ event.properties.plan }} plan and the {{ event.properties.item }}.</p><p><a href=\"https://shop.example/start\">Get started</a> or <a href=\"https://shop.example/help\">read the guide</a>.</p></body></html>";
        if (connectionString is null)
        {
            var log = (InMemorySendLog)services.GetRequiredService<ISendLog>();
            log.PutOrganization(organizationId, "Bench Co", "1 Loop Road, Localhost");
            log.PutTemplate(new TemplateContent(templateId, Subject, Html, null));
            return;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var organization = new NpgsqlCommand("INSERT INTO organizations (id, name, postal_address) VALUES ($1, 'Bench Co', '1 Loop Road, Localhost')", connection))
        {
            organization.Parameters.Add(new NpgsqlParameter { Value = organizationId });
            await organization.ExecuteNonQueryAsync();
        }

        await using var template = new NpgsqlCommand("INSERT INTO email_templates (id, organization_id, name, subject, html) VALUES ($1, $2, 'bench', $3, $4)", connection);
        template.Parameters.Add(new NpgsqlParameter { Value = templateId });
        template.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        template.Parameters.Add(new NpgsqlParameter { Value = Subject });
        template.Parameters.Add(new NpgsqlParameter { Value = Html });
        await template.ExecuteNonQueryAsync();
    }

    internal static void Progress(string message) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    internal static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException("The benchmark did not finish in time.");
            }

            await Task.Delay(5);
        }
    }

    internal static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    /// <summary>
    /// SendGrid's <c>POST /v3/mail/send</c> answered with 202 on Kestrel at 127.0.0.1; counts what it accepted, and keeps
    /// the time each request arrived whole (<see cref="Stopwatch"/> timestamps), for the rate scenario's windows.
    /// </summary>
    internal sealed class FakeSendGrid : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly System.Collections.Concurrent.ConcurrentQueue<long> _arrivals = new();
        private long _received;
        private long _requests;

        private FakeSendGrid(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public long Received => Interlocked.Read(ref _received);

        /// <summary>HTTP requests received since the last reset.</summary>
        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>When each request since the last reset arrived whole, in arrival order.</summary>
        public long[] Arrivals => _arrivals.ToArray();

        public void Reset()
        {
            Interlocked.Exchange(ref _received, 0);
            Interlocked.Exchange(ref _requests, 0);
            _arrivals.Clear();
        }

        public static async Task<FakeSendGrid> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var fake = new FakeSendGrid(app);
            app.MapPost("/v3/mail/send", async (HttpContext http) =>
            {
                // Counts emails, not requests: a request carries one email per personalization.
                var emails = 1;
                try
                {
                    using var body = await JsonDocument.ParseAsync(http.Request.Body);
                    if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("personalizations", out var personalizations))
                    {
                        emails = personalizations.GetArrayLength();
                    }
                }
                catch (JsonException)
                {
                    // The loopback measurement posts a plain body: one request, one count.
                }

                fake._arrivals.Enqueue(Stopwatch.GetTimestamp());
                Interlocked.Add(ref fake._received, emails);
                Interlocked.Increment(ref fake._requests);
                http.Response.StatusCode = 202;
                http.Response.Headers["X-Message-Id"] = "bench";
            });
            await app.StartAsync();
            fake.Url = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            return fake;
        }

        /// <summary>The machine's loopback HTTP ceiling: plain HttpClient POSTs of a mail-sized body to this fake.</summary>
        public async Task<double> MeasureLoopbackAsync(TimeSpan duration, int concurrency)
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 });
            var body = Encoding.UTF8.GetBytes(new string('x', 2_500));
            long count = 0;
            var clock = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, concurrency).Select(async _ =>
            {
                while (clock.Elapsed < duration)
                {
                    using var content = new ByteArrayContent(body);
                    using var response = await http.PostAsync(Url + "/v3/mail/send", content);
                    Interlocked.Increment(ref count);
                }
            });
            await Task.WhenAll(workers);
            var rate = count / clock.Elapsed.TotalSeconds;
            Reset();
            return rate;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
