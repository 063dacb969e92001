using Automator.Delivery;
using Automator.Delivery.SendLog;

namespace Automator.UnitTests.Delivery;

public sealed class OrphanedSendsTests
{
    private const string Self = "127.0.0.1:11111@100";
    private const string Other = "127.0.0.1:11112@100";
    private static readonly DateTimeOffset Now = new(2026, 3, 2, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan UnknownAfter = TimeSpan.FromMinutes(10);

    private static IReadOnlyList<string> Orphaned(IReadOnlyDictionary<string, bool> members, params SendOwner[] owners) =>
        OrphanedSends.Owners(owners, members, Self, Now, UnknownAfter);

    [Fact]
    public void Sends_of_a_silo_declared_dead_are_taken_over_however_recent()
    {
        var members = new Dictionary<string, bool> { [Self] = false, [Other] = true };

        Assert.Equal([Other], Orphaned(members, new SendOwner(Other, Now)));
    }

    [Fact]
    public void Sends_of_a_live_silo_are_left_alone_however_old()
    {
        var members = new Dictionary<string, bool> { [Self] = false, [Other] = false };

        Assert.Empty(Orphaned(members, new SendOwner(Other, Now - TimeSpan.FromHours(3))));
    }

    [Fact]
    public void This_silos_own_sends_are_never_orphaned_even_if_the_view_says_dead()
    {
        var members = new Dictionary<string, bool> { [Self] = true };

        Assert.Empty(Orphaned(members, new SendOwner(Self, Now - TimeSpan.FromHours(1))));
    }

    [Fact]
    public void A_silo_missing_from_the_view_is_given_time_it_may_just_have_joined()
    {
        var members = new Dictionary<string, bool> { [Self] = false };

        Assert.Empty(Orphaned(members, new SendOwner(Other, Now - UnknownAfter)));
        Assert.Equal([Other], Orphaned(members, new SendOwner(Other, Now - UnknownAfter - TimeSpan.FromSeconds(1))));
    }

    [Fact]
    public void A_restarted_silo_takes_over_its_previous_generation()
    {
        const string previous = "127.0.0.1:11111@99";
        var members = new Dictionary<string, bool> { [Self] = false, [previous] = true };

        Assert.Equal([previous], Orphaned(members, new SendOwner(previous, Now), new SendOwner(Self, Now)));
    }
}
