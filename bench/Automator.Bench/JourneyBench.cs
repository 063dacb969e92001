using System.Diagnostics;
using System.Globalization;
using Automator.Contacts;
using Automator.Infrastructure.Database;
using Automator.Silo;
using Automator.Workflows;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Automator.Bench;

/// <summary>
/// Journey engine figures on this machine, silo and PostgreSQL on the same box: journey starts per second, silo memory per
/// waiting journey, wake-up lateness for journeys due in the same minute, and the PostgreSQL upsert baseline.
/// Options: <c>--starts N</c> (default 20000), <c>--waiting N</c> (default 100000), <c>--wakes N</c> (default 10000),
/// <c>--concurrency N</c> (default 256); a count of 0 skips that part.
/// </summary>
public static class JourneyBench
{
    public static async Task RunAsync(string[] args)
    {
        var starts = Option(args, "--starts", 20_000);
        var waiting = Option(args, "--waiting", 100_000);
        var wakes = Option(args, "--wakes", 10_000);
        var concurrency = Option(args, "--concurrency", 256);

        await using var server = await LocalPostgresServer.StartThrowawayAsync();
        await server.CreateDatabaseAsync("bench");
        // The Npgsql settings the issue measured at about twice the default grain-state write rate.
        var connectionString = server.ConnectionString("bench") + ";No Reset On Close=true;Max Auto Prepare=20;Maximum Pool Size=64";
        Console.WriteLine($"| Setting | starts={starts}, waiting={waiting}, wakes={wakes}, concurrency={concurrency}, cores={Environment.ProcessorCount} |");

        var (single, batched) = await PostgresBaseline.MeasureAsync(connectionString, TimeSpan.FromSeconds(5));
        Console.WriteLine($"| PostgreSQL single-row upserts/s (8 connections) | {single:N0} |");
        Console.WriteLine($"| PostgreSQL rows/s in 100-row upserts (8 connections) | {batched:N0} |");

        var app = await StartSiloAsync(connectionString);
        try
        {
            var grains = app.Services.GetRequiredService<IGrainFactory>();
            if (starts > 0)
            {
                await MeasureStartsAsync(grains, connectionString, starts, concurrency);
            }

            if (waiting > 0)
            {
                await MeasureWaitingAsync(grains, waiting, concurrency);
            }

            if (wakes > 0)
            {
                await MeasureWakesAsync(grains, connectionString, wakes, concurrency);
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Starts: event accepted by the contact grain -> journey persisted -> first step (a send) done.</summary>
    private static async Task MeasureStartsAsync(IGrainFactory grains, string connectionString, int starts, int concurrency)
    {
        var organizationId = Guid.NewGuid();
        await CreateWorkflowAsync(grains, organizationId, "start", """
            [ { "id": "hello", "type": "send", "templateId": "t", "next": "later" }, { "id": "later", "type": "delay", "duration": "P7D" } ]
            """);
        await DriveAsync(grains, organizationId, "start", 500, concurrency);
        await WaitForSendsAsync(connectionString, organizationId, 500);
        var before = await CountSendsAsync(connectionString, organizationId);
        var clock = Stopwatch.StartNew();
        await DriveAsync(grains, organizationId, "start", starts, concurrency);
        var accepted = clock.Elapsed;
        await WaitForSendsAsync(connectionString, organizationId, before + starts);
        var done = clock.Elapsed;
        Console.WriteLine($"| Journey starts/s (event -> journey persisted -> first send recorded), {starts:N0} contacts | {starts / done.TotalSeconds:N0} |");
        Console.WriteLine($"| Events accepted/s by contact grains during the start run | {starts / accepted.TotalSeconds:N0} |");

    }

    /// <summary>
    /// Memory per waiting journey: journeys waiting on a 7-day delay, deactivated, their due time in the wake index.
    /// Measured once the contact grains that routed the events have been collected (they are idle after routing).
    /// </summary>
    private static async Task MeasureWaitingAsync(IGrainFactory grains, int waiting, int concurrency)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetBefore = Process.GetCurrentProcess().WorkingSet64;
        var waitOrg = Guid.NewGuid();
        await CreateWorkflowAsync(grains, waitOrg, "wait", """[ { "id": "later", "type": "delay", "duration": "P7D", "next": "mail" }, { "id": "mail", "type": "send", "templateId": "t" } ]""");
        var clock = Stopwatch.StartNew();
        await DriveAsync(grains, waitOrg, "wait", waiting, concurrency);
        var waitingStarted = clock.Elapsed;
        var activations = await WaitForIdleCollectionAsync(grains, waiting / 100, TimeSpan.FromMinutes(4));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetAfter = Process.GetCurrentProcess().WorkingSet64;
        Console.WriteLine($"| Waiting journeys started ({waiting:N0}) at | {waiting / waitingStarted.TotalSeconds:N0}/s |");
        Console.WriteLine($"| Silo managed heap per waiting journey ({waiting:N0} waiting) | {(heapAfter - heapBefore) / (double)waiting:N0} bytes |");
        Console.WriteLine($"| Silo working set per waiting journey ({waiting:N0} waiting) | {(workingSetAfter - workingSetBefore) / (double)waiting:N0} bytes |");
        Console.WriteLine($"| Silo working set with {waiting:N0} waiting journeys | {workingSetAfter / 1024.0 / 1024.0:N0} MB |");
        Console.WriteLine($"| Grain activations left when measured (contacts, journeys) | {activations.Contacts:N0}, {activations.Journeys:N0} |");
    }

    /// <summary>
    /// Wake-up lateness: journeys due within the same minute, three minutes out (so they deactivate and only the wake
    /// shards wake them).
    /// </summary>
    private static async Task MeasureWakesAsync(IGrainFactory grains, string connectionString, int wakes, int concurrency)
    {
        var wakeOrg = Guid.NewGuid();
        await CreateWorkflowAsync(grains, wakeOrg, "due", """[ { "id": "until", "type": "waitUntil", "property": "due_at", "next": "mail" }, { "id": "mail", "type": "send", "templateId": "t" } ]""");
        var dueBase = DateTimeOffset.UtcNow.AddMinutes(3);
        var contacts = Enumerable.Range(0, wakes).Select(i => (Id: Guid.NewGuid(), Due: dueBase.AddMilliseconds(60_000.0 * i / wakes))).ToList();
        await Parallel.ForEachAsync(contacts, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (c, _) =>
        {
            var contact = grains.GetGrain<IContactGrain>(ContactKey.Of(wakeOrg, c.Id));
            await contact.UpdateProfileAsync(new ContactProfile { Email = $"{c.Id:N}@bench.test", PropertiesJson = $$"""{ "due_at": "{{c.Due.ToString("O", CultureInfo.InvariantCulture)}}" }""" });
            await contact.TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = "due", OccurredAt = DateTimeOffset.UtcNow });
        });
        var scheduledBy = DateTimeOffset.UtcNow;
        Console.WriteLine($"| Wake-up journeys scheduled ({wakes:N0}), due from {dueBase:HH:mm:ss} over one minute; scheduling finished at | {scheduledBy:HH:mm:ss} |");
        await WaitForSendsAsync(connectionString, wakeOrg, wakes, TimeSpan.FromMinutes(10));
        var lateness = await LatenessAsync(connectionString, wakeOrg, contacts.ToDictionary(c => c.Id, c => c.Due));
        Console.WriteLine($"| Wake-up lateness p50 ({wakes:N0} due in one minute, woken by the wake shards) | {lateness.P50:N0} ms |");
        Console.WriteLine($"| Wake-up lateness p99 | {lateness.P99:N0} ms |");
        Console.WriteLine($"| Wake-up lateness max | {lateness.Max:N0} ms |");
    }

