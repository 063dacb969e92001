using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Automator.Infrastructure.Database;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Deployment;

/// <summary>
/// The silo as the image runs it: <c>dotnet publish</c> output (made once per test run from the build's own output),
/// started from its folder as a process of its own, configured by environment variables only.
/// </summary>
public sealed class PublishedSilo : IAsyncDisposable
{
    private static readonly Lazy<Task<string>> Published = new(PublishAsync);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private PublishedSilo(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public string Output => string.Join('\n', _output);

    /// <summary>The publish folder: <c>dotnet publish --no-build</c> of the Silo project, reusing what the build compiled.</summary>
    public static Task<string> PublishFolderAsync() => Published.Value;

    public static async Task<PublishedSilo> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var folder = await PublishFolderAsync();
        var port = LocalPostgresServer.FreePort();
        var info = new ProcessStartInfo("dotnet", ["Automator.Silo.dll"])
        {
            WorkingDirectory = folder,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };

        // As the image sets it: an environment variable outranks appsettings.json's loopback-only "Urls".
        info.Environment["Urls"] = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the published silo.");
        var silo = new PublishedSilo(process, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
        process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public async Task WaitReadyAsync(HttpClient client, TimeSpan timeout)
    {
        try
        {
            await Eventually.WaitAsync(() => ReadyAsync(client), ready => ready, timeout, "the published silo's /health/ready");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Output}", e);
        }
    }

    private async Task<bool> ReadyAsync(HttpClient client)
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"The published silo exited with {_process.ExitCode}:\n{Output}");
        }

        try
        {
            return (await client.GetAsync("/health/ready")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod; returns the exit code of a graceful shutdown.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 60 && _output.TryDequeue(out _))
        {
        }
    }

    private static async Task<string> PublishAsync()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Automator.sln")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException("Automator.sln not found above " + AppContext.BaseDirectory);
        }

        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var folder = Path.Combine(Path.GetTempPath(), "automator-published-" + Guid.NewGuid().ToString("N")[..12]);
        var info = new ProcessStartInfo("dotnet", ["publish", Path.Combine(root.FullName, "Silo", "Silo.csproj"), "-c", configuration, "--no-build", "-o", folder, "-nologo", "-v", "quiet"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var publish = Process.Start(info) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var stdout = publish.StandardOutput.ReadToEndAsync();
        var stderr = publish.StandardError.ReadToEndAsync();
        await publish.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish failed ({publish.ExitCode}):\n{await stdout}\n{await stderr}");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return folder;
    }
}
