using InfluxDB.Client;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// Drains <see cref="InfluxMeasurements"/> into the InfluxDB client's batching write API, which sends full batches (or
/// whatever waited a flush interval) in the background and retries a failed batch a few times before giving it up.
/// On shutdown what is buffered is handed over and flushed.
/// </summary>
public sealed class InfluxWriter(InfluxMeasurements measurements, IOptions<InfluxOptions> options, ILogger<InfluxWriter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var client = new InfluxDBClient(new InfluxDBClientOptions(settings.Url) { Token = settings.Token ?? "", Org = settings.Org, Bucket = settings.Bucket });
        using var writes = client.GetWriteApi(new WriteOptions
        {
            BatchSize = settings.BatchSize,
            FlushInterval = (int)settings.FlushInterval.TotalMilliseconds,
            MaxRetries = 3,
        });
        writes.EventHandler += (_, e) =>
        {
            if (e is WriteErrorEvent error)
            {
                logger.LogWarning(error.Exception, "Writing measurements to InfluxDB at {Url} failed; the batch is dropped.", settings.Url);
            }
        };

        try
        {
            await foreach (var point in measurements.Points.ReadAllAsync(stoppingToken))
            {
                writes.WritePoint(point.ToPoint(), settings.Bucket, settings.Org);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Measurements are never worth the host: stop writing, keep serving; the buffer fills and drops from here on.
            logger.LogError(ex, "The InfluxDB writer stopped; measurements are dropped from now on.");
            return;
        }

        while (measurements.Points.TryRead(out var point))
        {
            writes.WritePoint(point.ToPoint(), settings.Bucket, settings.Org);
        }

        // Disposing the write API flushes the batch in progress.
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        measurements.Complete();
        return base.StopAsync(cancellationToken);
    }
}
