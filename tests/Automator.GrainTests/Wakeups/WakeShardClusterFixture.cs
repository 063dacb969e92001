using System.Collections.Concurrent;
using Automator.GrainTests.Infrastructure;
using Automator.Journeys;
using Automator.Wakeups;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Automator.GrainTests.Wakeups;

/// <summary>
/// A test cluster whose wake shards run, as on every production silo: started by the silo, polling every few
/// milliseconds of real time and reading the fake engine clock for "now", so advancing that clock is what makes a
/// wake-up due.
/// </summary>
public sealed class WakeShardClusterFixture : ClusterFixture
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public IWakeups Wakeups => SiloServices.GetRequiredService<IWakeups>();

    public WakeRecorder Woken => SiloServices.GetRequiredService<WakeRecorder>();

    protected override void Configure(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<ShardsConfigurator>();

    /// <summary>Waits (in real time, with a deadline) until the condition holds.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(PollInterval);
        }
    }

    private sealed class ShardsConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddWakeShards();
            siloBuilder.Services.AddSingleton<WakeRecorder>();
            siloBuilder.Services.Configure<JourneyOptions>(options => options.WakePollInterval = PollInterval);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class WakeShardClusterCollection : ICollectionFixture<WakeShardClusterFixture>
{
    public const string Name = "wake shards";
}

/// <summary>How often each <see cref="CountingWakeableGrain"/> was woken: a service of the silo, not shared between clusters.</summary>
public sealed class WakeRecorder
{
    private readonly ConcurrentDictionary<string, int> _wakes = new(StringComparer.Ordinal);

    public int Of(string key) => _wakes.GetValueOrDefault(key);

    public void Woken(string key) => _wakes.AddOrUpdate(key, 1, (_, n) => n + 1);
}

public interface ICountingWakeableGrain : IWakeableGrain, IGrainWithStringKey;

/// <summary>A grain that only counts its wakes: the wake-ups component seen from any grain that waits.</summary>
public sealed class CountingWakeableGrain(WakeRecorder recorder) : Grain, ICountingWakeableGrain
{
    public Task WakeAsync()
    {
        recorder.Woken(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }
}
