using System.Diagnostics;
using System.Globalization;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Journeys;

/// <summary>A silo in a process of its own (the built Automator.Silo.dll), so that a test can kill it hard.</summary>
public sealed class ExternalSilo : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();

    private ExternalSilo(Process process, int httpPort)
    {
        _process = process;
        HttpPort = httpPort;
    }

    public int HttpPort { get; }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 40 && _output.TryDequeue(out _))
        {
        }
    }

    public static ExternalSilo Start(string connectionString, string clusterId, IDictionary<string, string>? extra = null)
    {
        var httpPort = LocalPostgresServer.FreePort();
        // setsid: a session of its own, so signals meant for the test host's process group do not reach the silo.
        var info = new ProcessStartInfo("setsid", ["dotnet", SiloAssemblyPath(), "--urls", $"http://127.0.0.1:{httpPort}"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(SiloAssemblyPath())!,
        };
        info.Environment["ConnectionStrings__Postgres"] = connectionString;
        info.Environment["Automator__Orleans__SiloPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture);
        info.Environment["Automator__Orleans__GatewayPort"] = LocalPostgresServer.FreePort().ToString(CultureInfo.InvariantCulture);
        info.Environment["Automator__Orleans__ClusterId"] = clusterId;
        info.Environment["Automator__Orleans__ServiceId"] = clusterId;
        info.Environment["Automator__Orleans__MinimumReminderPeriod"] = "00:00:05";
        info.Environment["Automator__Jwt__SigningKey"] = "integration-tests-signing-key-0123456789abcdef0123456789";
        info.Environment[$"Automator__Encryption__Keys__{AutomatorApp.EncryptionKeyId}"] = AutomatorApp.EncryptionKey;
        info.Environment["Automator__Encryption__ActiveKey"] = AutomatorApp.EncryptionKeyId;
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the silo process.");
        var silo = new ExternalSilo(process, httpPort);
        process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}") };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The silo process exited with {_process.ExitCode}:\n{string.Join('\n', _output)}");
            }

            try
            {
                if ((await client.GetAsync("/health/ready")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(250);
        }

        throw new TimeoutException("The silo process did not become ready.");
    }

    /// <summary>No graceful shutdown: the process and its children die now.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    public ValueTask DisposeAsync()
    {
        KillHard();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string SiloAssemblyPath()
    {
        var baseDirectory = AppContext.BaseDirectory;
        var configuration = baseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var directory = new DirectoryInfo(baseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Automator.sln")))
        {
            directory = directory.Parent;
        }

        var candidate = directory is null ? null : Path.Combine(directory.FullName, "Silo", "bin", configuration, "net10.0", "Automator.Silo.dll");
        return candidate is not null && File.Exists(candidate) ? candidate : Path.Combine(baseDirectory, "Automator.Silo.dll");
    }
}
