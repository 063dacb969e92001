using Automator.Contacts;
using System.Collections.Concurrent;
using Automator.Delivery.Rendering;

namespace Automator.Delivery.SendLog;

/// <summary>
/// The send log without a database (development mode, <c>dotnet run</c> with no connection string). Templates,
/// contacts, organizations and suppressions can be put in directly.
/// </summary>
public sealed class InMemorySendLog : ISendLog, IProviderUsage
{
    private readonly ConcurrentDictionary<string, Guid> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, SendRecord> _sends = new();
    private readonly ConcurrentDictionary<Guid, TemplateContent> _templates = new();
    private readonly ConcurrentDictionary<(Guid, string), ContactFacts> _contacts = new();
    private readonly ConcurrentDictionary<Guid, (string Name, string? PostalAddress, AmbiguousPolicy Policy)> _organizations = new();
    private readonly ConcurrentDictionary<(Guid, string), string> _suppressions = new();
    private readonly Lock _lock = new();

    public void PutTemplate(TemplateContent template) => _templates[template.Id] = template;

    public void PutContact(Guid organizationId, ContactFacts contact) => _contacts[(organizationId, contact.Email.ToLowerInvariant())] = contact;

    public void PutOrganization(Guid organizationId, string name, string? postalAddress, AmbiguousPolicy policy = AmbiguousPolicy.AtMostOnce) =>
        _organizations[organizationId] = (name, postalAddress, policy);

    public void Suppress(Guid organizationId, string email, string reason) => _suppressions[(organizationId, Convert.ToHexString(SuppressionHasher.Current.Hash(email)))] = reason;

    public Task<SendRecord?> FindByKeyAsync(string sendKey) =>
        Task.FromResult(_keys.TryGetValue(sendKey, out var id) && _sends.TryGetValue(id, out var record) ? record : null);

    public Task<IReadOnlyList<SendLookup>> LookupAsync(IReadOnlyList<SendLookupRequest> requests) =>
        Task.FromResult<IReadOnlyList<SendLookup>>(requests
            .Select(r => new SendLookup(
                _keys.TryGetValue(r.SendKey, out var id) && _sends.TryGetValue(id, out var record) ? record : null,
                Facts(r.OrganizationId, r.Email, r.TemplateId)))
            .ToArray());

    private DeliveryFacts Facts(Guid organizationId, string email, Guid templateId)
    {
        var organization = _organizations.TryGetValue(organizationId, out var org) ? org : ("", null, AmbiguousPolicy.AtMostOnce);
        var contact = _contacts.TryGetValue((organizationId, email.ToLowerInvariant()), out var c) ? c : null;
        var suppressed = _suppressions.TryGetValue((organizationId, Convert.ToHexString(SuppressionHasher.Current.Hash(email))), out var reason) ? reason : null;
        return new DeliveryFacts(organization.Item1, organization.Item2, organization.Item3, contact, _templates.GetValueOrDefault(templateId), suppressed);
    }

    public Task<(SendRecord Record, bool Created)> CreateAsync(SendRecord record)
    {
        lock (_lock)
        {
            if (_keys.TryGetValue(record.SendKey, out var existing))
            {
                return Task.FromResult((_sends[existing], false));
            }

            _keys[record.SendKey] = record.Id;
            _sends[record.Id] = record;
            return Task.FromResult((record, true));
        }
    }

    public async Task<IReadOnlyList<(SendRecord Record, bool Created)>> CreateManyAsync(IReadOnlyList<SendRecord> records)
    {
        var results = new (SendRecord, bool)[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            results[i] = await CreateAsync(records[i]);
        }

        return results;
    }

    public Task<IReadOnlySet<Guid>> MarkSendingAsync(IReadOnlyList<SendRef> sends, string provider)
    {
        var moved = new HashSet<Guid>();
        lock (_lock)
        {
            foreach (var send in sends)
            {
                if (_sends.TryGetValue(send.Id, out var record) && record.Status == SendStatus.Queued)
                {
                    _sends[send.Id] = record with { Status = SendStatus.Sending, Provider = provider, Attempts = record.Attempts + 1 };
                    moved.Add(send.Id);
                }
            }
        }

        return Task.FromResult<IReadOnlySet<Guid>>(moved);
    }

    public Task RecordOutcomesAsync(IReadOnlyList<SendOutcomeRecord> outcomes)
    {
        lock (_lock)
        {
            foreach (var outcome in outcomes)
            {
                if (_sends.TryGetValue(outcome.Send.Id, out var record))
                {
                    _sends[outcome.Send.Id] = record with
                    {
                        Status = outcome.Status,
                        Provider = outcome.Provider ?? record.Provider,
                        ProviderMessageId = outcome.ProviderMessageId ?? record.ProviderMessageId,
                        Error = outcome.Error,
                        SentAt = outcome.Status == SendStatus.Sent ? outcome.At : record.SentAt,
                    };
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<SendPage> ListAsync(Guid organizationId, SendQuery query)
    {
        var hasCursor = SendCursor.TryDecode(query.Cursor, out var afterTime, out var afterId);
        var rows = _sends.Values
            .Where(s => s.OrganizationId == organizationId)
            .Where(s => query.ContactId is null || s.ContactId == query.ContactId)
            .Where(s => query.WorkflowId is null || s.WorkflowId == query.WorkflowId)
            .Where(s => query.Status is null || s.Status == query.Status)
            .OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.Id)
            .Where(s => !hasCursor || s.CreatedAt < afterTime || (s.CreatedAt == afterTime && s.Id.CompareTo(afterId) < 0))
            .Take(query.Limit + 1)
            .ToList();
        var more = rows.Count > query.Limit;
        var items = rows.Take(query.Limit).ToList();
        return Task.FromResult(new SendPage(items, more ? SendCursor.Encode(items[^1]) : null));
    }

    // Nothing outlives the process in memory, so no other process can leave anything behind.
    public Task<int> SettleInterruptedAsync(TimeSpan olderThan) => Task.FromResult(0);

    public Task<IReadOnlyList<SendOwner>> ListOwnersAsync() => Task.FromResult<IReadOnlyList<SendOwner>>([]);

    public Task<int> SettleSendingOfAsync(string deadOwner) => Task.FromResult(0);

    public Task<IReadOnlyList<SendRecord>> TakeOverQueuedAsync(string deadOwner, int limit) => Task.FromResult<IReadOnlyList<SendRecord>>([]);

    public Task<IReadOnlyList<SendRecord>> TakeHeldAsync(Guid organizationId, Guid? after, int limit) => Task.FromResult<IReadOnlyList<SendRecord>>([]);

    public Task<long> CountAsync(Guid organizationId, SendStatus status) =>
        Task.FromResult((long)_sends.Values.Count(s => s.OrganizationId == organizationId && s.Status == status));

    // Sends in flight here belong to this process, which is still running.
    public Task<long> CountSinceAsync(string provider, DateTimeOffset since) =>
        Task.FromResult((long)_sends.Values.Count(s => s.Provider == provider && (s.SentAt >= since || (s.Status == SendStatus.Sending && s.SentAt is null))));
}
