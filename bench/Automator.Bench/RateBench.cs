using System.Diagnostics;
using System.Globalization;
using Automator.Delivery;
using Automator.Infrastructure.Database;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.Bench;

/// <summary>
/// How exactly a provider account's rate limit is used: two silos of one cluster on a throwaway PostgreSQL (membership,
/// grain state and the send log), one <c>sendgrid</c> account limited to <c>--rate</c> per second, a backlog queued on
/// both silos with the provider paused, then released. The fake SendGrid notes when each request arrived whole; the
/// figures are its one-second windows: the steady-state rate (whole seconds after the first and before the last) against
/// the configured rate, and the busiest window, fixed (aligned to the first arrival) and sliding (starting at any
/// arrival). Options: <c>--rate N</c> (default 200), <c>--seconds N</c> (backlog length at that rate, default 20).
/// </summary>
public static class RateBench
{
    public static async Task RunAsync(string[] args)
    {
        var rate = DeliveryBench.Option(args, "--rate", 200);
        var seconds = DeliveryBench.Option(args, "--seconds", 20);
        var sends = rate * (seconds + 2);
        var loadBefore = LoadAverage();
        await using var fake = await DeliveryBench.FakeSendGrid.StartAsync();
        await using var server = await LocalPostgresServer.StartThrowawayAsync();
        await server.CreateDatabaseAsync("bench");
        var connectionString = server.ConnectionString("bench");
        var cluster = "rate-" + Guid.NewGuid().ToString("N")[..6];
        var settings = new Dictionary<string, string?>
        {
            ["Automator:Orleans:ClusterId"] = cluster,
            ["Automator:Orleans:ServiceId"] = cluster,
            ["Automator:Providers:SendGrid:RatePerSecond"] = rate.ToString(CultureInfo.InvariantCulture),
            ["Automator:Providers:SendGrid:Burst"] = "1",
            ["Automator:Providers:Timeout"] = "00:00:30",
        };
        var silos = new List<WebApplication>();
        try
        {
            silos.Add(await DeliveryBench.StartSiloAsync(fake.Url, connectionString, settings));
            silos.Add(await DeliveryBench.StartSiloAsync(fake.Url, connectionString, settings));
            var grains = silos.Select(s => s.Services.GetRequiredService<IGrainFactory>()).ToArray();
            await DeliveryBench.WaitForAsync(() => grains[0].GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).Result.Count == 2, TimeSpan.FromSeconds(60));
            DeliveryBench.Progress("two silos active");
            var organizationId = Guid.NewGuid();
            var templateId = Guid.NewGuid();
            await DeliveryBench.SeedAsync(silos[0].Services, connectionString, organizationId, templateId);

            // Warm both silos' paths (JIT, connections, worker activations); their requests are not counted.
            await Task.WhenAll(grains.Select((g, i) => DeliveryBench.SendManyAsync(g, organizationId, templateId, rate / 2, $"warm{i}")));
            await DeliveryBench.WaitForAsync(() => fake.Received >= rate / 2 * 2, TimeSpan.FromSeconds(60));

            // The backlog, half through each silo, queued while the provider is paused.
            var provider = grains[0].GetGrain<IProviderGrain>("sendgrid");
            await provider.PauseAsync();
            await Task.WhenAll(grains.Select((g, i) => DeliveryBench.SendManyAsync(g, organizationId, templateId, sends / 2, $"rate{i}")));
            fake.Reset();
            DeliveryBench.Progress($"{sends / 2 * 2} sends queued on two silos");
            await provider.ResumeAsync();
            await DeliveryBench.WaitForAsync(() => fake.Received >= sends / 2 * 2, TimeSpan.FromSeconds(seconds * 10 + 60));
            Report(fake.Arrivals, rate, loadBefore, LoadAverage());
        }
        finally
        {
            foreach (var silo in Enumerable.Reverse(silos))
            {
                await silo.StopAsync();
                await silo.DisposeAsync();
            }
        }
    }

    private static void Report(long[] stamps, int rate, string loadBefore, string loadAfter)
    {
        var arrivals = stamps.Order().Select(t => (t - stamps.Min()) / (double)Stopwatch.Frequency).ToArray();
        var total = arrivals[^1];
        var perSecond = arrivals.GroupBy(a => (int)a).OrderBy(g => g.Key).Select(g => g.Count()).ToArray();
        // Steady state: the whole seconds after the first one and before the last (partly filled) one.
        var steady = perSecond.Length > 3 ? perSecond[1..^1] : perSecond;
        var slidingMax = 0;
        for (int first = 0, end = 0; first < arrivals.Length; first++)
        {
            while (end < arrivals.Length && arrivals[end] - arrivals[first] < 1)
            {
                end++;
            }

            slidingMax = Math.Max(slidingMax, end - first);
        }

        var limit = Math.Floor(rate * 1.01);
        Console.WriteLine($"| Rate scenario | limit {rate}/s, two silos, PostgreSQL, {arrivals.Length:N0} requests over {total:F1} s; load average before {loadBefore}, after {loadAfter} |");
        Console.WriteLine($"| Steady state: mean of whole seconds 2..{perSecond.Length - 1} | {steady.Average():F1}/s ({steady.Average() / rate:P1} of the limit) |");
        Console.WriteLine($"| Steady state: lowest / highest of those seconds | {steady.Min()} / {steady.Max()} |");
        Console.WriteLine($"| Whole drain: (requests - 1) / (last - first arrival) | {(arrivals.Length - 1) / total:F1}/s ({(arrivals.Length - 1) / total / rate:P1}) |");
        Console.WriteLine($"| Busiest one-second window, fixed / sliding | {perSecond.Max()} / {slidingMax} (101% = {limit}) |");
        Console.WriteLine($"| Requests per second | {string.Join(' ', perSecond)} |");
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
