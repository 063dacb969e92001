using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Automator.Infrastructure.Database;

/// <summary>
/// A PostgreSQL server started from the machine's own Debian binaries: used by the run script (data kept under
/// <c>.data/</c>) and by the test fixtures (a throwaway cluster in a temp directory).
/// </summary>
public sealed class LocalPostgresServer : IAsyncDisposable
{
    /// <summary>Extra server options (e.g. <c>-c shared_preload_libraries=pg_stat_statements</c>) for clusters started by this process.</summary>
    public const string ExtraOptionsVariable = "AUTOMATOR_PG_OPTIONS";

    public const string InstallHint = "sudo apt-get update && sudo apt-get install -y postgresql";
    private const string ServiceUser = "postgres";

    private readonly string _binDirectory;
    private readonly bool _deleteOnDispose;

    private LocalPostgresServer(string binDirectory, string dataDirectory, int port, bool deleteOnDispose)
    {
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
        _deleteOnDispose = deleteOnDispose;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = ServiceUser,
            Database = database,
            Pooling = true,
            MaxPoolSize = 100,
            NoResetOnClose = true,
            MaxAutoPrepare = 20,
        }.ConnectionString;

    /// <summary>Starts a new cluster in a fresh temp directory, deleted again on dispose.</summary>
    public static Task<LocalPostgresServer> StartThrowawayAsync(CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), "automator-pg-" + Guid.NewGuid().ToString("N")[..12]);
        return StartAsync(directory, FreePort(), deleteOnDispose: true, cancellationToken);
    }

    /// <summary>Starts (or re-attaches to) a cluster kept in <paramref name="dataDirectory"/> between runs.</summary>
    public static Task<LocalPostgresServer> StartPersistentAsync(string dataDirectory, int port, CancellationToken cancellationToken = default) =>
        StartAsync(Path.GetFullPath(dataDirectory), port, deleteOnDispose: false, cancellationToken);

    private static async Task<LocalPostgresServer> StartAsync(string root, int port, bool deleteOnDispose, CancellationToken cancellationToken)
    {
        var bin = FindBinDirectory();
        var data = Path.Combine(root, "pgdata");
        var server = new LocalPostgresServer(bin, data, port, deleteOnDispose);
        Directory.CreateDirectory(root);
        GrantToServiceUser(root);

        if (!File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            await server.RunAsync("initdb", ["-D", data, "-A", "trust", "-U", ServiceUser, "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"], cancellationToken);
        }

        if (await server.IsRunningAsync(cancellationToken))
        {
            return server;
        }

        var log = Path.Combine(root, "postgres.log");
        var options = $"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=1000 -c shared_buffers=256MB {Environment.GetEnvironmentVariable(ExtraOptionsVariable)}";
        await server.RunAsync("pg_ctl", ["-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start"], cancellationToken);
        return server;
    }

    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", name);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name.Replace("\"", "", StringComparison.Ordinal)}\"", connection);
        await create.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task StopAsync()
    {
        if (Directory.Exists(DataDirectory))
        {
            await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", _deleteOnDispose ? "immediate" : "fast", "-w", "stop"], CancellationToken.None, throwOnError: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await StopAsync();
        if (_deleteOnDispose)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(DataDirectory)!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return false;
        }

        var status = await RunAsync("pg_ctl", ["-D", DataDirectory, "status"], cancellationToken, throwOnError: false);
        return status == 0;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindBinDirectory()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (dir: Path.Combine(d, "bin"), version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(c => File.Exists(Path.Combine(c.dir, "pg_ctl")))
                .OrderByDescending(c => c.version)
                .Select(c => c.dir)
            : [];
        var found = candidates.FirstOrDefault();
        if (found is not null)
        {
            return found;
        }

        foreach (var path in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (File.Exists(Path.Combine(path, "pg_ctl")) && File.Exists(Path.Combine(path, "initdb")))
            {
                return path;
            }
        }

        throw new InvalidOperationException(
            $"PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin or on PATH. Install them with: {InstallHint}");
    }

    internal static bool IsRoot => Environment.UserName == "root" || GetEffectiveUserId() == 0;

    private static uint GetEffectiveUserId()
    {
        try
        {
            var status = File.ReadAllLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            var parts = status?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            return parts is { Length: > 2 } && uint.TryParse(parts[2], out var uid) ? uid : uint.MaxValue;
        }
        catch (IOException)
        {
            return uint.MaxValue;
        }
    }

    private static void GrantToServiceUser(string directory)
    {
        if (!IsRoot || OperatingSystem.IsWindows())
        {
            return;
        }

        // initdb refuses to run as root: the cluster belongs to the postgres user, who must also be able to
        // reach the directory through its parents.
        Run("chown", ["-R", $"{ServiceUser}:{ServiceUser}", directory]);
        var parent = Path.GetDirectoryName(directory);
        while (!string.IsNullOrEmpty(parent) && parent != "/")
        {
            var mode = File.GetUnixFileMode(parent);
            if (!mode.HasFlag(UnixFileMode.OtherExecute))
            {
                File.SetUnixFileMode(parent, mode | UnixFileMode.OtherExecute);
            }

            parent = Path.GetDirectoryName(parent);
        }
    }

    private static void Run(string file, string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        process.WaitForExit();
    }

    private async Task<int> RunAsync(string tool, string[] arguments, CancellationToken cancellationToken, bool throwOnError = true)
    {
        var executable = Path.Combine(_binDirectory, tool);
        var start = IsRoot
            ? new ProcessStartInfo("runuser", ["-u", ServiceUser, "--", executable, .. arguments])
            : new ProcessStartInfo(executable, arguments);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = "/";
        using var process = new Process { StartInfo = start };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (throwOnError && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed with exit code {process.ExitCode}: {await stderr}{await stdout}");
        }

        return process.ExitCode;
    }
}