    /// <summary>Waits until idle contact grains are collected (at most <paramref name="timeout"/>).</summary>
    private static async Task<(int Contacts, int Journeys)> WaitForIdleCollectionAsync(IGrainFactory grains, int contactsLeft, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
            var contacts = statistics.Where(s => s.GrainType.Contains("ContactGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
            var journeys = statistics.Where(s => s.GrainType.Contains("JourneyGrain", StringComparison.Ordinal)).Sum(s => s.ActivationCount);
            if (contacts <= contactsLeft || DateTime.UtcNow > deadline)
            {
                return (contacts, journeys);
            }

            await Task.Delay(TimeSpan.FromSeconds(2));
        }
    }

    private static async Task<WebApplication> StartSiloAsync(string connectionString)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["Automator:Hosting:WebApi"] = "false",
            ["Automator:Hosting:Dashboard"] = "false",
            ["Automator:Journeys:SendStep"] = "log",
            ["Automator:Orleans:SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Automator:Orleans:ClusterId"] = "bench",
            ["Automator:PublicBaseUrl"] = "https://mail.bench.test",
            ["Automator:Orleans:ServiceId"] = "bench",
            ["Automator:Encryption:Keys:bench"] = BenchKeys.ContactFields,
            ["Logging:LogLevel:Default"] = "Error",
            // Contacts only route the events here: collect them soon after, so the memory measured is the waiting journeys'.
            ["Automator:Journeys:ContactCollectionAge"] = "00:00:30",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await builder.AddAutomatorSiloAsync();
        builder.Services.Configure<Orleans.Configuration.GrainCollectionOptions>(o => o.CollectionQuantum = TimeSpan.FromSeconds(10));
        var app = builder.Build();
        await app.UseAutomatorSiloAsync();
        await app.StartAsync();
        return app;
    }

