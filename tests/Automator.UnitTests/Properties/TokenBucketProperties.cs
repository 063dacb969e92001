using Automator.Delivery;
using CsCheck;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Properties;

/// <summary>
/// The token bucket against any sequence of lease requests, throttles and returns at generated times, on a fake clock:
/// the slots it hands out never exceed the configured rate plus the burst in any window, and never the day's cap.
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

    /// <summary>Runs the scenario; returns every granted slot and, per UTC day, the slots granted minus those returned.</summary>
    private static (List<DateTimeOffset> Slots, Dictionary<DateOnly, long> PerDay) Run(Scenario s)
    {
        var time = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(new TokenBucketOptions
        {
            RatePerSecond = s.Rate,
            Burst = s.Burst,
            LeaseLead = TimeSpan.FromMilliseconds(s.LeadMilliseconds),
            LeaseHorizon = TimeSpan.FromMilliseconds(s.HorizonMilliseconds),
            Headroom = s.Headroom,
            DailyQuota = s.Quota,
        }, time);
        var slots = new List<DateTimeOffset>();
        var perDay = new Dictionary<DateOnly, long>();
        var unreturned = 0;
        var leaseDay = DateOnly.MinValue;
        foreach (var step in s.Steps)
        {
            time.Advance(TimeSpan.FromMilliseconds(step.AdvanceMilliseconds));
            var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
            if (today != leaseDay)
            {
                // Returns are credited to the day they arrive on, so only same-day returns are modelled (the worker hands
                // unused slots back within its next report, well under a second after the lease).
                unreturned = 0;
            }
            switch (step.Kind)
            {
                case 0:
                    var lease = bucket.Lease(step.Amount);
                    for (var i = 0; i < lease.Count; i++)
                    {
                        slots.Add(lease.SlotOf(i));
                    }

                    perDay[today] = perDay.GetValueOrDefault(today) + lease.Count;
                    unreturned = lease.Count;
                    leaseDay = today;
                    break;
                case 1:
                    bucket.Throttle(step.Amount % 2 == 0 ? TimeSpan.FromMilliseconds(step.Amount) : null);
                    break;
                default:
                    // The worker hands back slots of its last lease it did not use (they were never sent).
                    var returned = Math.Min(unreturned, step.Amount);
                    bucket.Return(returned);
                    perDay[today] = perDay.GetValueOrDefault(today) - returned;
                    unreturned -= returned;
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
    public void No_utc_day_is_granted_more_than_its_quota()
    {
        ScenarioGen.Where(s => s.Quota is not null).Sample(s =>
        {
            var (_, perDay) = Run(s);
            Assert.All(perDay, day => Assert.InRange(day.Value, 0, s.Quota!.Value));
        }, iter: 1_000);
    }
}
