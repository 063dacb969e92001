using Automator.Wakeups;
using static Automator.UnitTests.Wakeups.WakeIndexTests;

namespace Automator.UnitTests.Wakeups;

public sealed class WakeDispatchLogTests
{
    [Fact]
    public void A_due_time_is_woken_once_while_the_index_still_lists_it()
    {
        var log = new WakeDispatchLog(TimeSpan.FromSeconds(10));
        var due = new DueWakeup(Journey(), Now.AddSeconds(-1));

        Assert.Equal([due], log.Take([due], Now));
        Assert.Empty(log.Take([due], Now.AddSeconds(1)));
        Assert.Empty(log.Take([due], Now.AddSeconds(8.9)));
    }

    [Fact]
    public void The_same_due_time_is_woken_again_after_the_redispatch_time()
    {
        var log = new WakeDispatchLog(TimeSpan.FromSeconds(10));
        var due = new DueWakeup(Journey(), Now.AddSeconds(-1));
        log.Take([due], Now);

        Assert.Equal([due], log.Take([due], Now.AddSeconds(10)));
    }

    [Fact]
    public void A_wake_within_the_lookahead_is_not_repeated_until_after_its_due_time()
    {
        var log = new WakeDispatchLog(TimeSpan.FromSeconds(10));
        var early = new DueWakeup(Journey(), Now.AddSeconds(2));
        log.Take([early], Now);

        Assert.Empty(log.Take([early], Now.AddSeconds(11)));
        Assert.Equal([early], log.Take([early], Now.AddSeconds(12)));
    }

    [Fact]
    public void A_new_due_time_is_woken_at_once()
    {
        var log = new WakeDispatchLog(TimeSpan.FromSeconds(10));
        var journey = Journey();
        log.Take([new DueWakeup(journey, Now.AddSeconds(-1))], Now);

        var moved = new DueWakeup(journey, Now.AddSeconds(1));

        Assert.Equal([moved], log.Take([moved], Now.AddSeconds(1)));
    }

    [Fact]
    public void A_failed_wake_is_tried_again_from_its_retry_time_and_expired_entries_are_forgotten()
    {
        var log = new WakeDispatchLog(TimeSpan.FromSeconds(10));
        var due = new DueWakeup(Journey(), Now.AddSeconds(-1));
        var other = new DueWakeup(Journey(), Now.AddSeconds(-1));
        log.Take([due, other], Now);

        log.Failed(due, Now.AddSeconds(1));

        Assert.Equal([due], log.Take([due, other], Now.AddSeconds(1)));
        Assert.Equal(2, log.Count);
        log.Take([], Now.AddSeconds(20));
        Assert.Equal(0, log.Count);
    }
}
