using Automator.Delivery;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Delivery;

public sealed class FailoverPolicyTests
{
    private static readonly CircuitOptions Options = new()
    {
        FailureRatio = 0.5,
        MinimumThroughput = 4,
        SamplingDuration = TimeSpan.FromSeconds(10),
        BreakDuration = TimeSpan.FromSeconds(5),
    };

    private static (ProviderCircuit Circuit, FakeTimeProvider Time) Create()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 10, 0, 0, TimeSpan.Zero));
        return (new ProviderCircuit(Options, time), time);
    }

    [Fact]
    public void Repeated_5xx_open_the_circuit()
    {
        var (circuit, _) = Create();

        for (var i = 0; i < 4; i++)
        {
            circuit.Record(ProviderOutcome.Transient("HTTP 503", 503));
        }

        Assert.Equal(CircuitPosition.Open, circuit.Position);
        Assert.Equal(1, circuit.Opened);
    }

    [Fact]
    public void Repeated_timeouts_open_the_circuit()
    {
        var (circuit, _) = Create();

        for (var i = 0; i < 4; i++)
        {
            circuit.Record(ProviderOutcome.Ambiguous("timeout"));
        }

        Assert.Equal(CircuitPosition.Open, circuit.Position);
    }

    [Fact]
    public void Permanent_rejections_and_throttles_never_open_the_circuit()
    {
        var (circuit, _) = Create();

        for (var i = 0; i < 20; i++)
        {
            circuit.Record(ProviderOutcome.Permanent("HTTP 400", 400));
            circuit.Record(ProviderOutcome.Throttled(TimeSpan.FromSeconds(1)));
        }

        Assert.Equal(CircuitPosition.Closed, circuit.Position);
    }

    [Fact]
    public void Occasional_failures_below_the_ratio_keep_it_closed()
    {
        var (circuit, _) = Create();

        for (var i = 0; i < 20; i++)
        {
            circuit.Record(i % 4 == 0 ? ProviderOutcome.Transient("503") : ProviderOutcome.Accepted("id"));
        }

        Assert.Equal(CircuitPosition.Closed, circuit.Position);
    }

    [Fact]
    public void After_the_break_one_probe_is_allowed_and_its_success_closes_the_circuit()
    {
        var (circuit, time) = Create();
        OpenIt(circuit);

        var probeWhileOpen = circuit.TryTakeProbe();
        time.Advance(Options.BreakDuration);
        var position = circuit.Position;
        var probe = circuit.TryTakeProbe();
        var secondProbe = circuit.TryTakeProbe();
        circuit.Record(ProviderOutcome.Accepted("id"));

        Assert.False(probeWhileOpen);
        Assert.Equal(CircuitPosition.HalfOpen, position);
        Assert.True(probe);
        Assert.False(secondProbe);
        Assert.Equal(CircuitPosition.Closed, circuit.Position);
    }

    [Fact]
    public void A_probe_whose_outcome_never_comes_is_forgotten_after_one_break()
    {
        var (circuit, time) = Create();
        OpenIt(circuit);
        time.Advance(Options.BreakDuration);
        var first = circuit.TryTakeProbe();

        time.Advance(Options.BreakDuration / 2);
        var tooSoon = circuit.TryTakeProbe();
        time.Advance(Options.BreakDuration / 2);
        var again = circuit.TryTakeProbe();

        Assert.True(first);
        Assert.False(tooSoon);
        Assert.True(again);
    }

    [Fact]
    public void A_probe_handed_back_unused_can_be_taken_again_at_once()
    {
        var (circuit, time) = Create();
        OpenIt(circuit);
        time.Advance(Options.BreakDuration);
        circuit.TryTakeProbe();

        circuit.ReturnProbe();
        var again = circuit.TryTakeProbe();
        var third = circuit.TryTakeProbe();

        Assert.True(again);
        Assert.False(third);
        Assert.Equal(CircuitPosition.HalfOpen, circuit.Position);
    }

    [Fact]
    public void A_failed_probe_opens_the_circuit_again()
    {
        var (circuit, time) = Create();
        OpenIt(circuit);
        time.Advance(Options.BreakDuration);
        circuit.TryTakeProbe();

        circuit.Record(ProviderOutcome.Transient("503"));

        Assert.Equal(CircuitPosition.Open, circuit.Position);
        Assert.Equal(2, circuit.Opened);
        Assert.Equal(Options.BreakDuration, circuit.RemainingBreak);
    }

    [Fact]
    public void Healthy_primary_takes_all_traffic()
    {
        var routes = FailoverPolicy.Routes(new("sendgrid", CircuitPosition.Closed, false), new("ses", CircuitPosition.Closed, false));

        Assert.Equal([new Route("sendgrid", false)], routes);
    }

    [Fact]
    public void Open_primary_fails_over_to_the_secondary()
    {
        var routes = FailoverPolicy.Routes(new("sendgrid", CircuitPosition.Open, false), new("ses", CircuitPosition.Closed, false));

        Assert.Equal([new Route("ses", false)], routes);
    }

    [Fact]
    public void Half_open_primary_gets_a_probe_while_the_rest_stays_on_the_secondary()
    {
        var routes = FailoverPolicy.Routes(new("sendgrid", CircuitPosition.HalfOpen, false), new("ses", CircuitPosition.Closed, false));

        Assert.Equal([new Route("sendgrid", true), new Route("ses", false)], routes);
    }

    [Fact]
    public void Paused_primary_sends_through_the_secondary()
    {
        var routes = FailoverPolicy.Routes(new("sendgrid", CircuitPosition.Closed, true), new("ses", CircuitPosition.Closed, false));

        Assert.Equal([new Route("ses", false)], routes);
    }

    [Fact]
    public void Nothing_routable_when_both_are_down_or_there_is_no_secondary()
    {
        Assert.Empty(FailoverPolicy.Routes(new("sendgrid", CircuitPosition.Open, false), new("ses", CircuitPosition.Open, false)));
        Assert.Empty(FailoverPolicy.Routes(new("outbox", CircuitPosition.Closed, true), null));
    }

    [Fact]
    public void Both_half_open_probe_both()
    {
        var routes = FailoverPolicy.Routes(new("sendgrid", CircuitPosition.HalfOpen, false), new("ses", CircuitPosition.HalfOpen, false));

        Assert.Equal([new Route("sendgrid", true), new Route("ses", true)], routes);
    }

    [Theory]
    [InlineData(OutcomeKind.Accepted, 1, AmbiguousPolicy.AtMostOnce, SendDisposition.Done)]
    [InlineData(OutcomeKind.Permanent, 1, AmbiguousPolicy.AtMostOnce, SendDisposition.Fail)]
    [InlineData(OutcomeKind.Throttled, 9, AmbiguousPolicy.AtMostOnce, SendDisposition.Retry)]
    [InlineData(OutcomeKind.Transient, 1, AmbiguousPolicy.AtMostOnce, SendDisposition.Retry)]
    [InlineData(OutcomeKind.Transient, FailoverPolicy.MaxAttempts, AmbiguousPolicy.AtMostOnce, SendDisposition.Fail)]
    [InlineData(OutcomeKind.Ambiguous, 1, AmbiguousPolicy.AtMostOnce, SendDisposition.Unknown)]
    [InlineData(OutcomeKind.Ambiguous, 1, AmbiguousPolicy.AtLeastOnce, SendDisposition.Retry)]
    [InlineData(OutcomeKind.Ambiguous, FailoverPolicy.MaxAttempts, AmbiguousPolicy.AtLeastOnce, SendDisposition.Fail)]
    public void Outcome_decides_the_sends_fate(OutcomeKind kind, int attempts, AmbiguousPolicy policy, SendDisposition expected)
    {
        Assert.Equal(expected, FailoverPolicy.Decide(new ProviderOutcome(kind), attempts, policy));
    }

    [Fact]
    public void Retry_delay_follows_the_throttle_or_grows_with_attempts()
    {
        Assert.Equal(TimeSpan.FromSeconds(3), FailoverPolicy.RetryDelay(ProviderOutcome.Throttled(TimeSpan.FromSeconds(3)), 1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), FailoverPolicy.RetryDelay(ProviderOutcome.Transient("x"), 1));
        Assert.Equal(TimeSpan.FromMilliseconds(400), FailoverPolicy.RetryDelay(ProviderOutcome.Transient("x"), 3));
        Assert.Equal(TimeSpan.FromSeconds(5), FailoverPolicy.RetryDelay(ProviderOutcome.Transient("x"), 30));
    }

    private static void OpenIt(ProviderCircuit circuit)
    {
        for (var i = 0; i < 4; i++)
        {
            circuit.Record(ProviderOutcome.Transient("HTTP 503", 503));
        }
    }
}
