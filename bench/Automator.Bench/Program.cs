namespace Automator.Bench;

/// <summary>Entry point of the benchmark: <c>dotnet run -c Release --project bench/Automator.Bench -- &lt;scenario&gt;</c>.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var scenarios = BenchScenarios.All;
        if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var run))
        {
            Console.Error.WriteLine($"usage: dotnet run -c Release --project bench/Automator.Bench -- <{string.Join('|', scenarios.Keys)}> [options]");
            return 2;
        }

        await run(args[1..]);
        return 0;
    }
}
