using Automator.Delivery;

namespace Automator.UnitTests.Delivery;

public sealed class FairShareQueueTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly Guid OrgA = Guid.NewGuid();
    private static readonly Guid OrgB = Guid.NewGuid();
    private static readonly Guid OrgC = Guid.NewGuid();

    [Fact]
    public void Transactional_sends_leave_before_bulk_ones()
    {
        var queue = new FairShareQueue<string>();
        queue.Enqueue(OrgA, false, "bulk1");
        queue.Enqueue(OrgA, false, "bulk2");
        queue.Enqueue(OrgB, true, "tx1");

        Assert.Equal(["tx1", "bulk1"], queue.Take(2, Now));
    }

    [Fact]
    public void A_large_organization_does_not_starve_a_small_one()
    {
        var queue = new FairShareQueue<string>();
        for (var i = 0; i < 1000; i++)
        {
            queue.Enqueue(OrgA, false, "a" + i);
        }

        queue.Enqueue(OrgB, false, "b0");
        queue.Enqueue(OrgB, false, "b1");
        queue.Enqueue(OrgC, false, "c0");

        var first = queue.Take(6, Now);

        Assert.Equal(["a0", "b0", "c0", "a1", "b1", "a2"], first);
        Assert.Equal(997, queue.Count);
    }

    [Fact]
    public void Each_organization_keeps_its_own_order()
    {
        var queue = new FairShareQueue<int>();
        for (var i = 0; i < 10; i++)
        {
            queue.Enqueue(OrgA, false, i);
        }

        Assert.Equal(Enumerable.Range(0, 10), queue.Take(100, Now));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Entries_waiting_for_a_retry_time_stay_until_due()
    {
        var queue = new FairShareQueue<string>();
        queue.Enqueue(OrgA, false, "later", Now.AddSeconds(5));
        queue.Enqueue(OrgA, false, "now");

        var first = queue.Take(10, Now);
        var dueLater = queue.CountDue(Now);
        var second = queue.Take(10, Now.AddSeconds(5));

        Assert.Equal(["now"], first);
        Assert.Equal(0, dueLater);
        Assert.Equal(["later"], second);
    }

    [Fact]
    public void Next_due_is_the_earliest_waiting_entry()
    {
        var queue = new FairShareQueue<string>();
        Assert.Null(queue.NextDue);

        queue.Enqueue(OrgA, false, "x", Now.AddSeconds(5));
        queue.Enqueue(OrgB, true, "y", Now.AddSeconds(2));

        Assert.Equal(Now.AddSeconds(2), queue.NextDue);
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void Transactional_fairness_also_rotates_across_organizations()
    {
        var queue = new FairShareQueue<string>();
        queue.Enqueue(OrgA, true, "a0");
        queue.Enqueue(OrgA, true, "a1");
        queue.Enqueue(OrgB, true, "b0");
        queue.Enqueue(OrgC, false, "c0");

        Assert.Equal(["a0", "b0", "a1", "c0"], queue.Take(4, Now));
    }
}
