using Automator.Delivery;
using Microsoft.Extensions.Time.Testing;

namespace Automator.UnitTests.Delivery;

public sealed class TokenBucketTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);

    private static (TokenBucket Bucket, FakeTimeProvider Time) Create(Action<TokenBucketOptions>? configure = null)
    {
        var options = new TokenBucketOptions { RatePerSecond = 100, Headroom = 0, LeaseLead = TimeSpan.Zero };
        configure?.Invoke(options);
        var time = new FakeTimeProvider(Start);
        return (new TokenBucket(options, time), time);
    }

    [Fact]
    public void A_lease_books_evenly_spaced_slots_within_the_horizon()
    {
        var (bucket, _) = Create();

        var lease = bucket.Lease(1000);

        Assert.Equal(26, lease.Count); // slots at 0, 10, ..., 250 ms
        Assert.Equal(Start, lease.FirstSlot);
        Assert.Equal(TimeSpan.FromMilliseconds(10), lease.Interval);
        Assert.Equal(Start.AddMilliseconds(250), lease.SlotOf(25));
    }

    [Fact]
    public void Slots_start_after_the_lead_so_the_worker_is_ready_before_the_first_one()
    {
        var (bucket, _) = Create(o => o.LeaseLead = TimeSpan.FromMilliseconds(50));

        var lease = bucket.Lease(1000);

        Assert.Equal(Start.AddMilliseconds(50), lease.FirstSlot);
        Assert.Equal(26, lease.Count);
    }

    [Fact]
    public void Consecutive_leases_continue_where_the_previous_one_ended()
    {
        var (bucket, _) = Create();

        var first = bucket.Lease(10);
        var second = bucket.Lease(10);

        Assert.Equal(10, first.Count);
        Assert.Equal(first.SlotOf(10), second.FirstSlot);
    }

    [Fact]
    public void Once_the_horizon_is_booked_nothing_more_is_granted_until_time_passes()
    {
        var (bucket, time) = Create();
        bucket.Lease(1000);

        var refused = bucket.Lease(5);
        time.Advance(TimeSpan.FromMilliseconds(100));
        var later = bucket.Lease(5);

        Assert.Equal(0, refused.Count);
        Assert.True(refused.RetryAfter > TimeSpan.Zero);
        Assert.Equal(5, later.Count);
    }

    [Fact]
    public void Over_any_long_run_the_granted_slots_never_exceed_the_rate()
    {
        var (bucket, time) = Create(o => o.RatePerSecond = 200);
        var slots = new List<DateTimeOffset>();
        for (var step = 0; step < 400; step++)
        {
            var lease = bucket.Lease(37);
            slots.AddRange(Enumerable.Range(0, lease.Count).Select(lease.SlotOf));
            time.Advance(TimeSpan.FromMilliseconds(25));
        }

        var maxInWindow = slots.Select((s, i) => slots.Skip(i).TakeWhile(t => t < s.AddSeconds(1)).Count()).Max();
        Assert.InRange(maxInWindow, 195, 200);
        Assert.InRange(slots.Count, 1900, 2100);
    }

    [Fact]
    public void Headroom_keeps_the_pace_just_under_the_configured_rate()
    {
        var (bucket, _) = Create(o => o.Headroom = 0.01);

        var lease = bucket.Lease(5);

        Assert.Equal(TimeSpan.FromSeconds(1 / 99.0).TotalMilliseconds, lease.Interval.TotalMilliseconds, 3);
    }

    [Fact]
    public void Burst_allows_several_slots_at_once_after_idle()
    {
        var (bucket, time) = Create(o => o.Burst = 5);
        time.Advance(TimeSpan.FromSeconds(10));

        var lease = bucket.Lease(5);

        Assert.Equal(5, lease.Count);
        Assert.Equal(time.GetUtcNow(), lease.FirstSlot);
    }

    [Fact]
    public void The_daily_quota_caps_grants_and_resets_at_utc_midnight()
    {
        var (bucket, time) = Create(o => o.DailyQuota = 30);

        var morning = bucket.Lease(20);
        time.Advance(TimeSpan.FromSeconds(1));
        var capped = bucket.Lease(20);
        var exhausted = bucket.Lease(20);
        time.Advance(TimeSpan.FromHours(14));
        var nextDay = bucket.Lease(20);

        Assert.Equal(20, morning.Count);
        Assert.Equal(10, capped.Count);
        Assert.Equal(0, exhausted.Count);
        Assert.Equal(TimeSpan.FromHours(14) - TimeSpan.FromSeconds(1), exhausted.RetryAfter);
        Assert.Equal(20, nextDay.Count);
    }

    [Fact]
    public void Returned_slots_count_back_towards_the_daily_quota()
    {
        var (bucket, time) = Create(o => o.DailyQuota = 10);
        var lease = bucket.Lease(10);
        bucket.Return(4, lease.Day);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(4, bucket.Lease(10).Count);
    }

    [Fact]
    public void Slots_of_yesterdays_lease_handed_back_after_midnight_do_not_raise_todays_quota()
    {
        var (bucket, time) = Create(o => o.DailyQuota = 10);
        time.Advance(TimeSpan.FromHours(14) - TimeSpan.FromMilliseconds(100)); // 23:59:59.9
        var lastNight = bucket.Lease(10);
        time.Advance(TimeSpan.FromMilliseconds(200));
        var morning = bucket.Lease(10);

        bucket.Return(6, lastNight.Day);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal((10, 10), (lastNight.Count, morning.Count));
        Assert.Equal(new DateOnly(2026, 3, 2), lastNight.Day);
        Assert.Equal(new DateOnly(2026, 3, 3), morning.Day);
        Assert.Equal(0, bucket.Lease(10).Count);
        Assert.Equal(10, bucket.UsedToday);
    }

    [Fact]
    public void Asked_on_time_with_the_default_settings_the_bucket_grants_the_full_configured_rate()
    {
        // The defaults, as a provider account gets them: no reserve below the configured rate.
        var time = new FakeTimeProvider(Start);
        var bucket = new TokenBucket(new TokenBucketOptions { RatePerSecond = 200 }, time);
        var slots = new List<DateTimeOffset>();
        for (var tick = 0; tick < 2_100; tick++)
        {
            // A worker asking every 10 ms, well within the lease horizon, with more waiting than the rate allows.
            var lease = bucket.Lease(1_000);
            slots.AddRange(Enumerable.Range(0, lease.Count).Select(lease.SlotOf));
            time.Advance(TimeSpan.FromMilliseconds(10));
        }

        var steady = slots.Count(s => s >= Start.AddSeconds(1) && s < Start.AddSeconds(21));
        var busiest = slots.Select((s, i) => slots.Skip(i).TakeWhile(t => t < s.AddSeconds(1)).Count()).Max();
        Assert.Equal(4_000, steady);
        Assert.Equal(200, busiest);
    }

    [Fact]
    public void Sends_made_today_before_the_bucket_existed_count_against_the_quota()
    {
        var (bucket, _) = Create(o => o.DailyQuota = 10);

        bucket.AddUsedToday(7);

        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), bucket.TodayStart);
        Assert.Equal(7, bucket.UsedToday);
        Assert.Equal(3, bucket.Lease(10).Count);
        Assert.Equal(0, bucket.Lease(10).Count);
    }

    [Fact]
    public void Warm_up_schedule_limits_each_day_then_lifts()
    {
        var (bucket, time) = Create(o => o.WarmUp = new WarmUpSchedule(DateOnly.FromDateTime(Start.UtcDateTime), [5, 15]));

        var day1 = bucket.Lease(100).Count;
        time.Advance(TimeSpan.FromDays(1));
        var day2 = bucket.Lease(100).Count;
        time.Advance(TimeSpan.FromDays(1));
        var day3 = bucket.Lease(100).Count;

        Assert.Equal(5, day1);
        Assert.Equal(15, day2);
        Assert.Equal(26, day3);
    }

    [Fact]
    public void Warm_up_and_quota_take_the_smaller_limit()
    {
        var (bucket, _) = Create(o =>
        {
            o.DailyQuota = 3;
            o.WarmUp = new WarmUpSchedule(DateOnly.FromDateTime(Start.UtcDateTime), [50]);
        });

        Assert.Equal(3, bucket.TodayLimit);
        Assert.Equal(3, bucket.Lease(100).Count);
    }

    [Fact]
    public void Throttle_with_a_reset_blocks_until_then_and_halves_the_rate()
    {
        var (bucket, time) = Create();

        bucket.Throttle(TimeSpan.FromSeconds(3));
        var during = bucket.Lease(10);
        time.Advance(TimeSpan.FromSeconds(3));
        var after = bucket.Lease(10);

        Assert.Equal(0, during.Count);
        Assert.Equal(TimeSpan.FromSeconds(3), during.RetryAfter);
        Assert.Equal(10, after.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(20), after.Interval);
        Assert.Equal(50, bucket.CurrentRatePerSecond, 3);
    }

    [Fact]
    public void Rate_recovers_gradually_to_the_configured_rate_after_throttling_stops()
    {
        var (bucket, time) = Create();
        bucket.Throttle(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        var right = bucket.CurrentRatePerSecond;

        time.Advance(TimeSpan.FromSeconds(2));
        var partly = bucket.CurrentRatePerSecond;
        time.Advance(TimeSpan.FromSeconds(10));
        var recovered = bucket.CurrentRatePerSecond;

        Assert.Equal(50, right, 3);
        Assert.Equal(70, partly, 3);
        Assert.Equal(100, recovered, 3);
    }

    [Fact]
    public void Throttle_without_a_reset_backs_off_exponentially_until_a_send_is_accepted()
    {
        var (bucket, _) = Create(o => o.DefaultBackoff = TimeSpan.FromSeconds(1));

        var first = bucket.Throttle(null);
        var second = bucket.Throttle(null);
        var third = bucket.Throttle(null);
        bucket.Accepted();
        var afterSuccess = bucket.Throttle(null);

        Assert.Equal([1, 2, 4, 1], new[] { first, second, third, afterSuccess }.Select(t => t.TotalSeconds));
    }

    [Fact]
    public void Repeated_throttles_never_drive_the_rate_to_zero()
    {
        var (bucket, _) = Create();
        for (var i = 0; i < 50; i++)
        {
            bucket.Throttle(TimeSpan.Zero);
        }

        Assert.True(bucket.CurrentRatePerSecond >= 5);
    }

    [Fact]
    public void Nothing_requested_grants_nothing()
    {
        var (bucket, _) = Create();

        Assert.Equal(0, bucket.Lease(0).Count);
        Assert.Equal(26, bucket.Lease(100).Count);
    }

    [Fact]
    public void A_non_positive_rate_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(new TokenBucketOptions { RatePerSecond = 0 }, TimeProvider.System));
    }
}