    private static async Task<Guid> CreateWorkflowAsync(IGrainFactory grains, Guid organizationId, string eventName, string steps)
    {
        var id = Guid.NewGuid();
        var start = System.Text.Json.Nodes.JsonNode.Parse(steps)![0]!["id"]!.GetValue<string>();
        var json = $$"""{ "name": "bench {{eventName}}", "trigger": { "type": "event", "event": "{{eventName}}" }, "start": "{{start}}", "steps": {{steps}} }""";
        var definition = WorkflowJson.ParseValid(json);
        var grain = grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, id));
        await grain.CreateAsync(WorkflowJson.Serialize(definition), "event", definition.Name);
        await grain.ActivateAsync(null);
        return id;
    }

    private static Task DriveAsync(IGrainFactory grains, Guid organizationId, string eventName, int count, int concurrency) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (_, _) =>
        {
            var contactId = Guid.NewGuid();
            await grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId))
                .TrackAsync(new ContactEvent { Id = Guid.NewGuid(), Name = eventName, Email = $"{contactId:N}@bench.test", OccurredAt = DateTimeOffset.UtcNow });
        });

    private static async Task<long> CountSendsAsync(string connectionString, Guid organizationId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM journey_sends WHERE organization_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitForSendsAsync(string connectionString, Guid organizationId, long count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(10));
        while (await CountSendsAsync(connectionString, organizationId) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Only {await CountSendsAsync(connectionString, organizationId)} of {count} sends recorded.");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<(double P50, double P99, double Max)> LatenessAsync(string connectionString, Guid organizationId, Dictionary<Guid, DateTimeOffset> due)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT journey_id, first_at FROM journey_sends WHERE organization_id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        var lateness = new List<double>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var contactId = Guid.ParseExact(reader.GetString(0).Split('-')[1], "N");
            var sentAt = new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(1), DateTimeKind.Utc));
            lateness.Add((sentAt - due[contactId]).TotalMilliseconds);
        }

        lateness.Sort();
        double Percentile(double p) => lateness[Math.Clamp((int)Math.Ceiling(p * lateness.Count) - 1, 0, lateness.Count - 1)];
        return (Percentile(0.50), Percentile(0.99), lateness[^1]);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
