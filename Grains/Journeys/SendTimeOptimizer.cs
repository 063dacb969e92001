using Automator.Workflows;

namespace Automator.Journeys;

/// <summary>
/// Opens counted by local hour of day (index 0-23): a contact's own human opens in its time zone, and the
/// organization's human opens in the workflow's time zone.
/// </summary>
public sealed record OpenHours(int[] Contact, int[] Organization)
{
    public static readonly OpenHours None = new(new int[24], new int[24]);
}

/// <summary>Where an optimal send time came from.</summary>
public enum SendTimeSource
{
    Contact,
    Organization,
    Window,
    Now,
}

public readonly record struct SendTimeChoice(DateTimeOffset At, SendTimeSource Source, int? Hour, bool Capped);

/// <summary>
/// Chooses when an <c>optimalTime</c> waitUntil step releases a journey: at the start of the local hour at which the
/// contact most often opens, else the organization's busiest open hour, else the next opening of the send window, else
/// at once; never later than <c>within</c> after the step was reached.
/// </summary>
public static class SendTimeOptimizer
{
    /// <summary>Fewer opens than this in a history say too little about it, and the next source is used.</summary>
    public const int MinimumOpens = 3;

    public static readonly TimeSpan DefaultWithin = TimeSpan.FromDays(1);
    public static readonly TimeSpan ShortestWithin = TimeSpan.FromHours(1);
    public static readonly TimeSpan LongestWithin = TimeSpan.FromDays(7);

    /// <param name="reached">When the journey reached the step.</param>
    /// <param name="within">The longest wait.</param>
    /// <param name="opens">The open histories.</param>
    /// <param name="contactZone">The contact's zone (its own, else the workflow's, else UTC), for its own hours and the window.</param>
    /// <param name="organizationZone">The workflow's zone (else UTC), in which the organization's hours are counted.</param>
    /// <param name="window">The workflow's send window, if any.</param>
    public static SendTimeChoice Choose(
        DateTimeOffset reached, TimeSpan within, OpenHours opens, TimeZoneInfo contactZone, TimeZoneInfo organizationZone, SendWindow? window)
    {
        var latest = reached + within;
        if (BestStart(reached, opens.Contact, contactZone) is { } mine)
        {
            return Cap(mine.At, SendTimeSource.Contact, mine.Hour, latest);
        }

        if (BestStart(reached, opens.Organization, organizationZone) is { } theirs)
        {
            return Cap(theirs.At, SendTimeSource.Organization, theirs.Hour, latest);
        }

        if (window is not null)
        {
            return Cap(window.NextOpen(reached, contactZone), SendTimeSource.Window, null, latest);
        }

        return new SendTimeChoice(reached, SendTimeSource.Now, null, false);
    }

    /// <summary>
    /// The start of the most-opened hour (its next occurrence; <paramref name="reached"/> itself when that hour is under
    /// way). Among hours tied for most opens the one that comes first wins, so a tie never makes the contact wait longer.
    /// </summary>
    private static (DateTimeOffset At, int Hour)? BestStart(DateTimeOffset reached, int[] hours, TimeZoneInfo zone)
    {
        if (hours.Length != 24 || hours.Sum() < MinimumOpens)
        {
            return null;
        }

        var top = hours.Max();
        var currentHour = LocalTimes.ToLocal(reached, zone).Hour;
        (DateTimeOffset At, int Hour)? best = null;
        for (var hour = 0; hour < 24; hour++)
        {
            if (hours[hour] != top)
            {
                continue;
            }

            var at = hour == currentHour ? reached : LocalTimes.NextTimeOfDay(reached, new TimeOnly(hour, 0), zone);
            if (best is null || at < best.Value.At)
            {
                best = (at, hour);
            }
        }

        return best;
    }

    private static SendTimeChoice Cap(DateTimeOffset at, SendTimeSource source, int? hour, DateTimeOffset latest) =>
        at > latest ? new SendTimeChoice(latest, source, hour, true) : new SendTimeChoice(at, source, hour, false);

    /// <summary>The step's <c>within</c>, or one day when it has none.</summary>
    public static TimeSpan Within(WorkflowStep step) =>
        step.Within is not null && Durations.TryParse(step.Within, out var within) ? within : DefaultWithin;
}
