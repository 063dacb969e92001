using Automator.Infrastructure.Telemetry;

namespace Automator.IntegrationTests.Observability;

/// <summary>A class fixture: a real time-series server speaking the InfluxDB v2 write API, stopped after the class.</summary>
public sealed class VictoriaMetricsServer : IAsyncLifetime
{
    internal LocalVictoriaMetrics Server { get; private set; } = null!;

    public string Url => Server.Url;

    public async Task InitializeAsync()
    {
        Server = await LocalVictoriaMetrics.StartAsync();

        // test.sh stops every server listed here once the run ends, in case a killed test process never stopped it.
        if (Environment.GetEnvironmentVariable("AUTOMATOR_TEST_PROCESSES") is { Length: > 0 } registry)
        {
            await File.AppendAllLinesAsync(registry, [Server.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
