using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.Infrastructure.Storage;
using Automator.Journeys;
using Automator.Workflows;
using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Automator.Infrastructure.Time;

namespace Automator.Contacts;

/// <summary>
/// A contact: profile, active journeys, recent sends. Routes each event to the journeys it is in, then to the triggers of
/// the organization's active workflows. Reentrant because its journeys call back (snapshot, activity) while it may be
/// waiting on one of them; every turn leaves the state consistent before it awaits.
/// </summary>
[Reentrant]
[Orleans.Placement.RandomPlacement]
public sealed class ContactGrain(
    [PersistentState("contact", BatchedGrainStorage.Name)] IPersistentState<ContactState> state,
    TriggerIndex triggers,
    ProductClock time,
    IContactPropertyWriter propertyWriter,
    ILogger<ContactGrain> logger) : Grain, IContactGrain
{
    public static readonly TimeSpan SendHistory = TimeSpan.FromDays(31);
    private const int MaxRecentSends = 200;
    private Guid _organizationId;
    private Guid _contactId;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private bool _dirty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_organizationId, _contactId) = ContactKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task UpdateProfileAsync(ContactProfile profile)
    {
        profile.Id = _contactId;
        profile.OrganizationId = _organizationId;
        state.State.Profile = profile;
        _dirty = true;
        await ScheduleDateTriggersAsync();
        await SaveAsync();
    }

    public Task<ContactProfile?> GetProfileAsync() => Task.FromResult(state.State.Profile);

    public Task TrackAsync(ContactEvent contactEvent) => TrackManyAsync([contactEvent]);

    /// <summary>
    /// Idempotency keys are settled before events reach the grain (the API records them); an event that moves no journey
    /// and finds the profile in place writes nothing.
    /// </summary>
    public async Task TrackManyAsync(List<ContactEvent> events)
    {
        foreach (var contactEvent in events)
        {
            await RouteAsync(contactEvent);
        }

        await SaveAsync();
    }

    private async Task RouteAsync(ContactEvent contactEvent)
    {
        var now = time.GetUtcNow();
        if (state.State.Profile is null)
        {
            state.State.Profile = new ContactProfile { Id = _contactId, OrganizationId = _organizationId, Email = contactEvent.Email ?? "", UpdatedAt = now };
            _dirty = true;
        }

        if (contactEvent.OccurredAt == default)
        {
            contactEvent.OccurredAt = now;
        }

        // Journeys the contact is already in see the event first (waits, exits, goals, engagement)...
        foreach (var workflowId in state.State.ActiveJourneys.Keys.ToList())
        {
            var outcome = await Journey(workflowId).OnEventAsync(contactEvent, Snapshot());
            Apply(workflowId, outcome);
        }

        // ...then the event may start journeys, in workflows the contact is not in.
        var index = await triggers.GetAsync(_organizationId);
        if (!index.StartsOn(contactEvent.Name))
        {
            return;
        }

        var matches = index.ForEvent(contactEvent.Name, ParseObject(contactEvent.PropertiesJson)).ToList();
        foreach (var (summary, _) in matches)
        {
            if (!state.State.ActiveJourneys.ContainsKey(summary.WorkflowId) && summary.ActiveVersion is { } version)
            {
                await EnterAsync(summary.WorkflowId, new JourneyEntry { Version = version, EventJson = contactEvent.PropertiesJson, Source = "event" });
            }
        }
    }

    public async Task OnListJoinedAsync(Guid listId)
    {
        var index = await triggers.GetAsync(_organizationId);
        foreach (var (summary, _) in index.ForList(listId).ToList())
        {
            if (summary.ActiveVersion is { } version)
            {
                await EnterAsync(summary.WorkflowId, new JourneyEntry { Version = version, Source = "list" });
            }
        }

        await SaveAsync();
    }

    public async Task OnSegmentChangedAsync(Guid segmentId, bool entered)
    {
        if (!entered)
        {
            return;
        }

        var index = await triggers.GetAsync(_organizationId);
        foreach (var (summary, _) in index.ForSegment(segmentId).ToList())
        {
            if (summary.ActiveVersion is { } version)
            {
                await EnterAsync(summary.WorkflowId, new JourneyEntry { Version = version, Source = "segment" });
            }
        }

        await SaveAsync();
    }

    public async Task EraseAsync()
    {
        foreach (var workflowId in state.State.ActiveJourneys.Keys.Concat(state.State.ScheduledDates.Keys).Distinct().ToList())
        {
            await Journey(workflowId).EndAsync("erased");
        }

        var email = state.State.Profile?.Email;
        state.State = new ContactState
        {
            Profile = new ContactProfile { Id = _contactId, OrganizationId = _organizationId, Status = "erased", UpdatedAt = time.GetUtcNow() },
        };
        logger.LogInformation("Contact {ContactId} erased ({HadEmail}).", _contactId, email is null ? "no profile" : "profile dropped");
        _dirty = true;
        await SaveAsync();
    }

    public async Task<JourneyOutcome> EnrollAsync(Guid workflowId, string source, string? eventJson = null)
    {
        var summary = (await triggers.GetAsync(_organizationId)).Find(workflowId);
        if (summary is not { Status: WorkflowStatuses.Active, ActiveVersion: { } version })
        {
            return new JourneyOutcome { Rejected = $"the workflow is {summary?.Status ?? "missing"}" };
        }

        var outcome = await EnterAsync(workflowId, new JourneyEntry { Version = version, EventJson = eventJson, Source = source });
        await SaveAsync();
        return outcome;
    }

    public Task<ContactSnapshot> GetSnapshotAsync() => Task.FromResult(Snapshot());

    public async Task OnJourneyActivityAsync(Guid workflowId, JourneyOutcome outcome)
    {
        Apply(workflowId, outcome);
        await SaveAsync();
    }

    public Task<List<Guid>> GetActiveJourneysAsync() => Task.FromResult(state.State.ActiveJourneys.Keys.ToList());

    private async Task<JourneyOutcome> EnterAsync(Guid workflowId, JourneyEntry entry)
    {
        var outcome = await Journey(workflowId).EnterAsync(entry, Snapshot());
        Apply(workflowId, outcome);
        return outcome;
    }

    private void Apply(Guid workflowId, JourneyOutcome outcome)
    {
        if (outcome.Rejected is not null)
        {
            return;
        }

        var s = state.State;
        if (outcome.Active)
        {
            if (!s.ActiveJourneys.TryGetValue(workflowId, out var entry) || entry != outcome.Entry)
            {
                s.ActiveJourneys[workflowId] = outcome.Entry;
                _dirty = true;
            }
        }
        else if (s.ActiveJourneys.Remove(workflowId))
        {
            _dirty = true;
        }

        if (outcome.Sends.Count > 0)
        {
            var cutoff = time.GetUtcNow() - SendHistory;
            s.RecentSends.AddRange(outcome.Sends);
            s.RecentSends.RemoveAll(t => t < cutoff);
            if (s.RecentSends.Count > MaxRecentSends)
            {
                s.RecentSends.RemoveRange(0, s.RecentSends.Count - MaxRecentSends);
            }

            _dirty = true;
        }

        foreach (var set in outcome.ContactUpdates)
        {
            MergeProperties(set);
            propertyWriter.MergeAsync(_organizationId, _contactId, set).Ignore();
            _dirty = true;
        }
    }

    private void MergeProperties(string setJson)
    {
        var profile = state.State.Profile ??= new ContactProfile { Id = _contactId, OrganizationId = _organizationId };
        var target = JsonNode.Parse(string.IsNullOrWhiteSpace(profile.PropertiesJson) ? "{}" : profile.PropertiesJson) as JsonObject ?? [];
        if (JsonNode.Parse(setJson) is JsonObject set)
        {
            foreach (var (name, value) in set)
            {
                target[name] = value?.DeepClone();
            }
        }

        profile.PropertiesJson = target.ToJsonString();
        profile.UpdatedAt = time.GetUtcNow();
    }

    private async Task ScheduleDateTriggersAsync()
    {
        var profile = state.State.Profile;
        if (profile is null)
        {
            return;
        }

        var index = await triggers.GetAsync(_organizationId);
        var properties = ParseObject(profile.PropertiesJson);
        var now = time.GetUtcNow();
        foreach (var (summary, trigger) in index.DateProperties().ToList())
        {
            if (summary.ActiveVersion is not { } version || trigger.Property is null)
            {
                continue;
            }

            var value = Conditions.Lookup(properties, trigger.Property);
            var zone = LocalTimes.Zone(profile.TimeZone, null);
            var date = LocalTimes.ParseDateProperty(value is { ValueKind: JsonValueKind.String } v ? v.GetString() : null, zone);
            if (date is not { } d)
            {
                continue;
            }

            var at = d + (Durations.TryParse(trigger.Offset ?? "PT0S", out var offset) ? offset : TimeSpan.Zero);
            if (at < now - TimeSpan.FromHours(1) || (state.State.ScheduledDates.TryGetValue(summary.WorkflowId, out var scheduled) && scheduled == at))
            {
                continue;
            }

            var outcome = await EnterAsync(summary.WorkflowId, new JourneyEntry { Version = version, At = at, Source = "date" });
            if (outcome.Rejected is null)
            {
                state.State.ScheduledDates[summary.WorkflowId] = at;
                _dirty = true;
            }
        }
    }

    private ContactSnapshot Snapshot()
    {
        var profile = state.State.Profile;
        return new ContactSnapshot
        {
            Email = profile?.Email ?? "",
            FirstName = profile?.FirstName,
            LastName = profile?.LastName,
            TimeZone = profile?.TimeZone,
            PropertiesJson = profile?.PropertiesJson ?? "{}",
            Status = profile?.Status ?? "active",
            RecentSends = [.. state.State.RecentSends],
        };
    }

    private IJourneyGrain Journey(Guid workflowId) => GrainFactory.GetGrain<IJourneyGrain>(JourneyKey.Of(_organizationId, workflowId, _contactId));

    private async Task SaveAsync()
    {
        if (!_dirty)
        {
            return;
        }

        // Interleaved turns must not write concurrently (they would race on the etag); one write covers all changes so far.
        await _writeLock.WaitAsync();
        try
        {
            if (_dirty)
            {
                _dirty = false;

                // Keys kept here by earlier versions are settled by the API now; they leave with the next write.
                state.State.IdempotencyKeys.Clear();
                await state.WriteStateAsync();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static JsonElement? ParseObject(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
