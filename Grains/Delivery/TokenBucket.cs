namespace Automator.Delivery;

public sealed class TokenBucketOptions
{
    /// <summary>The provider account's sending rate.</summary>
    public double RatePerSecond { get; set; } = 100;

    /// <summary>Sends allowed at once after an idle period; 1 paces every send evenly.</summary>
    public int Burst { get; set; } = 1;

    /// <summary>Sends per UTC day; null for no quota.</summary>
    public long? DailyQuota { get; set; }

    /// <summary>How far ahead one lease may book send slots. Longer means fewer lease calls, coarser control.</summary>
    public TimeSpan LeaseHorizon { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Slots start at least this far in the future, to cover the worker's own latency between the lease and the sends
    /// (marking the rows as sending); otherwise the head of a lease is already late and goes out in a bunch.
    /// </summary>
    public TimeSpan LeaseLead { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Fraction of the rate kept in reserve. None by default: slots are spaced exactly <c>1/rate</c> apart, so any window
    /// of one second holds the rate (plus the burst) and no more; the sending worker keeps the wire on the slots by
    /// forfeiting a slot it reaches late rather than bunching sends (see <c>SendWorkerGrain</c>).
    /// </summary>
    public double Headroom { get; set; }

    /// <summary>After a throttle the rate is multiplied by this (adaptive back-off)...</summary>
    public double ThrottleFactor { get; set; } = 0.5;

    /// <summary>...and climbs back by this fraction of the configured rate per second without throttling.</summary>
    public double RecoveryPerSecond { get; set; } = 0.1;

    /// <summary>Wait after a throttle that named no reset time; doubles on each consecutive throttle.</summary>
    public TimeSpan DefaultBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    public WarmUpSchedule? WarmUp { get; set; }
}

/// <summary>IP/domain warm-up: a daily cap per day since <see cref="Start"/>; no cap once the schedule has run out.</summary>
public sealed record WarmUpSchedule(DateOnly Start, IReadOnlyList<long> DailyLimits)
{
    public long? LimitOn(DateOnly day)
    {
        var index = day.DayNumber - Start.DayNumber;
        if (index < 0)
        {
            return 0;
        }

        return index < DailyLimits.Count ? DailyLimits[index] : null;
    }
}

/// <summary>
/// A grant of <see cref="Count"/> sends: send i may go at <c>FirstSlot + i * Interval</c>. When nothing is granted,
/// <see cref="RetryAfter"/> says when asking again can help. <see cref="Day"/> is the UTC day whose quota the slots were
/// counted against: slots handed back unused are credited to that day only.
/// </summary>
public readonly record struct RateLease(int Count, DateTimeOffset FirstSlot, TimeSpan Interval, TimeSpan RetryAfter, DateOnly Day)
{
    public DateTimeOffset SlotOf(int index) => FirstSlot + Interval * index;
}

/// <summary>
/// A provider account's rate limit, kept as a token bucket in its virtual-scheduling form: rather than counting tokens
/// it books each send a slot <c>1/rate</c> after the previous one, which lets it hand out many slots in one lease while
/// still spacing them evenly on the wire. Adds a daily quota, a warm-up schedule and adaptive back-off on throttling.
/// Not thread-safe: owned by one provider grain activation.
/// </summary>
public sealed class TokenBucket
{
    private readonly TokenBucketOptions _options;
    private readonly TimeProvider _time;
    private DateTimeOffset _nextSlot;
    private DateTimeOffset _blockedUntil;
    private DateTimeOffset _lastRateUpdate;
    private double _rate;
    private int _consecutiveThrottles;
    private DateOnly _day;
    private long _usedToday;

    public TokenBucket(TokenBucketOptions options, TimeProvider time)
    {
        if (options.RatePerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "RatePerSecond must be positive.");
        }

        _options = options;
        _time = time;
        var now = time.GetUtcNow();
        _nextSlot = now;
        _blockedUntil = now;
        _lastRateUpdate = now;
        _rate = options.RatePerSecond;
        _day = DateOnly.FromDateTime(now.UtcDateTime);
    }

    public double ConfiguredRatePerSecond => _options.RatePerSecond;

    /// <summary>The rate in force now, lower than configured while recovering from throttling.</summary>
    public double CurrentRatePerSecond
    {
        get
        {
            Recover(_time.GetUtcNow());
            return _rate;
        }
    }

    public bool IsBlocked => _time.GetUtcNow() < _blockedUntil;

    public DateTimeOffset BlockedUntil => _blockedUntil;

    public long UsedToday
    {
        get
        {
            RollDay(_time.GetUtcNow());
            return _usedToday;
        }
    }

    /// <summary>Today's cap: the smaller of the quota and the warm-up limit; null for none.</summary>
    public long? TodayLimit
    {
        get
        {
            var now = _time.GetUtcNow();
            RollDay(now);
            return Min(_options.DailyQuota, _options.WarmUp?.LimitOn(_day));
        }
    }

    /// <summary>Start of the UTC day the daily quota and warm-up limit count from.</summary>
    public DateTimeOffset TodayStart
    {
        get
        {
            RollDay(_time.GetUtcNow());
            return new DateTimeOffset(_day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        }
    }

    /// <summary>Counts sends made today before this bucket existed (what the send log holds when a provider grain activates).</summary>
    public void AddUsedToday(long sends)
    {
        RollDay(_time.GetUtcNow());
        _usedToday += Math.Max(0, sends);
    }

    /// <summary>Books up to <paramref name="requested"/> send slots within the lease horizon.</summary>
    public RateLease Lease(int requested)
    {
        var now = _time.GetUtcNow();
        RollDay(now);
        Recover(now);
        if (requested <= 0)
        {
            return new RateLease(0, now, TimeSpan.Zero, TimeSpan.Zero, _day);
        }

        if (now < _blockedUntil)
        {
            return new RateLease(0, now, TimeSpan.Zero, _blockedUntil - now, _day);
        }

        var limit = Min(_options.DailyQuota, _options.WarmUp?.LimitOn(_day));
        var remainingToday = limit is null ? long.MaxValue : Math.Max(0, limit.Value - _usedToday);
        if (remainingToday == 0)
        {
            var tomorrow = new DateTimeOffset(_day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            return new RateLease(0, now, TimeSpan.Zero, tomorrow - now, _day);
        }

        var interval = TimeSpan.FromSeconds(1 / (_rate * (1 - _options.Headroom)));
        var earliest = now + _options.LeaseLead - (interval * Math.Max(0, _options.Burst - 1));
        var first = _nextSlot > earliest ? _nextSlot : earliest;
        var horizonEnd = now + _options.LeaseLead + _options.LeaseHorizon;
        if (first > horizonEnd)
        {
            return new RateLease(0, now, interval, first - horizonEnd, _day);
        }

        var fits = (long)Math.Floor((horizonEnd - first) / interval) + 1;
        var count = (int)Math.Min(Math.Min(requested, fits), remainingToday);
        _nextSlot = first + interval * count;
        _usedToday += count;
        return new RateLease(count, first < now ? now : first, interval, TimeSpan.Zero, _day);
    }

    /// <summary>
    /// Gives back slots a lease of <paramref name="leasedOn"/> did not use (the worker had fewer sends than it asked for).
    /// They count back towards that day's quota only: slots of yesterday's lease handed back after UTC midnight credit
    /// nothing, or today could exceed its quota by yesterday's returns.
    /// </summary>
    public void Return(int unused, DateOnly leasedOn)
    {
        RollDay(_time.GetUtcNow());
        if (unused > 0 && leasedOn == _day)
        {
            _usedToday = Math.Max(0, _usedToday - unused);
        }
    }

    /// <summary>The provider said "too many requests": stop until it says, then resume at a reduced rate.</summary>
    public TimeSpan Throttle(TimeSpan? retryAfter)
    {
        var now = _time.GetUtcNow();
        Recover(now);
        var backoff = retryAfter ?? Backoff();
        _consecutiveThrottles++;
        var until = now + backoff;
        if (until > _blockedUntil)
        {
            _blockedUntil = until;
        }

        if (_nextSlot < _blockedUntil)
        {
            _nextSlot = _blockedUntil;
        }

        var floor = _options.RatePerSecond * 0.05;
        _rate = Math.Max(floor, _rate * _options.ThrottleFactor);
        _lastRateUpdate = _blockedUntil;
        return backoff;
    }

    /// <summary>A send went through: consecutive throttles are over.</summary>
    public void Accepted() => _consecutiveThrottles = 0;

    private TimeSpan Backoff()
    {
        var ticks = _options.DefaultBackoff.Ticks * Math.Pow(2, Math.Min(_consecutiveThrottles, 16));
        return ticks > _options.MaxBackoff.Ticks ? _options.MaxBackoff : TimeSpan.FromTicks((long)ticks);
    }

    private void Recover(DateTimeOffset now)
    {
        if (_rate >= _options.RatePerSecond || now <= _lastRateUpdate)
        {
            return;
        }

        var seconds = (now - _lastRateUpdate).TotalSeconds;
        _rate = Math.Min(_options.RatePerSecond, _rate + _options.RatePerSecond * _options.RecoveryPerSecond * seconds);
        _lastRateUpdate = now;
    }

    private void RollDay(DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (today != _day)
        {
            _day = today;
            _usedToday = 0;
        }
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
