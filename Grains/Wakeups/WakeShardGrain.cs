using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Automator.Infrastructure.Time;
using Automator.Journeys;

namespace Automator.Wakeups;

/// <summary>
/// The shard loop: wakes the grains due in its slots. While active it polls the wake index on a grain timer (on the silo's
/// clock, reading the engine's clock for "now") and calls <see cref="IWakeableGrain.WakeAsync"/> on what is due (or due
/// within the lookahead: journeys arm their own timer for the exact time), a bounded number at a time, each due time once
/// (<see cref="WakeDispatchLog"/>). Its one reminder brings it back on a surviving silo when its silo is lost; each shard
/// also keeps the next one active, so a lost shard returns as soon as the cluster notices the loss. Woken grains decide
/// from their own state, so a repeated or early wake does nothing.
/// </summary>
/// <remarks>The grain type keeps its first name, <c>journeywakeshard</c>: stored reminders name it.</remarks>
[GrainType("journeywakeshard")]
public sealed class WakeShardGrain(
    IWakeups index,
    ProductClock time,
    IOptions<JourneyOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    ILogger<WakeShardGrain> logger) : Grain, IWakeShardGrain, IRemindable
{
    private const string ReminderName = "wake-shard";
    private const int PollsPerNeighbourCheck = 20;
    private readonly JourneyOptions _options = options.Value;
    private readonly WakeDispatchLog _dispatched = new(WakeDispatchLog.DefaultRedispatchAfter);
    private short[] _slots = [];
    private int _shard;
    private int _shards;
    private int _polls;
    private bool _reminderRegistered;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _shard = (int)this.GetPrimaryKeyLong();
        _shards = Math.Max(1, _options.WakeShards);
        if (_shard >= _shards)
        {
            // The configured number of shards went down: this one has nothing to poll any more.
            if (await this.GetReminder(ReminderName) is { } stale)
            {
                await this.UnregisterReminder(stale);
            }

            this.DeactivateOnIdle();
            return;
        }

        _slots = WakeSlots.OwnedBy(_shard, _shards);
        this.RegisterGrainTimer(PollAsync, new GrainTimerCreationOptions(TimeSpan.Zero, _options.WakePollInterval) { KeepAlive = true });
        await EnsureReminderAsync();
    }

    public Task StartAsync() => Task.CompletedTask;

    // The activation is what matters: it starts the polling timer.
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    private async Task PollAsync(CancellationToken cancellationToken)
    {
        if (++_polls % PollsPerNeighbourCheck == 0)
        {
            await EnsureReminderAsync();
            KeepNeighbourActive();
        }

        while (!cancellationToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            IReadOnlyList<DueWakeup> due;
            try
            {
                due = await index.DueAsync(_slots, now + _options.WakeLookahead, _options.WakeBatch, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Wake shard {Shard} could not read the wake index; it tries again at the next poll.", _shard);
                return;
            }

            var wakes = _dispatched.Take(due, now);
            await WakeAllAsync(wakes);

            // A full page means more are due now: read on instead of waiting for the next tick.
            if (due.Count < _options.WakeBatch || wakes.Count == 0)
            {
                return;
            }
        }
    }

    private async Task WakeAllAsync(List<DueWakeup> wakes)
    {
        var running = new List<Task>(Math.Min(wakes.Count, _options.WakeConcurrency));
        foreach (var wake in wakes)
        {
            if (running.Count >= Math.Max(1, _options.WakeConcurrency))
            {
                running.Remove(await Task.WhenAny(running));
            }

            running.Add(WakeAsync(wake));
        }

        await Task.WhenAll(running);
    }

    private async Task WakeAsync(DueWakeup due)
    {
        try
        {
            await GrainFactory.GetGrain<IWakeableGrain>(due.Grain).WakeAsync();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Waking {Grain} failed; it is woken again shortly.", due.Grain);
            _dispatched.Failed(due, time.GetUtcNow() + (4 * _options.WakePollInterval));
        }
    }

    private async Task EnsureReminderAsync()
    {
        if (_reminderRegistered)
        {
            return;
        }

        try
        {
            if (await this.GetReminder(ReminderName) is null)
            {
                var period = reminderOptions.Value.MinimumReminderPeriod > TimeSpan.Zero ? reminderOptions.Value.MinimumReminderPeriod : TimeSpan.FromMinutes(1);
                await this.RegisterOrUpdateReminder(ReminderName, period, period);
            }

            _reminderRegistered = true;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Wake shard {Shard} could not register its reminder; it tries again.", _shard);
        }
    }

    private void KeepNeighbourActive()
    {
        if (_shards < 2)
        {
            return;
        }

        var next = GrainFactory.GetGrain<IWakeShardGrain>((_shard + 1) % _shards);
        next.StartAsync().ContinueWith(
            t => logger.LogDebug(t.Exception, "Wake shard {Shard} could not reach the next shard yet.", _shard),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Current);
    }
}

public static class WakeShardExtensions
{
    /// <summary>Every silo activates the wake shards when it starts, so wakes begin without waiting for a reminder tick.</summary>
    public static ISiloBuilder AddWakeShards(this ISiloBuilder silo) =>
        silo.AddStartupTask((services, cancellationToken) =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            var shards = Math.Max(1, services.GetRequiredService<IOptions<JourneyOptions>>().Value.WakeShards);
            var logger = services.GetRequiredService<ILogger<WakeShardGrain>>();
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.WhenAll(Enumerable.Range(0, shards).Select(shard => grains.GetGrain<IWakeShardGrain>(shard).StartAsync()));
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Not every wake shard answered at start-up; their reminders bring them back.");
                }
            });
            return Task.CompletedTask;
        });
}
