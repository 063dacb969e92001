using Automator.Infrastructure.Storage;

namespace Automator.Contacts;

[GenerateSerializer, Alias("contacts.state")]
public sealed class ContactState : IHasActiveJourneys
{
    [Id(0)] public ContactProfile? Profile { get; set; }

    /// <summary>Workflows this contact is in now, with the entry number.</summary>
    [Id(1)] public Dictionary<Guid, int> ActiveJourneys { get; set; } = [];

    /// <summary>Recent sends across all workflows (frequency caps); trimmed to <see cref="ContactGrain.SendHistory"/>.</summary>
    [Id(2)] public List<DateTimeOffset> RecentSends { get; set; } = [];

    /// <summary>No longer kept (event idempotency keys are recorded by the API); read only to drop what older states held.</summary>
    [Id(3)] public Dictionary<string, DateTimeOffset> IdempotencyKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Date property triggers scheduled per workflow, with the time they were scheduled for.</summary>
    [Id(4)] public Dictionary<Guid, DateTimeOffset> ScheduledDates { get; set; } = [];

    bool IHasActiveJourneys.HasActiveJourneys => ActiveJourneys.Count > 0;
}
