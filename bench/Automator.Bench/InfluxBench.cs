using System.Diagnostics;
using Automator.Infrastructure.Telemetry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>influx</c>: the InfluxDB sink's cost. First what telling a measurement costs the caller (one thread, a
/// buffer large enough that nothing is dropped); then points per second and CPU per point from the buffer through the
/// client's batching write API into a local VictoriaMetrics, counted as rows the server reports inserted.
/// Option: <c>--count N</c> (default 500,000).
/// </summary>
public static class InfluxBench
{
    public static async Task RunAsync(string[] args)
    {
        var index = Array.IndexOf(args, "--count");
        var count = index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], out var n) ? n : 500_000;
        var organization = Guid.NewGuid();
        var workflow = Guid.NewGuid();

        var warm = new InfluxMeasurements(20_000, TimeProvider.System);
        Tell(warm, 20_000, organization, workflow);
        var buffer = new InfluxMeasurements(count, TimeProvider.System);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var stopwatch = Stopwatch.StartNew();
        Tell(buffer, count, organization, workflow);
        stopwatch.Stop();
        Console.WriteLine($"| influx sink, telling a measurement: µs per point on the caller's thread (1 thread) | {stopwatch.Elapsed.TotalMicroseconds / count:N2} |");

        await using var server = await LocalVictoriaMetrics.StartAsync();
        var options = Options.Create(new InfluxOptions { Url = server.Url, Token = "bench", BatchSize = 5_000, FlushInterval = TimeSpan.FromMilliseconds(200) });
        var writer = new InfluxWriter(buffer, options, NullLogger<InfluxWriter>.Instance);
        cpu = Process.GetCurrentProcess().TotalProcessorTime;
        stopwatch.Restart();
        await writer.StartAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(5);
        long inserted;
        while ((inserted = await server.InfluxRowsInsertedAsync()) < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        stopwatch.Stop();
        var used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        await writer.StopAsync(CancellationToken.None);
        Console.WriteLine($"| influx sink, buffer to VictoriaMetrics: points/s (batches of 5,000) | {inserted / stopwatch.Elapsed.TotalSeconds:N0} |");
        Console.WriteLine($"| influx sink, buffer to VictoriaMetrics: app CPU µs per point (writer and client) | {used.TotalMicroseconds / Math.Max(1, inserted):N2} |");
        Console.WriteLine($"| influx sink: points inserted / told, dropped | {inserted:N0} / {count:N0}, {buffer.Dropped:N0} |");
    }

    private static void Tell(InfluxMeasurements buffer, int count, Guid organization, Guid workflow)
    {
        for (var i = 0; i < count; i++)
        {
            switch (i % 4)
            {
                case 0:
                    buffer.SendSettled(organization, "sendgrid", "sent");
                    break;
                case 1:
                    buffer.ProviderCalled("sendgrid", "accepted", TimeSpan.FromMilliseconds(40));
                    break;
                case 2:
                    buffer.JourneyMoved(organization, workflow, "welcome", "wait");
                    break;
                default:
                    buffer.Engaged(organization, workflow, "welcome", "opened");
                    break;
            }
        }
    }
}
