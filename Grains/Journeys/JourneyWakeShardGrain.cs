using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Automator.Infrastructure.Storage;
using Automator.Infrastructure.Time;

namespace Automator.Journeys;

/// <summary>
/// Wakes the waiting journeys of its slots. While active it polls the wake index on a grain timer and calls
/// <see cref="IJourneyGrain.WakeAsync"/> on what is due (or due within the lookahead: those arm their own timer for the
/// exact time), a bounded number at a time. Its one reminder brings it back on a surviving silo when its silo is lost;
/// each shard also keeps the next one active, so a lost shard returns as soon as the cluster notices the loss.
/// Journeys decide from their own state, so a repeated or early wake does nothing.
/// </summary>
public sealed class JourneyWakeShardGrain(
    IJourneyWakeIndex index,
    ProductClock time,
    IOptions<JourneyOptions> options,
    IOptions<ReminderOptions> reminderOptions,
    ILogger<JourneyWakeShardGrain> logger) : Grain, IJourneyWakeShardGrain, IRemindable
{
    private const string ReminderName = "wake-shard";
    private const int PollsPerNeighbourCheck = 20;
    private static readonly TimeSpan RedispatchAfter = TimeSpan.FromSeconds(10);
    private readonly JourneyOptions _options = options.Value;

    // Journeys this shard already woke for a given due time: not woken again for that time until RedispatchAfter.
    private readonly Dictionary<GrainId, (DateTimeOffset Due, DateTimeOffset RetryAfter)> _dispatched = [];
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
            foreach (var expired in _dispatched.Where(d => d.Value.RetryAfter <= now).Select(d => d.Key).ToList())
            {
                _dispatched.Remove(expired);
            }

            IReadOnlyList<DueJourney> due;
            try
            {
                due = await index.DueAsync(_slots, now + _options.WakeLookahead, _options.WakeBatch, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Wake shard {Shard} could not read the wake index; it tries again at the next poll.", _shard);
                return;
            }

            var wakes = due.Where(d => !(_dispatched.TryGetValue(d.Journey, out var seen) && seen.Due == d.DueAt)).ToList();
            foreach (var wake in wakes)
            {
                _dispatched[wake.Journey] = (wake.DueAt, (wake.DueAt > now ? wake.DueAt : now) + RedispatchAfter);
            }

            await WakeAllAsync(wakes);

            // A full page means more are due now: read on instead of waiting for the next tick.
            if (due.Count < _options.WakeBatch || wakes.Count == 0)
            {
                return;
            }
        }
    }

    private async Task WakeAllAsync(List<DueJourney> wakes)
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

    private async Task WakeAsync(DueJourney due)
    {
        try
        {
            await GrainFactory.GetGrain<IJourneyGrain>(due.Journey).WakeAsync();
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Waking journey {Journey} failed; it is woken again shortly.", due.Journey);
            _dispatched[due.Journey] = (due.DueAt, time.GetUtcNow() + (4 * _options.WakePollInterval));
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

        var next = GrainFactory.GetGrain<IJourneyWakeShardGrain>((_shard + 1) % _shards);
        next.StartAsync().ContinueWith(
            t => logger.LogDebug(t.Exception, "Wake shard {Shard} could not reach the next shard yet.", _shard),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Current);
    }
}

public static class JourneyWakeShardExtensions
{
    /// <summary>Every silo activates the wake shards when it starts, so wakes begin without waiting for a reminder tick.</summary>
    public static ISiloBuilder AddJourneyWakeShards(this ISiloBuilder silo) =>
        silo.AddStartupTask((services, cancellationToken) =>
        {
            var grains = services.GetRequiredService<IGrainFactory>();
            var shards = Math.Max(1, services.GetRequiredService<IOptions<JourneyOptions>>().Value.WakeShards);
            var logger = services.GetRequiredService<ILogger<JourneyWakeShardGrain>>();
            _ = Task.Run(async () =>
            {
                try
                {
                    await Task.WhenAll(Enumerable.Range(0, shards).Select(shard => grains.GetGrain<IJourneyWakeShardGrain>(shard).StartAsync()));
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Not every wake shard answered at start-up; their reminders bring them back.");
                }
            });
            return Task.CompletedTask;
        });
}
