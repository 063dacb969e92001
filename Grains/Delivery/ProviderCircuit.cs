using Polly;
using Polly.CircuitBreaker;

namespace Automator.Delivery;

public sealed class CircuitOptions
{
    /// <summary>Share of provider-health failures (5xx, timeouts) in the sampling window that opens the circuit.</summary>
    public double FailureRatio { get; set; } = 0.5;

    public int MinimumThroughput { get; set; } = 5;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the circuit stays open before one probe is let through (half-open).</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}

public enum CircuitPosition
{
    Closed,
    Open,

    /// <summary>The break is over: one probe may go; its outcome closes or re-opens the circuit.</summary>
    HalfOpen,
}

/// <summary>
/// One provider account's circuit, on Polly's circuit breaker. Send outcomes happen in the sending workers and are
/// reported here afterwards, so each reported outcome is replayed through the breaker pipeline to let Polly keep the
/// health window and the open / half-open / closed transitions.
/// </summary>
public sealed class ProviderCircuit
{
    private readonly ResiliencePipeline<ProviderOutcome> _pipeline;
    private readonly CircuitBreakerStateProvider _state = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _breakDuration;
    private DateTimeOffset _openUntil;
    private DateTimeOffset? _probeIssuedAt;

    public ProviderCircuit(CircuitOptions options, TimeProvider time)
    {
        _time = time;
        _breakDuration = options.BreakDuration;
        _pipeline = new ResiliencePipelineBuilder<ProviderOutcome> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ProviderOutcome>
            {
                FailureRatio = options.FailureRatio,
                MinimumThroughput = options.MinimumThroughput,
                SamplingDuration = options.SamplingDuration,
                BreakDuration = options.BreakDuration,
                StateProvider = _state,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { CountsAgainstProvider: true } || args.Outcome.Exception is not null),
                OnOpened = args =>
                {
                    _openUntil = _time.GetUtcNow() + args.BreakDuration;
                    _probeIssuedAt = null;
                    Opened++;
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    _probeIssuedAt = null;
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>How many times the circuit has opened.</summary>
    public int Opened { get; private set; }

    public CircuitPosition Position => _state.CircuitState switch
    {
        CircuitState.Closed => CircuitPosition.Closed,
        CircuitState.HalfOpen => CircuitPosition.HalfOpen,
        _ when _time.GetUtcNow() >= _openUntil => CircuitPosition.HalfOpen,
        _ => CircuitPosition.Open,
    };

    public TimeSpan RemainingBreak
    {
        get
        {
            var left = _openUntil - _time.GetUtcNow();
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>
    /// Half-open lets exactly one probe through at a time; a probe whose outcome never comes back is forgotten after
    /// a break duration so the provider is not stranded.
    /// </summary>
    public bool TryTakeProbe()
    {
        if (Position != CircuitPosition.HalfOpen)
        {
            return false;
        }

        var now = _time.GetUtcNow();
        if (_probeIssuedAt is { } issued && now - issued < _breakDuration)
        {
            return false;
        }

        _probeIssuedAt = now;
        return true;
    }

    /// <summary>A probe lease that came back unused (nothing was due after all): the next send may probe at once.</summary>
    public void ReturnProbe()
    {
        if (Position == CircuitPosition.HalfOpen)
        {
            _probeIssuedAt = null;
        }
    }

    /// <summary>Feeds one send outcome into the breaker. Throttling and permanent rejections say nothing about health.</summary>
    public void Record(ProviderOutcome outcome)
    {
        if (outcome.Kind is OutcomeKind.Throttled or OutcomeKind.Permanent)
        {
            // A permanent rejection proves the provider is up and answering: treat it as a success for the circuit.
            outcome = outcome with { Kind = OutcomeKind.Accepted };
        }

        try
        {
            _pipeline.Execute(static o => o, outcome);
        }
        catch (BrokenCircuitException)
        {
            // Outcomes of sends leased before the circuit opened arrive late; they change nothing now.
        }
    }
}
