using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Automator.Infrastructure.Database;
using Automator.Silo;
using Automator.WebApi.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>webhooks</c>: the machine's own Kestrel ceiling for a trivial GET, then the full silo + WebApi on Kestrel
/// with durable PostgreSQL on the same box, taking SendGrid Event Webhook batches of 1,000 signed events at
/// <c>POST /webhooks/sendgrid</c> from 4 clients for N seconds. Each batch names 500 real sends (seeded in PostgreSQL
/// with their contacts) with a <c>processed</c> and a <c>delivered</c> event each, so every event is verified, mapped,
/// claimed as a provider event, locked on its send, recorded and handed on to the contact's journeys. Options:
/// <c>--seconds N</c> (default 10).
/// </summary>
public static class WebhookBench
{
    private const int BatchSize = 1_000;
    private const int SendsPerBatch = BatchSize / 2;
    private const int Clients = 4;
    private const int CeilingEventsPerSecond = 40_000;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(string[] args)
    {
        var duration = TimeSpan.FromSeconds(ApiBench.Option(args, "--seconds", 10));
        var kestrel = await ApiBench.TrivialKestrelAsync(duration);
        Console.WriteLine($"| Kestrel trivial GET, requests/s (64 concurrent, same box) | {kestrel:N0} |");

        await using var postgres = await LocalPostgresServer.StartThrowawayAsync();
        await postgres.CreateDatabaseAsync("bench");
        var connectionString = postgres.ConnectionString("bench");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var port = LocalPostgresServer.FreePort();
        await using var app = await StartSystemAsync(connectionString, port, Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()));
        using var http = ApiBench.Client(port, 64);

        // Bodies for up to CeilingEventsPerSecond over warm-up and the timed phase, signed before the clock starts as
        // SendGrid would have them; the sends they name exist before the first call.
        var warmCalls = (int)Math.Ceiling(CeilingEventsPerSecond * WarmUp.TotalSeconds / BatchSize);
        var calls = (int)Math.Ceiling(CeilingEventsPerSecond * duration.TotalSeconds / BatchSize);
        var sends = await SeedSendsAsync(connectionString, (warmCalls + calls) * SendsPerBatch);
        var bodies = Sign(key, Bodies(sends));
        Console.Error.WriteLine($"seeded {sends.Count:N0} sends, {bodies.Count:N0} signed batches");

