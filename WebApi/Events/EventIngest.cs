using Automator.Infrastructure.Telemetry;
using Automator.Contacts;
using Automator.Live;
using Automator.Workflows;
using Automator.WebApi.Segments;

namespace Automator.WebApi.Events;

/// <summary>
/// The path of accepted events, a batch at a time: contacts resolved (unknown emails created) in one statement, keys
/// settled and events recorded in one statement, then each contact's grain that the events can matter to
/// (<see cref="EventAudience"/>) called once with its events, all contacts in parallel.
/// </summary>
internal sealed class EventIngest(
    IGrainFactory grains, IContactDirectory directory, IEventLog log, IJourneyPresence presence, TriggerIndex triggers, TimeProvider time, IServiceProvider services)
{
    private readonly SegmentStore? _segments = services.GetService<SegmentStore>();
    private readonly ILiveEvents? _live = services.GetService<ILiveEvents>();
    private readonly bool _durable = !string.IsNullOrWhiteSpace(services.GetRequiredService<IConfiguration>().GetConnectionString("Postgres"));

    public sealed record Result(int Accepted, List<RejectedRow> Rejected, Dictionary<int, Guid> ContactIds);

    /// <summary>The contact's grain gets its events, in the trace of the request that sent them when they waited in a batch.</summary>
    private async Task TrackAsync(Guid organizationId, Guid contactId, List<ContactEvent> events, string? traceParent)
    {
        using var span = AutomatorTracing.Resume("track events", traceParent);
        await grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId)).TrackManyAsync(events);
    }

    public async Task<Result> AcceptAsync(Guid organizationId, IReadOnlyList<(int Index, EventEndpoints.ParsedEvent Event)> rows)
    {
        var rejected = new List<RejectedRow>();
        var emails = rows.Where(r => r.Event.Email is not null).Select(r => r.Event.Email!).ToList();
        var ids = rows.Where(r => r.Event.ContactId is not null).Select(r => r.Event.ContactId!.Value).ToList();
        var created = new HashSet<Guid>();
        var byEmail = emails.Count > 0 ? await directory.ResolveEmailsAsync(organizationId, emails, create: true, created) : [];
        var known = ids.Count > 0 ? await directory.FindIdsAsync(organizationId, ids) : [];

        var now = time.GetUtcNow();
        var contactIds = new Dictionary<int, Guid>();
        var emailOf = new Dictionary<Guid, string?>();
        var recordable = new List<EventRow>(rows.Count);
        var keysInBatch = new HashSet<string>(StringComparer.Ordinal);
        var traceOf = new Dictionary<Guid, string>();
        foreach (var (index, e) in rows)
        {
            Guid contactId;
            if (e.Email is not null && byEmail.TryGetValue(e.Email.Trim().ToLowerInvariant(), out var id))
            {
                contactId = id;
                emailOf[id] = e.Email;
            }
            else if (e.ContactId is { } requested && known.TryGetValue(requested, out var email))
            {
                contactId = requested;
                emailOf.TryAdd(requested, email.Length > 0 ? email : null);
            }
            else
            {
                rejected.Add(new RejectedRow(index, new Dictionary<string, string[]> { [e.Email is null ? "contactId" : "email"] = ["No such contact in this organization."] }));
                continue;
            }

            contactIds[index] = contactId;
            if (e.TraceParent is not null)
            {
                traceOf.TryAdd(contactId, e.TraceParent);
            }

            // A key repeated within the batch is accepted and ignored like one repeated across batches.
            if (e.IdempotencyKey is null || keysInBatch.Add(e.IdempotencyKey))
            {
                recordable.Add(new EventRow(e.Id, contactId, e.Name, e.PropertiesJson, e.Timestamp ?? now, e.IdempotencyKey));
            }
        }

        var recorded = recordable.Count > 0 ? await log.AppendAsync(organizationId, recordable) : [];
        var perContact = new Dictionary<Guid, List<ContactEvent>>();
        foreach (var row in recordable.Where(r => recorded.Contains(r.Id)))
        {
            if (!perContact.TryGetValue(row.ContactId, out var events))
            {
                perContact[row.ContactId] = events = [];
            }

            events.Add(new ContactEvent
            {
                Id = row.Id,
                Name = row.Name,
                PropertiesJson = row.PropertiesJson,
                OccurredAt = row.OccurredAt,
                IdempotencyKey = row.IdempotencyKey,
                Email = emailOf.GetValueOrDefault(row.ContactId),
            });
        }

        var workflows = await triggers.GetAsync(organizationId);
        var reached = await EventAudience.ReachedAsync(
            perContact.Select(c => (c.Key, c.Value.Select(e => e.Name))), workflows.StartsOn, created, contacts => presence.InJourneysAsync(organizationId, contacts));

        // One call per contact keeps its events in order; contacts run in parallel.
        await Task.WhenAll(perContact.Where(c => reached.Contains(c.Key)).Select(c => TrackAsync(organizationId, c.Key, c.Value, traceOf.GetValueOrDefault(c.Key))));

        if (recorded.Count > 0)
        {
            _live?.EventsIngested(organizationId, recorded.Count);
            if (_durable && _segments is not null)
            {
                // Event conditions ("purchased at least once in 30 days") change with the events just written.
                await _segments.RefreshContactsAsync(organizationId, [.. perContact.Keys], CancellationToken.None);
            }
        }

        return new Result(rows.Count - rejected.Count, rejected, contactIds);
    }
}
