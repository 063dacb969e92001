using Automator.Contacts;
using System.Collections.Concurrent;
using Automator.Delivery.Rendering;
using Automator.Infrastructure.Protection;
using Npgsql;
using NpgsqlTypes;

namespace Automator.Delivery.SendLog;

/// <summary>
/// The send log on PostgreSQL: <c>email_sends</c> (partitioned by month) and <c>send_keys</c> (global key uniqueness).
/// Rows written here are owned by <paramref name="owner"/> (this silo's address) until they are settled, and only their
/// owner moves them to <c>sending</c>, so a send taken over from a dead silo can never be sent by two silos.
/// Contact facts are decrypted with <paramref name="cipher"/> (without one, an encrypted field fails the lookup).
/// </summary>
public sealed class PostgresSendLog(NpgsqlDataSource dataSource, string? owner = null, ContactFieldCipher? cipher = null, SuppressionHasher? hasher = null) : ISendLog
{
    private readonly ContactFieldCipher _cipher = cipher ?? new ContactFieldCipher(new EncryptionOptions());
    private readonly SuppressionHasher _hasher = hasher ?? SuppressionHasher.Current;

    private const string Columns = """
        s.id, s.organization_id, s.send_key, s.contact_id, s.workflow_id, s.journey_id, s.step_id, s.variant, s.template_id,
        s.email, s.subject, s.provider, s.provider_message_id, s.status, s.attempts, s.error, s.sent_at, s.delivered_at,
        s.opened_at, s.clicked_at, s.bounced_at, s.created_at
        """;

    private readonly SemaphoreSlim _partitionGate = new(1, 1);
    private readonly ConcurrentDictionary<Guid, CachedTemplate> _templates = new();
    private int _ensuredMonth = -1;

