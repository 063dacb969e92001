using System.Diagnostics;
using System.Text.Json;
using Automator.Infrastructure.Database;

namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// A throwaway VictoriaMetrics server (Debian's <c>victoria-metrics</c> package) on a free loopback port with its own
/// temporary storage: it accepts the InfluxDB v2 write API, so the sink can be exercised against a real server by the
/// tests and the benchmark. Run as <c>nobody</c> when the caller is root; stopped and deleted on dispose.
/// </summary>
internal sealed class LocalVictoriaMetrics : IAsyncDisposable
{
    public const string InstallHint = "apt-get install -y victoria-metrics";
    private const string ServiceUser = "nobody";

    private readonly Process _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private LocalVictoriaMetrics(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Url = $"http://127.0.0.1:{port}";
        _http = new HttpClient { BaseAddress = new Uri(Url) };
    }

    public string Url { get; }

    /// <summary>The process started for the server (<c>runuser</c> when started as root, the server itself otherwise).</summary>
    public int ProcessId => _process.Id;

    public static async Task<LocalVictoriaMetrics> StartAsync(CancellationToken cancellationToken = default)
    {
        var binary = new[] { "/usr/bin/victoria-metrics", "/usr/local/bin/victoria-metrics" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"The victoria-metrics binary was not found. Install it with: {InstallHint}");
        var directory = Directory.CreateTempSubdirectory("automator-vm-").FullName;
        var port = LocalPostgresServer.FreePort();
        string[] arguments = [$"-httpListenAddr=127.0.0.1:{port}", $"-storageDataPath={directory}", "-loggerLevel=ERROR"];
        ProcessStartInfo start;
        if (LocalPostgresServer.IsRoot && !OperatingSystem.IsWindows())
        {
            using var chown = Process.Start(new ProcessStartInfo("chown", ["-R", $"{ServiceUser}:", directory]) { RedirectStandardError = true })!;
            await chown.WaitForExitAsync(cancellationToken);
            start = new ProcessStartInfo("runuser", ["-u", ServiceUser, "--", binary, .. arguments]);
        }
        else
        {
            start = new ProcessStartInfo(binary, arguments);
        }

        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = "/";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new LocalVictoriaMetrics(process, directory, port);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var health = await server._http.GetAsync("/health", cancellationToken);
                if (health.IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException) when (!process.HasExited && DateTime.UtcNow < deadline)
            {
            }

            if (process.HasExited || DateTime.UtcNow >= deadline)
            {
                server.Stop();
                throw new InvalidOperationException($"victoria-metrics did not start on port {port}.");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Makes what was just written visible to exports.</summary>
    public async Task FlushAsync()
    {
        using var response = await _http.GetAsync("/internal/force_flush");
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Every stored series matching a selector (e.g. <c>{__name__="sends_count"}</c>), with its labels and values.</summary>
    public async Task<IReadOnlyList<ExportedSeries>> ExportAsync(string selector)
    {
        await FlushAsync();
        using var response = await _http.PostAsync("/api/v1/export", new FormUrlEncodedContent([new("match[]", selector)]));
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsStringAsync();
        return body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            var labels = document.RootElement.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var values = document.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
            return new ExportedSeries(labels, values);
        }).ToList();
    }

    /// <summary>Rows the server has taken in over the InfluxDB line protocol since it started.</summary>
    public async Task<long> InfluxRowsInsertedAsync()
    {
        var metrics = await _http.GetStringAsync("/metrics");
        const string name = "vm_rows_inserted_total{type=\"influx\"} ";
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[name.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>One series read back from VictoriaMetrics: its labels (<c>__name__</c> included) and its values.</summary>
internal sealed record ExportedSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<double> Values);
