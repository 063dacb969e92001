using Automator.Live;
using Automator.Delivery.Providers;
using Automator.Delivery.SendLog;

namespace Automator.Delivery;

[GenerateSerializer, Alias("delivery.provider-state")]
public sealed class ProviderGrainState
{
    [Id(0)] public bool Paused { get; set; }
}

/// <inheritdoc cref="IProviderGrain"/>
public sealed class ProviderGrain(
    [PersistentState("provider")] IPersistentState<ProviderGrainState> state,
    DeliveryOptions options,
    TimeProvider time,
    ILiveEvents live,
    IProviderUsage usage) : Grain, IProviderGrain
{
    private TokenBucket _bucket = null!;
    private ProviderCircuit _circuit = null!;
    private SlidingCounter _sent = null!;
    private SlidingCounter _errors = null!;
    private DateTimeOffset _lastThrottle;
    private ProviderHealth? _published;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var name = this.GetPrimaryKeyString();
        _bucket = new TokenBucket(options.Account(name).ToBucketOptions(), time);
        _circuit = new ProviderCircuit(options.Circuit, time);
        _sent = new SlidingCounter(time);
        _errors = new SlidingCounter(time);
        if (_bucket.TodayLimit is not null)
        {
            // The day's quota and warm-up usage outlive this activation: the send log holds what was sent today. If it
            // cannot be read the activation fails and the worker's next lease tries again, rather than starting at zero.
            _bucket.AddUsedToday(await usage.CountSinceAsync(name, _bucket.TodayStart));
        }
    }

    public Task<ProviderLease> LeaseAsync(int requested, bool probe)
    {
        var circuit = Circuit();
        if (state.State.Paused)
        {
            return Task.FromResult(Refusal(TimeSpan.FromMilliseconds(500), circuit));
        }

        var position = _circuit.Position;
        if (position == CircuitPosition.Open)
        {
            return Task.FromResult(Refusal(_circuit.RemainingBreak, circuit));
        }

        if (position == CircuitPosition.HalfOpen)
        {
            if (!probe || !_circuit.TryTakeProbe())
            {
                return Task.FromResult(Refusal(TimeSpan.FromMilliseconds(250), circuit));
            }

            requested = 1;
        }

        var lease = _bucket.Lease(requested);
        return Task.FromResult(new ProviderLease
        {
            Count = lease.Count,
            FirstSlot = lease.FirstSlot,
            Interval = lease.Interval,
            RetryAfter = lease.RetryAfter,
            Circuit = circuit,
            Day = lease.Day,
        });
    }

    public Task ReportAsync(ProviderReport report)
    {
        foreach (var (day, unused) in report.UnusedByDay)
        {
            _bucket.Return(unused, day);
        }

        if (report.Unused > 0)
        {
            // Half-open grants only single probe leases, so a slot handed back now is a probe that sent nothing.
            _circuit.ReturnProbe();
        }

        long sent = 0, errors = 0;
        foreach (var kind in report.Outcomes.Select(k => (OutcomeKind)k))
        {
            _circuit.Record(new ProviderOutcome(kind));
            if (kind == OutcomeKind.Accepted)
            {
                sent++;
                _bucket.Accepted();
            }
            else
            {
                errors++;
            }
        }

        if (report.Throttled > 0)
        {
            _bucket.Throttle(report.ThrottleRetryAfter);
            _lastThrottle = time.GetUtcNow();
        }

        _sent.Add(sent);
        _errors.Add(errors);
        PublishHealth();
        return Task.CompletedTask;
    }

    /// <summary>Operators see a provider change state live (the provider is shared, so every organization does).</summary>
    private void PublishHealth()
    {
        var health = Health();
        if (health != _published)
        {
            _published = health;
            live.ProviderStateChanged(null, this.GetPrimaryKeyString(), health.ToString().ToLowerInvariant());
        }
    }

    public Task<ProviderStatus> GetStatusAsync() => Task.FromResult(new ProviderStatus
    {
        Name = this.GetPrimaryKeyString(),
        State = Health(),
        RatePerSecond = Math.Round(_bucket.CurrentRatePerSecond, 2),
        ConfiguredRatePerSecond = _bucket.ConfiguredRatePerSecond,
        SentLastMinute = _sent.LastMinute,
        ErrorsLastMinute = _errors.LastMinute,
        Circuit = Circuit(),
        DailyLimit = _bucket.TodayLimit,
        SentToday = _bucket.UsedToday,
    });

    public async Task PauseAsync()
    {
        if (!state.State.Paused)
        {
            state.State.Paused = true;
            await state.WriteStateAsync();
        }

        PublishHealth();
    }

    public async Task ResumeAsync()
    {
        if (state.State.Paused)
        {
            state.State.Paused = false;
            await state.WriteStateAsync();
        }

        PublishHealth();
    }

    private ProviderHealth Health()
    {
        if (state.State.Paused)
        {
            return ProviderHealth.Paused;
        }

        var position = _circuit.Position;
        if (position == CircuitPosition.Open)
        {
            return ProviderHealth.Open;
        }

        var recentlyThrottled = time.GetUtcNow() - _lastThrottle < TimeSpan.FromMinutes(1);
        return position == CircuitPosition.HalfOpen || _bucket.IsBlocked || recentlyThrottled || _bucket.CurrentRatePerSecond < _bucket.ConfiguredRatePerSecond
            ? ProviderHealth.Degraded
            : ProviderHealth.Healthy;
    }

    private ProviderCircuitState Circuit() => _circuit.Position switch
    {
        CircuitPosition.Open => ProviderCircuitState.Open,
        CircuitPosition.HalfOpen => ProviderCircuitState.HalfOpen,
        _ => ProviderCircuitState.Closed,
    };

    private ProviderLease Refusal(TimeSpan retryAfter, ProviderCircuitState circuit) => new()
    {
        Count = 0,
        FirstSlot = time.GetUtcNow(),
        RetryAfter = retryAfter,
        Circuit = circuit,
        Paused = state.State.Paused,
    };
}