    public async Task<SendRecord?> FindByKeyAsync(string sendKey)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM send_keys k
            JOIN email_sends s ON s.id = k.send_id AND s.created_at = k.created_at
            WHERE k.send_key = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = sendKey });
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? Read(reader) : null;
    }

    /// <summary>
    /// One round trip for a whole batch: the rows holding the send keys, the organizations, contacts, suppressions, and
    /// the templates — whose content only travels when it differs from the cached copy (compared by its hash).
    /// </summary>
    public async Task<IReadOnlyList<SendLookup>> LookupAsync(IReadOnlyList<SendLookupRequest> requests)
    {
        var organizationIds = requests.Select(r => r.OrganizationId).Distinct().ToArray();
        var templateIds = requests.Select(r => r.TemplateId).Distinct().ToArray();
        var known = templateIds.Select(id => _templates.TryGetValue(id, out var t) ? t.Hash : null).ToArray();
        var candidates = _hasher.Candidates(requests.Select(r => r.Email).ToList());

        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                KeysCommand(requests.Select(r => r.SendKey).ToArray()),
                Command("SELECT id, name, postal_address, settings #>> '{delivery,ambiguous}' FROM organizations WHERE id = ANY($1)", organizationIds),
                Command("""
                    SELECT u.i, c.id, c.email, c.first_name, c.last_name, c.status, c.properties::text, c.unsubscribed_at IS NOT NULL
                    FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS u(organization_id, contact_id, email, i)
                    CROSS JOIN LATERAL (
                        SELECT * FROM contacts c
                        WHERE c.organization_id = u.organization_id AND (c.id = u.contact_id OR lower(c.email) = lower(u.email))
                        ORDER BY (c.id = u.contact_id) DESC LIMIT 1) c
                    """,
                    requests.Select(r => r.OrganizationId).ToArray(), requests.Select(r => r.ContactId).ToArray(), requests.Select(r => r.Email).ToArray()),
                Command("""
                    SELECT DISTINCT ON (u.i) u.i + 1, s.reason
                    FROM unnest($1::uuid[], $2::bytea[], $3::int[]) AS u(organization_id, email_hash, i)
                    JOIN suppressions s ON s.organization_id = u.organization_id AND s.email_hash = u.email_hash
                    ORDER BY u.i
                    """,
                    candidates.Owners.Select(i => requests[i].OrganizationId).ToArray(), candidates.Hashes, candidates.Owners),
                Command("""
                    SELECT t.id, t.organization_id, v.hash, v.hash IS DISTINCT FROM u.known, t.kind,
                           CASE WHEN v.hash IS DISTINCT FROM u.known THEN t.subject END,
                           CASE WHEN v.hash IS DISTINCT FROM u.known THEN t.html END,
                           CASE WHEN v.hash IS DISTINCT FROM u.known THEN t.text END
                    FROM unnest($1::uuid[], $2::text[]) AS u(id, known)
                    JOIN email_templates t ON t.id = u.id
                    CROSS JOIN LATERAL (SELECT md5(t.kind || ':' || t.subject || ':' || t.html || ':' || coalesce(t.text, '<none>')) AS hash) v
                    """,
                    templateIds, known),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync();

        var existing = new Dictionary<string, SendRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync())
        {
            var record = Read(reader);
            existing[record.SendKey] = record;
        }

        await reader.NextResultAsync();
        var organizations = new Dictionary<Guid, (string Name, string? Postal, AmbiguousPolicy Policy)>();
        while (await reader.ReadAsync())
        {
            var policy = (reader.IsDBNull(3) ? null : reader.GetString(3)) is "at-least-once" or "atLeastOnce" ? AmbiguousPolicy.AtLeastOnce : AmbiguousPolicy.AtMostOnce;
            organizations[reader.GetGuid(0)] = (reader.GetString(1), Nullable(reader, 2), policy);
        }

        await reader.NextResultAsync();
        var contacts = new ContactFacts?[requests.Count];
        while (await reader.ReadAsync())
        {
            var status = reader.GetString(5);
            if (reader.GetBoolean(7) && !SuppressionHash.BlockingStatuses.Contains(status))
            {
                status = "unsubscribed";
            }

            contacts[reader.GetInt64(0) - 1] = new ContactFacts(reader.GetGuid(1), reader.GetString(2), _cipher.Reveal(Nullable(reader, 3)), _cipher.Reveal(Nullable(reader, 4)), status,
                Nullable(reader, 6) is { } properties ? _cipher.RevealProperties(properties) : null);
        }

        await reader.NextResultAsync();
        var suppressed = new string?[requests.Count];
        while (await reader.ReadAsync())
        {
            suppressed[reader.GetInt64(0) - 1] = reader.GetString(1);
        }

        await reader.NextResultAsync();
        var templates = new Dictionary<Guid, (Guid OrganizationId, TemplateContent Content)>();
        while (await reader.ReadAsync())
        {
            var id = reader.GetGuid(0);
            var hash = reader.GetString(2);
            CachedTemplate? cached;
            if (reader.GetBoolean(3) || !_templates.TryGetValue(id, out cached))
            {
                cached = new CachedTemplate(hash, new TemplateContent(id, reader.GetString(5), reader.GetString(6), Nullable(reader, 7), reader.GetString(4) != "transactional"));
                _templates[id] = cached;
            }

            templates[id] = (reader.GetGuid(1), cached.Content);
        }

        var answers = new SendLookup[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            var organization = organizations.TryGetValue(r.OrganizationId, out var o) ? o : ("", null, AmbiguousPolicy.AtMostOnce);
            var template = templates.TryGetValue(r.TemplateId, out var t) && t.OrganizationId == r.OrganizationId ? t.Content : null;
            answers[i] = new SendLookup(
                existing.GetValueOrDefault(r.SendKey),
                new DeliveryFacts(organization.Name, organization.Postal, organization.Policy, contacts[i], template, suppressed[i]));
        }

        return answers;
    }

    public async Task<(SendRecord Record, bool Created)> CreateAsync(SendRecord record)
    {
        await EnsurePartitionAsync(record.CreatedAt);
        await using var command = dataSource.CreateCommand("""
            WITH claimed AS (
                INSERT INTO send_keys (send_key, send_id, created_at) VALUES ($1, $2, $3)
                ON CONFLICT (send_key) DO NOTHING
                RETURNING send_id
            )
            INSERT INTO email_sends (id, organization_id, send_key, contact_id, workflow_id, journey_id, step_id, variant, template_id,
                                     email, subject, provider, status, error, created_at, updated_at,
                                     owner, event_json, subject_override, transactional)
            SELECT $2, $4, $1, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $3, $3,
                   $16, $17, $18, $19 FROM claimed
            """);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string> { TypedValue = record.SendKey });
        p.Add(new NpgsqlParameter<Guid> { TypedValue = record.Id });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = record.CreatedAt });
        p.Add(new NpgsqlParameter<Guid> { TypedValue = record.OrganizationId });
        p.Add(NullableParameter(record.ContactId));
        p.Add(NullableParameter(record.WorkflowId));
        p.Add(NullableText(record.JourneyId));
        p.Add(NullableText(record.StepId));
        p.Add(NullableText(record.Variant));
        p.Add(NullableParameter(record.TemplateId));
        p.Add(new NpgsqlParameter<string> { TypedValue = record.Email });
        p.Add(new NpgsqlParameter<string> { TypedValue = record.Subject });
        p.Add(NullableText(record.Provider));
        p.Add(new NpgsqlParameter<string> { TypedValue = record.Status.ToDb() });
        p.Add(NullableText(record.Error));
        p.Add(NullableText(owner));
        p.Add(NullableText(record.EventJson));
        p.Add(NullableText(record.SubjectOverride));
        p.Add(new NpgsqlParameter<bool> { TypedValue = record.Transactional });
        var inserted = await command.ExecuteNonQueryAsync();
        if (inserted == 1)
        {
            return (record, true);
        }

        var existing = await FindByKeyAsync(record.SendKey)
            ?? throw new InvalidOperationException($"Send key {record.SendKey} is claimed but its send log row is missing.");
        return (existing, false);
    }

    /// <summary>
    /// One statement claims every key and inserts the rows whose key it claimed; keys claimed before are then read back
    /// together (a second round trip only when there are any).
    /// </summary>
    public async Task<IReadOnlyList<(SendRecord Record, bool Created)>> CreateManyAsync(IReadOnlyList<SendRecord> records)
    {
        if (records.Count == 0)
        {
            return [];
        }

        foreach (var month in records.Select(r => r.CreatedAt).DistinctBy(at => (at.Year * 12) + at.Month))
        {
            await EnsurePartitionAsync(month);
        }

        await using var command = dataSource.CreateCommand("""
            WITH input AS (
                SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[],
                                     $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
                                     $17::text[], $18::text[], $19::boolean[])
                    AS u(send_key, id, created_at, organization_id, contact_id, workflow_id, journey_id, step_id, variant, template_id,
                         email, subject, provider, status, error, event_json, subject_override, transactional)
            ), claimed AS (
                INSERT INTO send_keys (send_key, send_id, created_at) SELECT send_key, id, created_at FROM input
                ON CONFLICT (send_key) DO NOTHING
                RETURNING send_id
            ), inserted AS (
                INSERT INTO email_sends (id, organization_id, send_key, contact_id, workflow_id, journey_id, step_id, variant, template_id,
                                         email, subject, provider, status, error, created_at, updated_at,
                                         owner, event_json, subject_override, transactional)
                SELECT i.id, i.organization_id, i.send_key, i.contact_id, i.workflow_id, i.journey_id, i.step_id, i.variant, i.template_id,
                       i.email, i.subject, i.provider, i.status, i.error, i.created_at, i.created_at,
                       $16, i.event_json, i.subject_override, i.transactional
                FROM input i JOIN claimed c ON c.send_id = i.id
                RETURNING id
            )
            SELECT id FROM inserted
            """);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<string[]> { TypedValue = records.Select(r => r.SendKey).ToArray() });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = records.Select(r => r.Id).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = records.Select(r => r.CreatedAt).ToArray() });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = records.Select(r => r.OrganizationId).ToArray() });
        p.Add(new NpgsqlParameter<Guid?[]> { TypedValue = records.Select(r => r.ContactId).ToArray() });
        p.Add(new NpgsqlParameter<Guid?[]> { TypedValue = records.Select(r => r.WorkflowId).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.JourneyId).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.StepId).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.Variant).ToArray() });
        p.Add(new NpgsqlParameter<Guid?[]> { TypedValue = records.Select(r => r.TemplateId).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = records.Select(r => r.Email).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = records.Select(r => r.Subject).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.Provider).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = records.Select(r => r.Status.ToDb()).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.Error).ToArray() });
        p.Add(NullableText(owner));
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.EventJson).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = records.Select(r => r.SubjectOverride).ToArray() });
        p.Add(new NpgsqlParameter<bool[]> { TypedValue = records.Select(r => r.Transactional).ToArray() });
        var created = new HashSet<Guid>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                created.Add(reader.GetGuid(0));
            }
        }

        var taken = records.Where(r => !created.Contains(r.Id)).Select(r => r.SendKey).ToArray();
        var holders = new Dictionary<string, SendRecord>(StringComparer.Ordinal);
        if (taken.Length > 0)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var batch = new NpgsqlBatch(connection) { BatchCommands = { KeysCommand(taken) } };
            await using var reader = await batch.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var record = Read(reader);
                holders[record.SendKey] = record;
            }
        }

        return records.Select(r => created.Contains(r.Id)
            ? (r, true)
            : (holders.GetValueOrDefault(r.SendKey) ?? throw new InvalidOperationException($"Send key {r.SendKey} is claimed but its send log row is missing."), false))
            .ToArray();
    }

    public async Task<IReadOnlySet<Guid>> MarkSendingAsync(IReadOnlyList<SendRef> sends, string provider)
    {
        var moved = new HashSet<Guid>();
        if (sends.Count == 0)
        {
            return moved;
        }

        await using var command = dataSource.CreateCommand("""
            UPDATE email_sends s SET status = 'sending', provider = $3, attempts = s.attempts + 1, updated_at = now()
            FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, created_at)
            WHERE s.id = u.id AND s.created_at = u.created_at AND s.status = 'queued' AND s.owner IS NOT DISTINCT FROM $4
              AND NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = s.organization_id AND o.sending_paused_at IS NOT NULL)
            RETURNING s.id
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = sends.Select(s => s.Id).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = sends.Select(s => s.CreatedAt).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = provider });
        command.Parameters.Add(NullableText(owner));
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            moved.Add(reader.GetGuid(0));
        }

        return moved;
    }

    public async Task RecordOutcomesAsync(IReadOnlyList<SendOutcomeRecord> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand("""
            UPDATE email_sends s SET
                -- A provider webhook can report delivery (or a bounce) before the send's own answer is written here.
                status = CASE WHEN u.status = 'sent' AND s.status IN ('delivered', 'bounced', 'complained') THEN s.status ELSE u.status END,
                provider = coalesce(u.provider, s.provider),
                provider_message_id = coalesce(u.message_id, s.provider_message_id),
                error = CASE WHEN u.status = 'sent' AND s.status IN ('delivered', 'bounced', 'complained') THEN s.error ELSE u.error END,
                sent_at = CASE WHEN u.status = 'sent' THEN u.at ELSE s.sent_at END,
                updated_at = u.at
            FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
                AS u(id, created_at, status, provider, message_id, error, at)
            WHERE s.id = u.id AND s.created_at = u.created_at
            """);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = outcomes.Select(o => o.Send.Id).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = outcomes.Select(o => o.Send.CreatedAt).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = outcomes.Select(o => o.Status.ToDb()).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = outcomes.Select(o => o.Provider).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = outcomes.Select(o => o.ProviderMessageId).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = outcomes.Select(o => o.Error).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = outcomes.Select(o => o.At).ToArray() });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<SendPage> ListAsync(Guid organizationId, SendQuery query)
    {
        var hasCursor = SendCursor.TryDecode(query.Cursor, out var afterTime, out var afterId);
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns}, s.open_count, s.click_count, s.unique_clicks, s.machine_opens, s.machine_clicks, s.bounce_type,
                   s.complained_at, s.unsubscribed_at
            FROM email_sends s
            WHERE s.organization_id = $1
              AND ($2::uuid IS NULL OR s.contact_id = $2)
              AND ($3::uuid IS NULL OR s.workflow_id = $3)
              AND ($4::text IS NULL OR s.status = $4)
              AND ($5::timestamptz IS NULL OR (s.created_at, s.id) < ($5, $6))
            ORDER BY s.created_at DESC, s.id DESC
            LIMIT $7
            """);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        p.Add(NullableParameter(query.ContactId));
        p.Add(NullableParameter(query.WorkflowId));
        p.Add(NullableText(query.Status?.ToDb()));
        p.Add(hasCursor ? new NpgsqlParameter<DateTimeOffset> { TypedValue = afterTime } : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        p.Add(hasCursor ? new NpgsqlParameter<Guid> { TypedValue = afterId } : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        p.Add(new NpgsqlParameter<int> { TypedValue = query.Limit + 1 });
        var items = new List<SendRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            items.Add(Read(reader) with
            {
                Engagement = new SendEngagement(
                    reader.GetInt32(22), reader.GetInt32(23), reader.GetInt32(24), reader.GetInt32(25), reader.GetInt32(26),
                    Nullable(reader, 27), Time(reader, 28), Time(reader, 29)),
            });
        }

        var more = items.Count > query.Limit;
        if (more)
        {
            items.RemoveAt(items.Count - 1);
        }

        return new SendPage(items, more ? SendCursor.Encode(items[^1]) : null);
    }

    public async Task<long> CountAsync(Guid organizationId, SendStatus status)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM email_sends WHERE organization_id = $1 AND status = $2");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status.ToDb() });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async Task<int> SettleInterruptedAsync(TimeSpan olderThan)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE email_sends SET status = 'unknown', updated_at = now(),
                error = coalesce(error || '; ', '') || 'interrupted while sending (its silo stopped); may have been accepted, not resent'
            WHERE status = 'sending' AND updated_at < now() - $1
            """);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = olderThan });
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<SendOwner>> ListOwnersAsync()
    {
        await using var command = dataSource.CreateCommand("""
            SELECT owner, min(updated_at) FROM email_sends
            WHERE status IN ('queued', 'sending') AND owner IS NOT NULL
            GROUP BY owner
            """);
        var owners = new List<SendOwner>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            owners.Add(new SendOwner(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return owners;
    }

    public async Task<int> SettleSendingOfAsync(string deadOwner)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE email_sends SET status = 'unknown', updated_at = now(),
                error = coalesce(error || '; ', '') || 'in flight when its silo died; may have been accepted, not resent'
            WHERE owner = $1 AND status = 'sending'
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deadOwner });
        return await command.ExecuteNonQueryAsync();
    }

    public async Task<IReadOnlyList<SendRecord>> TakeOverQueuedAsync(string deadOwner, int limit)
    {
        // SKIP LOCKED lets several survivors take disjoint batches at once; the owner test in the UPDATE itself is what
        // makes each row move exactly once.
        await using var command = dataSource.CreateCommand($"""
            WITH batch AS (
                SELECT id, created_at FROM email_sends
                WHERE owner = $1 AND status = 'queued'
                LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE email_sends s SET owner = $2, updated_at = now()
            FROM batch
            WHERE s.id = batch.id AND s.created_at = batch.created_at AND s.owner = $1 AND s.status = 'queued'
            RETURNING {Columns}, s.event_json, s.subject_override, s.transactional
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = deadOwner });
        command.Parameters.Add(NullableText(owner));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var taken = new List<SendRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            taken.Add(Read(reader) with
            {
                EventJson = Nullable(reader, 22),
                SubjectOverride = Nullable(reader, 23),
                Transactional = reader.GetBoolean(24),
            });
        }

        return taken;
    }

    public async Task<IReadOnlyList<SendRecord>> TakeHeldAsync(Guid organizationId, Guid? after, int limit)
    {
        // Taking ownership is what lets this silo's worker move them to 'sending'; a copy still queued on another silo's
        // worker then finds the row no longer its own and drops it, so each send goes out once.
        await using var command = dataSource.CreateCommand($"""
            WITH batch AS (
                SELECT id, created_at FROM email_sends
                WHERE organization_id = $1 AND status = 'queued' AND ($4::uuid IS NULL OR id > $4)
                ORDER BY id
                LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE email_sends s SET owner = $2, updated_at = now()
            FROM batch
            WHERE s.id = batch.id AND s.created_at = batch.created_at AND s.status = 'queued'
            RETURNING {Columns}, s.event_json, s.subject_override, s.transactional
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        command.Parameters.Add(NullableText(owner));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<Guid?> { TypedValue = after, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
        var taken = new List<SendRecord>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            taken.Add(Read(reader) with
            {
                EventJson = Nullable(reader, 22),
                SubjectOverride = Nullable(reader, 23),
                Transactional = reader.GetBoolean(24),
            });
        }

        return taken.OrderBy(t => t.Id).ToArray();
    }

    /// <summary>Makes sure the month's partition exists (they are created a year ahead at migration; this covers longer uptimes).</summary>
    private async Task EnsurePartitionAsync(DateTimeOffset at)
    {
        var month = (at.Year * 12) + at.Month;
        if (Volatile.Read(ref _ensuredMonth) == month)
        {
            return;
        }

        await _partitionGate.WaitAsync();
        try
        {
            if (_ensuredMonth != month)
            {
                await using var command = dataSource.CreateCommand("SELECT ensure_email_sends_partition($1)");
                command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at });
                await command.ExecuteNonQueryAsync();
                Volatile.Write(ref _ensuredMonth, month);
            }
        }
        finally
        {
            _partitionGate.Release();
        }
    }

    private static NpgsqlBatchCommand KeysCommand(string[] sendKeys) => Command($"""
        SELECT {Columns} FROM send_keys k
        JOIN email_sends s ON s.id = k.send_id AND s.created_at = k.created_at
        WHERE k.send_key = ANY($1)
        """, (object)sendKeys);

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    private static NpgsqlParameter NullableParameter(Guid? value) =>
        value is { } v ? new NpgsqlParameter<Guid> { TypedValue = v } : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid };

    private static NpgsqlParameter NullableText(string? value) =>
        value is not null ? new NpgsqlParameter<string> { TypedValue = value } : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };

    private static string? Nullable(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static SendRecord Read(NpgsqlDataReader r) => new()
    {
        Id = r.GetGuid(0),
        OrganizationId = r.GetGuid(1),
        SendKey = r.GetString(2),
        ContactId = r.IsDBNull(3) ? null : r.GetGuid(3),
        WorkflowId = r.IsDBNull(4) ? null : r.GetGuid(4),
        JourneyId = Nullable(r, 5),
        StepId = Nullable(r, 6),
        Variant = Nullable(r, 7),
        TemplateId = r.IsDBNull(8) ? null : r.GetGuid(8),
        Email = r.GetString(9),
        Subject = r.GetString(10),
        Provider = Nullable(r, 11),
        ProviderMessageId = Nullable(r, 12),
        Status = SendStatusNames.FromDb(r.GetString(13)),
        Attempts = r.GetInt32(14),
        Error = Nullable(r, 15),
        SentAt = Time(r, 16),
        DeliveredAt = Time(r, 17),
        OpenedAt = Time(r, 18),
        ClickedAt = Time(r, 19),
        BouncedAt = Time(r, 20),
        CreatedAt = r.GetFieldValue<DateTimeOffset>(21),
    };

    /// <summary>A template's content as last read, with the hash that tells whether it changed since.</summary>
    private sealed record CachedTemplate(string Hash, TemplateContent Content);
}
