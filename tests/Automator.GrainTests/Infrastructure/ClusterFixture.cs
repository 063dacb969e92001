using Automator.Infrastructure.Storage;
using Automator.Infrastructure.Time;
using Automator.Workflows;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;

namespace Automator.GrainTests.Infrastructure;

/// <summary>
/// One in-process silo with memory storage and in-memory reminders, shared by the grain tests. The engine runs on a fake
/// clock (its <see cref="ProductClock"/>) that the tests advance; Orleans itself keeps the system clock, so its timers,
/// response timeouts and reminder service behave as in production.
/// </summary>
public class ClusterFixture : IAsyncLifetime
{
    // Monday 23 November 2026, 10:00 UTC.
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.GrainFactory;

    public IServiceProvider SiloServices => ((InProcessSiloHandle)Cluster.Primary!).SiloHost!.Services;

    /// <summary>This cluster's own fake engine clock (each silo gets a new one, so no two clusters share time).</summary>
    public FakeTimeProvider Time => (FakeTimeProvider)SiloServices.GetRequiredService<ProductClock>().Source;

    /// <summary>What this cluster's journeys asked delivery to send.</summary>
    public SendRecorder Sends => SiloServices.GetRequiredService<SendRecorder>();

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Configure(builder);
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>What a derived fixture adds to the silo.</summary>
    protected virtual void Configure(TestClusterBuilder builder)
    {
    }

    /// <summary>Flushes the silo's buffered counters so that stats are current.</summary>
    public Task FlushCountersAsync() => SiloServices.GetRequiredService<CounterBuffer>().FlushAsync();

    /// <summary>Moves the fake clock forward to the next Monday at 10:00 UTC (inside the example's send window).</summary>
    public void MoveToNextMonday10()
    {
        var now = Time.GetUtcNow();
        var target = new DateTimeOffset(now.Date, TimeSpan.Zero).AddHours(10);
        do
        {
            target = target.AddDays(1);
        }
        while (target.DayOfWeek != DayOfWeek.Monday);

        Time.SetUtcNow(target);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddMemoryGrainStorageAsDefault();
            siloBuilder.AddMemoryGrainStorage(BatchedGrainStorage.Name);
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.Services.AddSingleton(new ProductClock(new FakeTimeProvider(Start)));
            siloBuilder.Services.AddSingleton<SendRecorder>();
            siloBuilder.Services.AddSingleton<Automator.Journeys.ISendStep, RecordingSendStep>();
            siloBuilder.Services.AddAutomatorGrains(new ConfigurationBuilder().Build());
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