        await PostAsync(http, WarmUp, bodies.GetRange(0, warmCalls));
        var cpu = CpuMeter.Start(postgres.DataDirectory);
        var (events, recorded, perSecond, p50, p99) = await PostAsync(http, duration, bodies.GetRange(warmCalls, calls));
        Console.WriteLine($"| POST /webhooks/sendgrid ({BatchSize:N0} signed events/call, {Clients} clients), processed + delivered of real sends: events/s | {perSecond:N0} (p50 {p50:N0} ms, p99 {p99:N0} ms per call; {events:N0} events, {recorded:N0} recorded) |");
        Console.WriteLine($"| POST /webhooks/sendgrid: CPU per event | {cpu.PerItem(events)} |");

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var check = new NpgsqlCommand("SELECT count(*) FROM email_sends WHERE status = 'delivered'", connection);
        Console.Error.WriteLine($"sends delivered: {(long)(await check.ExecuteScalarAsync())!:N0}");
    }

    private static async Task<(long Events, long Recorded, double PerSecond, double P50, double P99)> PostAsync(
        HttpClient http, TimeSpan duration, List<(byte[] Body, string Timestamp, string Signature)> bodies)
    {
        long events = 0, recorded = 0, next = -1;
        var latencies = new List<double>();
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            while (stopwatch.Elapsed < duration && Interlocked.Increment(ref next) is var index && index < bodies.Count)
            {
                var (body, timestamp, signature) = bodies[(int)index];
                using var request = new HttpRequestMessage(HttpMethod.Post, "/webhooks/sendgrid") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Add(SendGridSignatureVerifier.TimestampHeader, timestamp);
                request.Headers.Add(SendGridSignatureVerifier.SignatureHeader, signature);
                var call = Stopwatch.StartNew();
                using var response = await http.SendAsync(request);
                response.EnsureSuccessStatusCode();
                using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync());
                var answer = document.RootElement;
                lock (latencies)
                {
                    latencies.Add(call.Elapsed.TotalMilliseconds);
                }

                Interlocked.Add(ref events, answer.GetProperty("received").GetInt32());
                Interlocked.Add(ref recorded, answer.GetProperty("recorded").GetInt32());
            }
        }));
        var total = stopwatch.Elapsed.TotalSeconds;
        if (next >= bodies.Count)
        {
            Console.WriteLine($"note: all {bodies.Count:N0} prepared batches were sent before {duration.TotalSeconds:N0} s; the rate covers {total:N1} s");
        }

        latencies.Sort();
        return (events, recorded, events / total, ApiBench.Percentile(latencies, 0.50), ApiBench.Percentile(latencies, 0.99));
    }

    private static List<byte[]> Bodies(List<(Guid Id, string Key)> sends)
    {
        var at = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var bodies = new List<byte[]>();
        for (var start = 0; start + SendsPerBatch <= sends.Count; start += SendsPerBatch)
        {
            var events = sends.GetRange(start, SendsPerBatch).SelectMany(s => new[] { "processed", "delivered" }.Select(kind => new Dictionary<string, object>
            {
                ["email"] = "recipient@bench.example",
                ["timestamp"] = at,
                ["event"] = kind,
                ["sg_event_id"] = Guid.NewGuid().ToString("N"),
                ["sg_message_id"] = "bench-message.filter0001",
                ["smtp-id"] = "<bench@sender.example>",
                ["response"] = kind == "delivered" ? "250 2.0.0 OK" : "",
                ["send_id"] = s.Id.ToString("N"),
                ["send_key"] = s.Key,
            }));
            bodies.Add(JsonSerializer.SerializeToUtf8Bytes(events));
        }

        return bodies;
    }

    private static List<(byte[] Body, string Timestamp, string Signature)> Sign(ECDsa key, List<byte[]> bodies)
    {
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return bodies.Select(b => (b, timestamp, SendGridSignatureVerifier.Sign(key, timestamp, b))).ToList();
    }

    internal static async Task<List<(Guid Id, string Key)>> SeedSendsAsync(string connectionString, int count)
    {
        var organization = Guid.NewGuid();
        var workflow = Guid.NewGuid();
        var sends = Enumerable.Range(0, count).Select(i => (Id: Guid.CreateVersion7(), Key: $"journey-{i}:welcome:1")).ToList();
        var contacts = sends.Select(_ => Guid.CreateVersion7()).ToArray();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await Execute(connection, "INSERT INTO organizations (id, name) VALUES ($1, 'Bench')", organization);
        await Execute(connection, """
            INSERT INTO contacts (id, organization_id, email)
            SELECT c, $1, 'r' || n || '@bench.example' FROM unnest($2::uuid[]) WITH ORDINALITY AS u(c, n)
            """, organization, contacts);
        await Execute(connection, """
            INSERT INTO email_sends (id, organization_id, send_key, contact_id, workflow_id, journey_id, step_id, email, subject, provider, status, sent_at)
            SELECT s, $1, k, c, $2, 'journey-' || n, 'welcome', 'r' || n || '@bench.example', 'Welcome', 'sendgrid', 'sent', now()
            FROM unnest($3::uuid[], $4::text[], $5::uuid[]) WITH ORDINALITY AS u(s, k, c, n)
            """, organization, workflow, sends.Select(s => s.Id).ToArray(), sends.Select(s => s.Key).ToArray(), contacts);
        await Execute(connection, "INSERT INTO send_keys (send_key, send_id, created_at) SELECT send_key, id, created_at FROM email_sends");
        await Execute(connection, "ANALYZE");
        return sends;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 300 };
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<WebApplication> StartSystemAsync(string connectionString, int port, string publicKey)
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
            ["Automator:Orleans:ClusterId"] = "bench-webhooks",
            ["Automator:Orleans:ServiceId"] = "bench-webhooks",
            ["Automator:PublicBaseUrl"] = "https://mail.bench.test",
            ["Automator:Providers:SendGrid:WebhookPublicKey"] = publicKey,
            ["Automator:Outbox:Path"] = Path.Combine(Path.GetTempPath(), "automator-bench-outbox"),
            ["Automator:RateLimits:Enabled"] = "false",
        });
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await builder.AddAutomatorSiloAsync();
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return app;
    }
}
