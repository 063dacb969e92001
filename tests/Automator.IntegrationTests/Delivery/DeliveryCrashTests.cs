using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Automator.Delivery;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;
using Automator.IntegrationTests.Journeys;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans.Configuration;

namespace Automator.IntegrationTests.Delivery;

/// <summary>Kills a silo hard in the middle of a large backlog; runs with the rate test, apart from the parallel tests.</summary>
[Collection(nameof(DeliveryRateTests))]
public sealed class DeliveryCrashTests
{
    private const int Sends = 5000;

    [Fact]
    public async Task A_silo_killed_hard_with_sends_in_flight_sends_each_key_at_most_once_reports_as_unknown_only_requests_that_had_started_and_never_mails_a_suppressed_address()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: new Dictionary<string, string?>
        {
            ["Automator:Providers:SendGrid:RatePerSecond"] = "250",
            ["Automator:Providers:Timeout"] = "00:00:30",
        });
        harness.SendGridAcceptsSlowly(50, 200);
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);

        // One in 50 addresses is suppressed, in each of the three ways.
        var suppressed = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Sends; i += 50)
        {
            var email = Address(i);
            suppressed.Add(email);
            switch (i / 50 % 3)
            {
                case 0: await harness.SeedContactAsync(org, email, status: "unsubscribed"); break;
                case 1: await harness.SeedContactAsync(org, email, status: "bounced"); break;
                default: await harness.SuppressAsync(org, email, "manual"); break;
            }
        }

        var victimGateway = LocalPostgresServer.FreePort();
        var extra = harness.Settings.Where(s => s.Value is not null).ToDictionary(s => s.Key.Replace(":", "__", StringComparison.Ordinal), s => s.Value!);
        extra["Automator__Orleans__GatewayPort"] = victimGateway.ToString(CultureInfo.InvariantCulture);
        await using var victim = ExternalSilo.Start(harness.ConnectionString!, harness.ClusterId, extra);
        await victim.WaitReadyAsync(TimeSpan.FromSeconds(120));
        await Eventually.WaitAsync(() => harness.Grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true), h => h.Count == 2, TimeSpan.FromSeconds(60), "both silos to be active");

        // Build the backlog on both silos with the provider paused: half the sends enter through the survivor, half
        // through a client of the victim's gateway (the front door and the worker are local to the silo they enter).
        var provider = harness.Grains.GetGrain<IProviderGrain>("sendgrid");
        await provider.PauseAsync();
        var receipts = new List<SendReceipt>();
        using (var victimClient = await ConnectAsync(victimGateway, harness.ClusterId))
        {
            var entrances = new[] { harness.Grains, victimClient.Services.GetRequiredService<IGrainFactory>() };
            using var gate = new SemaphoreSlim(64);
            receipts.AddRange(await Task.WhenAll(Enumerable.Range(0, Sends).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    return await harness.SendAsync(org, Guid.NewGuid(), Address(i), template, sendKey: $"crash:{i}", grains: entrances[i % 2]);
                }
                finally
                {
                    gate.Release();
                }
            })));
            await victimClient.StopAsync();
        }

        var survivorOwner = harness.Web.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
        var owners = await QueryAsync(harness, "SELECT owner, count(*) FROM email_sends WHERE organization_id = $1 AND status = 'queued' GROUP BY owner", r => (r.GetString(0), r.GetInt64(1)), org);
        var victimOwner = Assert.Single(owners, o => o.Item1 != survivorOwner).Item1;
        Assert.All(owners, o => Assert.InRange(o.Item2, 2000, 2500));

        using var interrupted = new InterruptedCounter(victimOwner);
        await provider.ResumeAsync();
        await Eventually.WaitAsync(() => Task.FromResult(ProviderKeys(harness).Count), n => n >= 1200, TimeSpan.FromSeconds(60), "the backlog to be draining");
        victim.KillHard();
        // A statement the victim had already sent may still commit; then its rows stay as they are until taken over.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var inFlightAtKill = await CountAsync(harness, "SELECT count(*) FROM email_sends WHERE owner = $1 AND status = 'sending'", victimOwner);
        var queuedAtKill = await QueryAsync(harness, "SELECT send_key FROM email_sends WHERE owner = $1 AND status = 'queued'", r => r.GetString(0), victimOwner);

        await Eventually.WaitAsync(
            () => CountAsync(harness, "SELECT count(*) FROM email_sends WHERE organization_id = $1 AND status IN ('queued', 'sending')", org),
            n => n == 0, TimeSpan.FromMinutes(3), "every send to be settled");
        var statuses = (await QueryAsync(harness, "SELECT send_key, status, owner FROM email_sends WHERE organization_id = $1", r => (Key: r.GetString(0), Status: r.GetString(1), Owner: r.IsDBNull(2) ? null : r.GetString(2)), org))
            .ToDictionary(r => r.Key);
        var atProvider = ProviderKeys(harness);
        var unknownThroughApi = await CountThroughApiAsync(harness, org);
        // Requests that started at the fake SendGrid but never arrived whole (their sender died, or gave up before the
        // body), and the unknown sends whose request did arrive whole.
        var startedNotArrived = harness.SendGridRequestsStarted - DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count;
        var unknownKeys = statuses.Values.Where(s => s.Status == "unknown").Select(s => s.Key).ToHashSet();
        var unknownArrived = atProvider.Count(p => unknownKeys.Contains(p.Key));

        Console.WriteLine($"crash: {inFlightAtKill} in flight and {queuedAtKill.Count} queued on the killed silo; {atProvider.Count} provider requests; " +
            $"{unknownKeys.Count} unknown, {interrupted.Total} counted; of the unknown {unknownArrived} reached the provider whole; " +
            $"{startedNotArrived} requests started without arriving whole");
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        Assert.Equal(Sends, statuses.Count);
        Assert.All(statuses.Values, s => Assert.Contains(s.Status, new[] { "sent", "unknown", "suppressed" }));

        // At most once: no key twice at the provider, and nothing reached it that is not sent or unknown.
        Assert.Equal(atProvider.Count, atProvider.Select(p => p.Key).Distinct().Count());
        Assert.All(atProvider, p => Assert.Contains(statuses[p.Key].Status, new[] { "sent", "unknown" }));
        Assert.All(statuses.Values.Where(s => s.Status == "sent"), s => Assert.Contains(s.Key, atProvider.Select(p => p.Key).ToHashSet()));

        // Suppressed addresses never reached the provider.
        Assert.Equal(suppressed.Count, statuses.Values.Count(s => s.Status == "suppressed"));
        Assert.DoesNotContain(atProvider, p => suppressed.Contains(p.To));

        // The sends in flight on the dead silo are the unknown ones, and they are reported: send log, API and metric agree.
        Assert.True(inFlightAtKill > 0, "the victim had no send in flight when it was killed");
        Assert.Equal(inFlightAtKill, statuses.Values.Count(s => s.Status == "unknown"));
        Assert.All(statuses.Values.Where(s => s.Status == "unknown"), s => Assert.Equal(victimOwner, s.Owner));
        Assert.Equal(inFlightAtKill, unknownThroughApi);
        Assert.Equal(inFlightAtKill, interrupted.Total);

        // Unknown means "the request may have arrived": each unknown send is in a request that started at the provider,
        // either one that arrived whole or one whose body never came.
        Assert.True(unknownKeys.Count <= unknownArrived + startedNotArrived,
            $"{unknownKeys.Count} unknown, but only {unknownArrived} of them reached the provider and {startedNotArrived} other requests started");

        // What was only queued on the dead silo was taken over by the survivor and sent, once.
        Assert.NotEmpty(queuedAtKill);
        Assert.All(queuedAtKill, key => Assert.Equal(("sent", survivorOwner), (statuses[key].Status, statuses[key].Owner)));
    }

    private static string Address(int i) => $"crash{i}@example.com";

    private static async Task<IHost> ConnectAsync(int gatewayPort, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleansClient(client => client
            .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, gatewayPort))
            .Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = clusterId;
            }));
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>Every send key the fake SendGrid received, with the address it was for (all personalizations of all requests).</summary>
    private static List<(string Key, string To)> ProviderKeys(DeliveryHarness harness)
    {
        var keys = new List<(string, string)>();
        foreach (var entry in DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath))
        {
            using var body = JsonDocument.Parse(entry.RequestMessage.Body!);
            foreach (var personalization in body.RootElement.GetProperty("personalizations").EnumerateArray())
            {
                keys.Add((personalization.GetProperty("custom_args").GetProperty("send_key").GetString()!, personalization.GetProperty("to")[0].GetProperty("email").GetString()!));
            }
        }

        return keys;
    }

    private static async Task<int> CountThroughApiAsync(DeliveryHarness harness, Guid org)
    {
        using var client = await harness.CreateKeyClientAsync(org, "sends:read");
        var count = 0;
        string? cursor = null;
        do
        {
            var page = await harness.GetJsonAsync(client, "/v1/sends?status=unknown&limit=500" + (cursor is null ? "" : "&cursor=" + cursor));
            count += page.GetProperty("items").GetArrayLength();
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        return count;
    }

    private static async Task<long> CountAsync(DeliveryHarness harness, string sql, object arg) =>
        (await QueryAsync(harness, sql, r => r.GetInt64(0), arg)).Single();

    private static async Task<List<T>> QueryAsync<T>(DeliveryHarness harness, string sql, Func<NpgsqlDataReader, T> read, object arg)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = arg });
        var rows = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Listens to the metric that reports sends settled unknown because their silo died.</summary>
    private sealed class InterruptedCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _total;

        public InterruptedCounter(string silo)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == AutomatorMeters.Name && instrument.Name == "automator.delivery.interrupted")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "silo" && Equals(tag.Value, silo))
                    {
                        Interlocked.Add(ref _total, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Total => Interlocked.Read(ref _total);

        public void Dispose() => _listener.Dispose();
    }
}
