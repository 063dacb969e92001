using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Automator.Workflows;

namespace Automator.Journeys;

/// <summary>Wall-clock arithmetic in a contact's time zone, correct across DST changes.</summary>
public static class LocalTimes
{
    /// <summary>
    /// The instant a local wall-clock time happens. A time skipped by a spring-forward gap moves forward by the gap
    /// (02:30 on the March change is 03:30); a repeated fall-back time takes its first occurrence.
    /// </summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(local))
        {
            var before = zone.GetUtcOffset(local.AddHours(-3));
            var after = zone.GetUtcOffset(local.AddHours(3));
            local = local + (after - before);
        }

        TimeSpan offset;
        if (zone.IsAmbiguousTime(local))
        {
            offset = zone.GetAmbiguousTimeOffsets(local).Max();
        }
        else
        {
            offset = zone.GetUtcOffset(local);
        }

        return new DateTimeOffset(local, offset).ToUniversalTime();
    }

    public static DateTime ToLocal(DateTimeOffset instant, TimeZoneInfo zone) => TimeZoneInfo.ConvertTime(instant, zone).DateTime;

    /// <summary>The first instant strictly after <paramref name="after"/> at which the local clock shows <paramref name="time"/>.</summary>
    public static DateTimeOffset NextTimeOfDay(DateTimeOffset after, TimeOnly time, TimeZoneInfo zone)
    {
        var localDate = ToLocal(after, zone).Date;
        for (var d = 0; d < 3; d++)
        {
            var candidate = ToInstant(localDate.AddDays(d) + time.ToTimeSpan(), zone);
            if (candidate > after)
            {
                return candidate;
            }
        }

        return ToInstant(localDate.AddDays(3) + time.ToTimeSpan(), zone);
    }

    /// <summary>A date property's value as an instant; a date without a time is midnight in the contact's zone.</summary>
    public static DateTimeOffset? ParseDateProperty(string? text, TimeZoneInfo zone)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return ToInstant(date.ToDateTime(TimeOnly.MinValue), zone);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant.ToUniversalTime();
        }

        return null;
    }

    public static TimeZoneInfo Zone(string? contactZone, string? workflowZone) =>
        Durations.TryFindTimeZone(contactZone, out var zone) ? zone :
        Durations.TryFindTimeZone(workflowZone, out zone) ? zone : TimeZoneInfo.Utc;
}

/// <summary>The send window (days and hours in the contact's time zone) of a workflow.</summary>
public sealed class SendWindow
{
    private readonly TimeOnly _start;
    private readonly TimeOnly _end;
    private readonly HashSet<DayOfWeek> _days;

    public SendWindow(SendWindowSettings settings)
    {
        Durations.TryParseTimeOfDay(settings.Start, out _start);
        Durations.TryParseTimeOfDay(settings.End, out _end);
        _days = settings.Days is { Count: > 0 } days
            ? days.Select(d => Durations.TryParseDay(d, out var day) ? day : (DayOfWeek?)null).Where(d => d is not null).Select(d => d!.Value).ToHashSet()
            : Enum.GetValues<DayOfWeek>().ToHashSet();
    }

    public bool IsOpen(DateTimeOffset instant, TimeZoneInfo zone)
    {
        var local = LocalTimes.ToLocal(instant, zone);
        var time = TimeOnly.FromDateTime(local);
        if (_start < _end)
        {
            return _days.Contains(local.DayOfWeek) && time >= _start && time < _end;
        }

        // An overnight window (22:00-06:00) belongs to the day it opened on.
        return (time >= _start && _days.Contains(local.DayOfWeek)) || (time < _end && _days.Contains(local.AddDays(-1).DayOfWeek));
    }

    /// <summary><paramref name="instant"/> itself when the window is open, else the next time it opens.</summary>
    public DateTimeOffset NextOpen(DateTimeOffset instant, TimeZoneInfo zone)
    {
        if (IsOpen(instant, zone))
        {
            return instant;
        }

        var localDate = LocalTimes.ToLocal(instant, zone).Date;
        for (var d = 0; d <= 8; d++)
        {
            var day = localDate.AddDays(d);
            if (!_days.Contains(day.DayOfWeek))
            {
                continue;
            }

            var open = LocalTimes.ToInstant(day + _start.ToTimeSpan(), zone);
            if (open > instant)
            {
                return open;
            }
        }

        return instant.AddDays(1);
    }
}

/// <summary>Deterministic weighted choice per contact and step: the same contact always takes the same branch.</summary>
public static class WeightedChoice
{
    public static int Choose(Guid contactId, string stepId, IReadOnlyList<double> weights)
    {
        var total = weights.Where(w => w > 0).Sum();
        if (total <= 0)
        {
            return 0;
        }

        var point = Unit(contactId, stepId) * total;
        var cumulative = 0d;
        for (var i = 0; i < weights.Count; i++)
        {
            if (weights[i] <= 0)
            {
                continue;
            }

            cumulative += weights[i];
            if (point < cumulative)
            {
                return i;
            }
        }

        return weights.Count - 1;
    }

    /// <summary>A uniform value in [0, 1) from the contact and step.</summary>
    public static double Unit(Guid contactId, string stepId)
    {
        Span<byte> input = stackalloc byte[16 + Encoding.UTF8.GetMaxByteCount(stepId.Length)];
        contactId.TryWriteBytes(input);
        var length = 16 + Encoding.UTF8.GetBytes(stepId, input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..length], hash);
        return (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }
}
