using Automator.Delivery;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Properties;

/// <summary>
/// The token bucket against any sequence of lease requests, throttles and returns at generated times, on a fake clock:
/// the slots it hands out never exceed the configured rate plus the burst in any window, and never the day's cap, even
/// when unused slots come back after UTC midnight; and a worker that asks on time gets the full configured rate.
/// </summary>
public sealed class TokenBucketProperties
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 23, 0, 0, TimeSpan.Zero);

    /// <summary>One thing that happens to the bucket: time passes, then a lease, a throttle (with or without a reset time) or a return.</summary>
    private sealed record Step(int AdvanceMilliseconds, int Kind, int Amount);

    private sealed record Scenario(double Rate, int Burst, int LeadMilliseconds, int HorizonMilliseconds, double Headroom, long? Quota, Step[] Steps);

    private static readonly Gen<Step> StepGen = Gen.Select(
        Gen.Frequency((6, Gen.Int[0, 50]), (3, Gen.Int[0, 2_000]), (1, Gen.Int[0, 3_600_000])),
        Gen.Frequency((8, Gen.Const(0)), (1, Gen.Const(1)), (1, Gen.Const(2))),
        Gen.Int[0, 400],
        (advance, kind, amount) => new Step(advance, kind, amount));

    private static readonly Gen<Scenario> ScenarioGen = Gen.Select(
        Gen.Frequency((3, Gen.Double[0.5, 50]), (3, Gen.Double[50, 2_000]), (1, Gen.Int[1, 500].Select(i => (double)i))),
        Gen.Int[1, 20],
        Gen.Int[0, 100],
        Gen.Int[1, 1_000],
        Gen.OneOf(Gen.Const(0.0), Gen.Const(0.03), Gen.Double[0, 0.2]),
        Gen.Frequency((1, Gen.Const((long?)null)), (1, Gen.Long[1, 2_000].Select(q => (long?)q))),
        StepGen.Array[1, 200],
        (rate, burst, lead, horizon, headroom, quota, steps) => new Scenario(rate, burst, lead, horizon, headroom, quota, steps));

    /// <summary>The generated pacing settings; everything else as a provider account gets it by default.</summary>
    private static TokenBucketOptions Options(double rate, int burst, int leadMilliseconds, int horizonMilliseconds) => new()
    {
        RatePerSecond = rate,
        Burst = burst,
        LeaseLead = TimeSpan.FromMilliseconds(leadMilliseconds),
        LeaseHorizon = TimeSpan.FromMilliseconds(horizonMilliseconds),
    };

    /// <summary>Runs the scenario; returns every granted slot and, per UTC day, the slots granted minus those returned.</summary>
    private static (List<DateTimeOffset> Slots, Dictionary<DateOnly, long> PerDay) Run(Scenario s)
    {
        var time = new FakeTimeProvider(Start);
        var options = Options(s.Rate, s.Burst, s.LeadMilliseconds, s.HorizonMilliseconds);
        options.Headroom = s.Headroom;
        options.DailyQuota = s.Quota;
        var bucket = new TokenBucket(options, time);
        var slots = new List<DateTimeOffset>();
        var perDay = new Dictionary<DateOnly, long>();
        // Leases whose unused slots may still come back, oldest first: a worker holds several at once and reports late.
        var outstanding = new Queue<(DateOnly Day, int Left)>();
        foreach (var step in s.Steps)
        {
            time.Advance(TimeSpan.FromMilliseconds(step.AdvanceMilliseconds));
            var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
            switch (step.Kind)
            {
                case 0:
                    var lease = bucket.Lease(step.Amount);
                    for (var i = 0; i < lease.Count; i++)
                    {
                        slots.Add(lease.SlotOf(i));
                    }

                    perDay[lease.Day] = perDay.GetValueOrDefault(lease.Day) + lease.Count;
                    if (lease.Count > 0)
                    {
                        outstanding.Enqueue((lease.Day, lease.Count));
                    }

                    break;
                case 1:
                    bucket.Throttle(step.Amount % 2 == 0 ? TimeSpan.FromMilliseconds(step.Amount) : null);
                    break;
                default:
                    // The worker hands back slots of its oldest outstanding lease it did not use (they were never sent),
                    // possibly after UTC midnight: they were counted against the lease's day, the day they are taken off.
                    if (outstanding.TryDequeue(out var held))
                    {
                        var returned = Math.Min(held.Left, step.Amount);
                        bucket.Return(returned, held.Day);
                        perDay[held.Day] = perDay.GetValueOrDefault(held.Day) - returned;
                    }

                    break;
            }
        }

        slots.Sort();
        return (slots, perDay);
    }

    [Fact]
    public void No_window_ever_holds_more_slots_than_the_rate_allows_plus_the_burst()
    {
        TimeSpan[] windows = [TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(1)];
        ScenarioGen.Sample(s =>
        {
            var (slots, _) = Run(s);
            foreach (var window in windows)
            {
                var allowed = (long)Math.Floor(window.TotalSeconds * s.Rate) + s.Burst;
                // The busiest window of this length starts at a slot: count the slots in [slot, slot + window).
                var end = 0;
                for (var start = 0; start < slots.Count; start++)
                {
                    while (end < slots.Count && slots[end] < slots[start] + window)
                    {
                        end++;
                    }

                    Assert.True(end - start <= allowed, $"{end - start} slots in the {window} from {slots[start]:O}; at most {allowed} allowed");
                }
            }
        }, iter: 1_000, print: s => $"{s} steps: [{string.Join(", ", s.Steps.Select(t => $"(+{t.AdvanceMilliseconds}ms {t.Kind} {t.Amount})"))}]");
    }

    [Fact]
    public void Returns_after_midnight_are_generated()
    {
        // The quota property below is only as good as its scenarios: make sure they cross midnight with slots in hand.
        var crossing = 0;
        ScenarioGen.Where(s => s.Quota is not null).Sample(s =>
        {
            if (ReturnsAfterMidnight(s))
            {
                Interlocked.Increment(ref crossing);
            }
        }, iter: 500);
        Assert.True(crossing > 0, "no generated scenario returns slots after midnight");
    }

    private static bool ReturnsAfterMidnight(Scenario s)
    {
        var t = Start;
        var leased = new Queue<DateOnly>();
        foreach (var step in s.Steps)
        {
            t = t.AddMilliseconds(step.AdvanceMilliseconds);
            if (step.Kind == 0 && step.Amount > 0)
            {
                leased.Enqueue(DateOnly.FromDateTime(t.UtcDateTime));
            }
            else if (step.Kind == 2 && leased.TryDequeue(out var day) && step.Amount > 0 && day != DateOnly.FromDateTime(t.UtcDateTime))
            {
                return true;
            }
        }

        return false;
    }

    [Fact]
    public void A_worker_asking_on_time_gets_the_full_configured_rate()
    {
        // Default settings (no reserve), any rate, burst, lead and horizon; the worker asks at least once per horizon with
        // more waiting than the rate allows. Every window of the steady part then holds the rate's share of slots.
        var gen = Gen.Select(
            Gen.Frequency((3, Gen.Double[0.5, 50]), (3, Gen.Double[50, 2_000]), (1, Gen.Int[1, 500].Select(i => (double)i))),
            Gen.Int[1, 20],
            Gen.Int[0, 100],
            Gen.Int[10, 1_000],
            Gen.Double[0.05, 1],
            Gen.Int[5, 30],
            (rate, burst, lead, horizon, askShare, seconds) => (Rate: rate, Burst: burst, Lead: lead, Horizon: horizon, Ask: Math.Max(1, (int)(horizon * askShare)), Seconds: seconds));
        gen.Sample(s =>
        {
            var time = new FakeTimeProvider(Start);
            var bucket = new TokenBucket(Options(s.Rate, s.Burst, s.Lead, s.Horizon), time);
            var slots = new List<DateTimeOffset>();
            var end = Start.AddSeconds(s.Seconds);
            while (time.GetUtcNow() < end)
            {
                var lease = bucket.Lease(100_000);
                slots.AddRange(Enumerable.Range(0, lease.Count).Select(lease.SlotOf));
                time.Advance(TimeSpan.FromMilliseconds(s.Ask));
            }

            // The steady part: after the first lease (and its burst), up to the last ask.
            var from = Start.AddMilliseconds(s.Lead + s.Horizon) + TimeSpan.FromSeconds(1 / s.Rate);
            var window = end - from - TimeSpan.FromMilliseconds(s.Ask);
            if (window <= TimeSpan.Zero)
            {
                return;
            }

            var granted = slots.Count(t => t >= from && t < from + window);
            var expected = (long)Math.Floor(window.TotalSeconds * s.Rate - 1e-9);
            Assert.True(granted >= expected, $"{granted} slots in the {window} from {from:O}; the rate allows {expected}");
        }, iter: 500, print: s => s.ToString());
    }

    [Fact]
    public void No_utc_day_is_granted_more_than_its_quota()
    {
        ScenarioGen.Where(s => s.Quota is not null).Sample(s =>
        {
            var (_, perDay) = Run(s);
            Assert.All(perDay, day => Assert.InRange(day.Value, 0, s.Quota!.Value));
        }, iter: 1_000);
    }
}
