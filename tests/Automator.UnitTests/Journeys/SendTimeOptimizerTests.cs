using System.Globalization;
using Automator.Journeys;
using Automator.Workflows;

namespace Automator.UnitTests.Journeys;

public sealed class SendTimeOptimizerTests
{
    private static readonly TimeZoneInfo NewYork = Zone("America/New_York");
    private static readonly TimeZoneInfo Berlin = Zone("Europe/Berlin");
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

    private static TimeZoneInfo Zone(string id) => Durations.TryFindTimeZone(id, out var zone) ? zone : throw new InvalidOperationException(id);

    private static DateTimeOffset At(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>A histogram from "hour:count" pairs.</summary>
    private static int[] Hours(params (int Hour, int Count)[] counts)
    {
        var hours = new int[24];
        foreach (var (hour, count) in counts)
        {
            hours[hour] += count;
        }

        return hours;
    }

    /// <summary>Opens at the given instants counted by local hour, as the open history does.</summary>
    private static int[] OpensAt(TimeZoneInfo zone, params string[] instants)
    {
        var hours = new int[24];
        foreach (var instant in instants)
        {
            hours[LocalTimes.ToLocal(At(instant), zone).Hour]++;
        }

        return hours;
    }

    [Fact]
    public void Waits_for_the_contacts_most_opened_hour_in_its_zone()
    {
        // 14:00 UTC on a winter Monday is 09:00 in New York; the contact opens most at 19:00.
        var opens = new OpenHours(Hours((8, 2), (19, 5), (12, 1)), Hours((10, 100)));

        var choice = SendTimeOptimizer.Choose(At("2026-01-12T14:00:00Z"), OneDay, opens, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(At("2026-01-13T00:00:00Z"), choice.At);
        Assert.Equal(SendTimeSource.Contact, choice.Source);
        Assert.Equal(19, choice.Hour);
        Assert.False(choice.Capped);
    }

    [Fact]
    public void A_contact_already_in_its_best_hour_goes_at_once()
    {
        var opens = new OpenHours(Hours((9, 4)), OpenHours.None.Organization);

        var choice = SendTimeOptimizer.Choose(At("2026-01-12T14:40:00Z"), OneDay, opens, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(At("2026-01-12T14:40:00Z"), choice.At);
    }

    [Fact]
    public void A_tie_takes_the_hour_that_comes_first()
    {
        // 09:00 in New York: 07:00 (tomorrow) and 11:00 (today) both have three opens; 11:00 comes first.
        var opens = new OpenHours(Hours((7, 3), (11, 3), (20, 1)), OpenHours.None.Organization);

        var choice = SendTimeOptimizer.Choose(At("2026-01-12T14:00:00Z"), OneDay, opens, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(At("2026-01-12T16:00:00Z"), choice.At);
        Assert.Equal(11, choice.Hour);
    }

    [Fact]
    public void Too_few_contact_opens_use_the_organizations_hour_in_the_workflow_zone()
    {
        // Two opens are fewer than the minimum of three: the organization opens most at 08:00 Berlin time.
        var opens = new OpenHours(Hours((22, 2)), Hours((8, 40), (13, 30)));

        var choice = SendTimeOptimizer.Choose(At("2026-01-12T14:00:00Z"), OneDay, opens, NewYork, Berlin, null);

        Assert.Equal(SendTimeSource.Organization, choice.Source);
        Assert.Equal(At("2026-01-13T07:00:00Z"), choice.At);
    }

    [Fact]
    public void Exactly_the_minimum_of_opens_is_enough()
    {
        var opens = new OpenHours(Hours((22, SendTimeOptimizer.MinimumOpens)), Hours((8, 40)));

        var choice = SendTimeOptimizer.Choose(At("2026-01-12T14:00:00Z"), OneDay, opens, NewYork, Berlin, null);

        Assert.Equal(SendTimeSource.Contact, choice.Source);
        Assert.Equal(At("2026-01-13T03:00:00Z"), choice.At);
    }

    [Fact]
    public void Empty_history_without_a_window_goes_now()
    {
        var reached = At("2026-01-12T14:00:00Z");

        var choice = SendTimeOptimizer.Choose(reached, OneDay, OpenHours.None, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(reached, choice.At);
        Assert.Equal(SendTimeSource.Now, choice.Source);
    }

    [Fact]
    public void Empty_history_waits_for_the_send_window()
    {
        var window = new SendWindow(new SendWindowSettings { Start = "10:00", End = "16:00", Days = ["mon", "tue", "wed", "thu", "fri"] });

        // Saturday 09:00 New York -> Monday 10:00.
        var choice = SendTimeOptimizer.Choose(At("2026-01-10T14:00:00Z"), TimeSpan.FromDays(7), OpenHours.None, NewYork, TimeZoneInfo.Utc, window);

        Assert.Equal(SendTimeSource.Window, choice.Source);
        Assert.Equal(At("2026-01-12T15:00:00Z"), choice.At);
    }

    [Fact]
    public void Within_shorter_than_the_wait_caps_it()
    {
        var reached = At("2026-01-12T14:00:00Z");
        var opens = new OpenHours(Hours((19, 5)), OpenHours.None.Organization);

        var choice = SendTimeOptimizer.Choose(reached, TimeSpan.FromHours(2), opens, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(reached.AddHours(2), choice.At);
        Assert.True(choice.Capped);
        Assert.Equal(SendTimeSource.Contact, choice.Source);
    }

    [Fact]
    public void Within_also_caps_the_send_window()
    {
        var reached = At("2026-01-10T14:00:00Z");
        var window = new SendWindow(new SendWindowSettings { Start = "10:00", End = "16:00", Days = ["mon"] });

        var choice = SendTimeOptimizer.Choose(reached, OneDay, OpenHours.None, NewYork, TimeZoneInfo.Utc, window);

        Assert.Equal(reached + OneDay, choice.At);
        Assert.True(choice.Capped);
    }

    [Fact]
    public void Opens_are_counted_by_local_hour_across_the_dst_change()
    {
        // 13:00 UTC is 08:00 in New York in winter and 09:00 in summer; 14:00 UTC in winter is 09:00 too. The contact
        // opens at 09:00 local time all year, whatever UTC hour that was.
        var history = OpensAt(NewYork, "2026-01-20T14:05:00Z", "2026-02-10T14:30:00Z", "2026-04-14T13:10:00Z", "2026-06-02T13:45:00Z", "2026-01-21T13:15:00Z");
        Assert.Equal(4, history[9]);
        Assert.Equal(1, history[8]);

        // Reached on the Saturday before the spring change at 10:00 EST: the next 09:00 is Sunday 09:00 EDT = 13:00 UTC.
        var choice = SendTimeOptimizer.Choose(At("2026-03-07T15:00:00Z"), TimeSpan.FromDays(2), new OpenHours(history, OpenHours.None.Organization), NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(At("2026-03-08T13:00:00Z"), choice.At);
    }

    [Fact]
    public void A_best_hour_skipped_by_spring_forward_moves_to_the_hour_after()
    {
        // 02:00 does not exist in New York on 2026-03-08: the wait ends at 03:00 EDT (07:00 UTC).
        var opens = new OpenHours(Hours((2, 6)), OpenHours.None.Organization);

        var choice = SendTimeOptimizer.Choose(At("2026-03-08T05:30:00Z"), OneDay, opens, NewYork, TimeZoneInfo.Utc, null);

        Assert.Equal(At("2026-03-08T07:00:00Z"), choice.At);
    }

    [Fact]
    public void The_planner_waits_for_the_optimal_hour_and_records_why()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitUntil", "optimalTime": true, "within": "P1D", "next": "b" },
              { "id": "b", "type": "send", "templateId": "t" } ]
            """);
        var h = new PlannerHarness(definition, timeZone: "America/New_York") { Opens = new OpenHours(Hours((19, 5)), OpenHours.None.Organization) };

        h.Enter(At("2026-01-12T14:00:00Z"));

        Assert.Equal(At("2026-01-13T00:00:00Z"), h.Last!.WakeAt);
        Assert.Contains(h.State.History, e => e.Kind == "optimalTime" && e.Detail == "contact 19:00");
        h.Wake(h.Last!.WakeAt!.Value);
        Assert.Equal(["b"], h.SentSteps);
    }

    [Fact]
    public void The_planner_passes_straight_through_without_history_or_window()
    {
        var definition = PlannerHarness.Workflow("""
            [ { "id": "a", "type": "waitUntil", "optimalTime": true, "next": "b" }, { "id": "b", "type": "send", "templateId": "t" } ]
            """);
        var h = new PlannerHarness(definition) { Opens = OpenHours.None };

        h.Enter(At("2026-01-12T14:00:00Z"));

        Assert.Equal(["b"], h.SentSteps);
    }
}
