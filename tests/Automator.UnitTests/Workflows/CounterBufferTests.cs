using System.Collections.Concurrent;
using Automator.Journeys;
using Automator.Workflows;
using CsCheck;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Automator.UnitTests.Workflows;

public sealed class CounterBufferTests
{
    private static readonly Guid Organization = Guid.NewGuid();
    private static readonly Guid[] Workflows = [Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()];
    private static readonly string[] Names = ["entered", "passed", "sent", "opened"];

    /// <summary>Sums what reaches the workflow grains; the flush awaits it, so it sees each flush whole.</summary>
    private sealed class RecordingSink : ICounterSink
    {
        public ConcurrentDictionary<(Guid Workflow, string Counter), long> Applied { get; } = new();

        public int Calls;

        public Task ApplyAsync(Guid organizationId, Guid workflowId, Dictionary<string, long> deltas)
        {
            Interlocked.Increment(ref Calls);
            foreach (var (name, value) in deltas)
            {
                Applied.AddOrUpdate((workflowId, name), value, (_, v) => v + value);
            }

            return Task.CompletedTask;
        }
    }

    private static CounterBuffer Create(ICounterSink sink) =>
        new(sink, NullLogger<CounterBuffer>.Instance, Options.Create(new JourneyOptions { CounterFlushInterval = TimeSpan.FromHours(1) }));

    /// <summary>One adder's work: (workflow, counter, delta) in order.</summary>
    private static readonly Gen<(int Workflow, int Counter, int Delta)[]> Adder =
        Gen.Select(Gen.Int[0, Workflows.Length - 1], Gen.Int[0, Names.Length - 1], Gen.Int[1, 5]).Array[500, 3000];

    [Fact]
    public void Every_increment_added_while_flushes_run_concurrently_is_flushed_exactly_once()
    {
        Adder.Array[2, 4].Sample(adders =>
        {
            var sink = new RecordingSink();
            var buffer = Create(sink);
            using var start = new Barrier(adders.Length + 1);
            var done = 0;
            var threads = adders.Select(work => new Thread(() =>
            {
                start.SignalAndWait();
                foreach (var (workflow, counter, delta) in work)
                {
                    buffer.Add(Organization, Workflows[workflow], [new CounterDelta(Names[counter], null, null, delta)]);
                }

                Interlocked.Increment(ref done);
            })).ToArray();
            foreach (var thread in threads)
            {
                thread.Start();
            }

            start.SignalAndWait();
            while (Volatile.Read(ref done) < adders.Length)
            {
                buffer.FlushAsync().GetAwaiter().GetResult();
            }

            foreach (var thread in threads)
            {
                thread.Join();
            }

            buffer.FlushAsync().GetAwaiter().GetResult();

            var expected = adders.SelectMany(a => a)
                .GroupBy(a => (Workflows[a.Workflow], CounterBuffer.Key(Names[a.Counter], null, null)))
                .ToDictionary(g => g.Key, g => (long)g.Sum(a => a.Delta));
            Assert.Equal(expected.OrderBy(e => e.Key.Item1).ThenBy(e => e.Key.Item2), sink.Applied.OrderBy(e => e.Key.Workflow).ThenBy(e => e.Key.Counter).Select(e => KeyValuePair.Create((e.Key.Workflow, e.Key.Counter), e.Value)));
        }, iter: 40, threads: 1, print: adders => $"{adders.Length} adders, {adders.Sum(a => a.Length)} increments");
    }

    /// <summary>A silo lifecycle that records its observers, so a test can stop the silo as Orleans does.</summary>
    private sealed class RecordingLifecycle : Orleans.Runtime.ISiloLifecycle
    {
        public List<(int Stage, Orleans.ILifecycleObserver Observer)> Observers { get; } = [];

        public int HighestCompletedStage => Orleans.ServiceLifecycleStage.Active;

        public int LowestStoppedStage => int.MaxValue;

        public IDisposable Subscribe(string observerName, int stage, Orleans.ILifecycleObserver observer)
        {
            Observers.Add((stage, observer));
            return new CancellationTokenSource();
        }

        public async Task StopAsync()
        {
            foreach (var (_, observer) in Observers.OrderByDescending(o => o.Stage))
            {
                await observer.OnStop(CancellationToken.None);
            }
        }
    }

    [Fact]
    public async Task Stopping_the_silo_flushes_what_is_pending_before_grain_calls_stop()
    {
        var sink = new RecordingSink();
        var buffer = Create(sink);
        var lifecycle = new RecordingLifecycle();
        ((Orleans.ILifecycleParticipant<Orleans.Runtime.ISiloLifecycle>)buffer).Participate(lifecycle);
        buffer.Add(Organization, Workflows[0], [new CounterDelta("sent", "welcome", "a", 3), new CounterDelta("sent", "welcome", "a", 2)]);
        buffer.Add(Organization, Workflows[1], [new CounterDelta("entered", "start", null, 1)]);

        await lifecycle.StopAsync();

        // Subscribed at Active: the last stage started is the first stopped, while the runtime still answers grain calls.
        Assert.Equal(Orleans.ServiceLifecycleStage.Active, Assert.Single(lifecycle.Observers).Stage);
        Assert.Equal(5, sink.Applied[(Workflows[0], CounterBuffer.Key("sent", "welcome", "a"))]);
        Assert.Equal(1, sink.Applied[(Workflows[1], CounterBuffer.Key("entered", "start", null))]);
        Assert.Equal(2, sink.Calls);
    }

    private sealed class FailingOnceSink(RecordingSink inner) : ICounterSink
    {
        private int _failed;

        public Task ApplyAsync(Guid organizationId, Guid workflowId, Dictionary<string, long> deltas) =>
            Interlocked.Exchange(ref _failed, 1) == 0 ? Task.FromException(new TimeoutException()) : inner.ApplyAsync(organizationId, workflowId, deltas);
    }

    [Fact]
    public async Task A_failed_flush_keeps_its_changes_for_the_next_one()
    {
        var sink = new RecordingSink();
        var buffer = Create(new FailingOnceSink(sink));
        buffer.Add(Organization, Workflows[0], [new CounterDelta("sent", "welcome", null, 4)]);

        await buffer.FlushAsync();
        buffer.Add(Organization, Workflows[0], [new CounterDelta("sent", "welcome", null, 1)]);
        await buffer.FlushAsync();
        await buffer.FlushAsync();

        Assert.Equal(5, sink.Applied[(Workflows[0], CounterBuffer.Key("sent", "welcome", null))]);
        Assert.Equal(1, sink.Calls);
    }
}
