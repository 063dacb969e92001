using System.Diagnostics;
using System.Globalization;

namespace Automator.Bench;

/// <summary>
/// CPU time spent by this process and by a local PostgreSQL server (postmaster, its live backends and the backends
/// that have exited) between start and <see cref="PerItem"/>. Linux only (reads /proc); elsewhere PostgreSQL shows 0.
/// </summary>
public sealed class CpuMeter
{
    private readonly string _dataDirectory;
    private readonly TimeSpan _process;
    private readonly double _postgres;
    private readonly TimeSpan _gcPauses = GC.GetTotalPauseDuration();
    private readonly int _gen2 = GC.CollectionCount(2);

    private CpuMeter(string dataDirectory)
    {
        _dataDirectory = dataDirectory;
        _process = Process.GetCurrentProcess().TotalProcessorTime;
        _postgres = PostgresSeconds(dataDirectory);
    }

    public static CpuMeter Start(string dataDirectory) => new(dataDirectory);

    public string PerItem(long items)
    {
        var process = (Process.GetCurrentProcess().TotalProcessorTime - _process).TotalSeconds;
        var postgres = PostgresSeconds(_dataDirectory) - _postgres;
        var each = (process + postgres) / Math.Max(1, items);
        return string.Create(CultureInfo.InvariantCulture,
            $"{process / Math.Max(1, items) * 1e6:N0} µs app (incl. load client) + {postgres / Math.Max(1, items) * 1e6:N0} µs PostgreSQL; {Environment.ProcessorCount} idle cores would allow ~{Environment.ProcessorCount / each:N0}/s; GC paused {(GC.GetTotalPauseDuration() - _gcPauses).TotalMilliseconds:N0} ms ({GC.CollectionCount(2) - _gen2} gen2)");
    }

    private static double PostgresSeconds(string dataDirectory)
    {
        try
        {
            var postmaster = int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
            var ticks = Ticks(postmaster, withExitedChildren: true);
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), out var pid) && pid != postmaster && ParentOf(pid) == postmaster)
                {
                    ticks += Ticks(pid, withExitedChildren: false);
                }
            }

            return ticks / 100.0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return 0;
        }
    }

    // /proc/<pid>/stat fields after the command: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17), in clock ticks (100/s).
    private static string[]? Fields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int ParentOf(int pid) => Fields(pid) is { } f ? int.Parse(f[1], CultureInfo.InvariantCulture) : -1;

    private static long Ticks(int pid, bool withExitedChildren)
    {
        if (Fields(pid) is not { } f)
        {
            return 0;
        }

        long Field(int number) => long.Parse(f[number - 3], CultureInfo.InvariantCulture);
        return Field(14) + Field(15) + (withExitedChildren ? Field(16) + Field(17) : 0);
    }
}
