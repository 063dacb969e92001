using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.Contacts;
using Automator.Infrastructure.Protection;
using Npgsql;
using NpgsqlTypes;

namespace Automator.WebApi.Contacts;

/// <summary>
/// The <c>contacts</c> table and what hangs off it, always scoped to one organization. Names and sensitive properties
/// are written encrypted and read back clear (<see cref="ContactFieldCipher"/>).
/// </summary>
public sealed class ContactStore(NpgsqlDataSource dataSource, ContactFieldCipher cipher, TimeProvider time)
{
    private const string Columns = "c.id, c.email, c.first_name, c.last_name, c.time_zone, c.properties, c.status, engagement_score(c.engagement_raw, c.engagement_at), c.created_at, c.updated_at, c.consent_source, c.consent_at";

    public sealed record Upserted(ContactResponse Contact, bool Created);

    /// <summary>
    /// Upserts by email in one statement for the whole set (unnest over arrays). Absent names keep their stored
    /// value; properties merge key by key. A new contact whose address is on the suppression list (unsubscribed,
    /// bounced, complained) starts with that status. Rows must have distinct emails (case-insensitively).
    /// </summary>
    public async Task<List<Upserted>> UpsertAsync(Guid organizationId, IReadOnlyList<ValidContact> rows, CancellationToken cancellationToken)
    {
        if (rows.Count == 0)
        {
            return [];
        }

        await using var command = dataSource.CreateCommand($"""
            INSERT INTO contacts AS c (id, organization_id, email, first_name, last_name, time_zone, properties, status, consent_source, consent_at, created_at, updated_at)
            SELECT i.id, @org, i.email, i.first_name, i.last_name, i.time_zone, COALESCE(i.properties, jsonb_build_object()),
                   COALESCE((SELECT s.reason FROM suppressions s
                             WHERE s.organization_id = @org AND s.reason IN ('unsubscribed', 'bounced', 'complained')
                               AND s.email_hash IN (SELECT h.hash FROM unnest(@hashOwners, @hashes) AS h(owner, hash) WHERE h.owner = i.ordinal - 1)
                             LIMIT 1), 'active'),
                   i.consent_source, i.consent_at, @now, @now
            FROM unnest(@ids, @emails, @firstNames, @lastNames, @timeZones, @properties, @consentSources, @consentAts) WITH ORDINALITY
                AS i(id, email, first_name, last_name, time_zone, properties, consent_source, consent_at, ordinal)
            ON CONFLICT (organization_id, lower(email)) DO UPDATE SET
                first_name = COALESCE(excluded.first_name, c.first_name),
                last_name = COALESCE(excluded.last_name, c.last_name),
                time_zone = COALESCE(excluded.time_zone, c.time_zone),
                properties = c.properties || excluded.properties,
                consent_source = COALESCE(excluded.consent_source, c.consent_source),
                consent_at = CASE WHEN excluded.consent_source IS NULL THEN c.consent_at ELSE excluded.consent_at END,
                updated_at = excluded.updated_at
            RETURNING {Columns}, (xmax = 0) AS inserted
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("ids", rows.Select(_ => Guid.CreateVersion7()).ToArray());
        command.Parameters.AddWithValue("emails", rows.Select(r => r.Email).ToArray());
        var (owners, hashes) = SuppressionHasher.Current.Candidates(rows.Select(r => r.Email).ToList());
        command.Parameters.AddWithValue("hashOwners", owners);
        command.Parameters.AddWithValue("hashes", hashes);
        command.Parameters.Add(new NpgsqlParameter("firstNames", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)cipher.Protect(r.FirstName) ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("lastNames", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)cipher.Protect(r.LastName) ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("timeZones", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)r.TimeZone ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("properties", NpgsqlDbType.Array | NpgsqlDbType.Jsonb) { Value = rows.Select(r => (object?)cipher.ProtectProperties(r.PropertiesJson) ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("consentSources", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = rows.Select(r => (object?)r.ConsentSource ?? DBNull.Value).ToArray() });
        command.Parameters.Add(new NpgsqlParameter("consentAts", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = rows.Select(r => (object?)r.ConsentAt ?? DBNull.Value).ToArray() });
        var result = new List<Upserted>(rows.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new Upserted(Read(reader), reader.GetBoolean(12)));
        }

        return result;
    }

    public async Task<ContactResponse?> GetAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM contacts c WHERE c.id = @id AND c.organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<List<ContactResponse>> ListAsync(Guid organizationId, string? email, PropertyMatch? property, Guid? segmentId, Guid? listId, Guid? after, int take, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM contacts c
            WHERE c.organization_id = @org
              AND (@email::text IS NULL OR lower(c.email) = lower(@email))
              AND (@property::text IS NULL OR c.properties ->> @property = @value)
              AND (@segment::uuid IS NULL OR EXISTS (SELECT 1 FROM segment_members m WHERE m.segment_id = @segment AND m.contact_id = c.id))
              AND (@list::uuid IS NULL OR EXISTS (SELECT 1 FROM list_members l WHERE l.list_id = @list AND l.contact_id = c.id))
              AND (@after::uuid IS NULL OR c.id > @after)
            ORDER BY c.id LIMIT @take
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.Add(new NpgsqlParameter<string?>("email", NpgsqlDbType.Text) { TypedValue = email });
        command.Parameters.Add(new NpgsqlParameter<string?>("property", NpgsqlDbType.Text) { TypedValue = property?.Key });
        command.Parameters.Add(new NpgsqlParameter<string?>("value", NpgsqlDbType.Text) { TypedValue = property?.Value });
        command.Parameters.Add(new NpgsqlParameter<Guid?>("segment", NpgsqlDbType.Uuid) { TypedValue = segmentId });
        command.Parameters.Add(new NpgsqlParameter<Guid?>("list", NpgsqlDbType.Uuid) { TypedValue = listId });
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take);
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>The lists the contact belongs to, oldest membership first.</summary>
    public async Task<List<ContactListMembership>> ListsOfAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT l.id, l.name, m.joined_at FROM list_members m JOIN email_lists l ON l.id = m.list_id
            WHERE m.contact_id = @id AND l.organization_id = @org ORDER BY m.joined_at, l.id
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        var rows = new List<ContactListMembership>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ContactListMembership(reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return rows;
    }

    /// <summary>The contact's journey in each workflow (one per workflow), the ones still running first, then the latest.</summary>
    public async Task<List<ContactJourney>> JourneysOfAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT j.journey_id, j.workflow_id, w.name, j.version, j.status, j.step_id, j.entered_at, j.ended_at, j.updated_at
            FROM journeys j JOIN workflows w ON w.id = j.workflow_id AND w.organization_id = @org
            WHERE j.contact_id = @id AND j.organization_id = @org
            ORDER BY (j.ended_at IS NULL) DESC, j.updated_at DESC, j.journey_id LIMIT 500
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        var rows = new List<ContactJourney>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new ContactJourney(reader.GetString(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8)));
        }

        return rows;
    }

    /// <summary>Applies a patch: each given field replaces the stored one, properties merge and a null property removes it.</summary>
    public async Task<ContactResponse?> PatchAsync(Guid organizationId, Guid id, ContactPatch patch, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE contacts c SET
                email = CASE WHEN @setEmail THEN @email ELSE c.email END,
                first_name = CASE WHEN @setFirst THEN @first ELSE c.first_name END,
                last_name = CASE WHEN @setLast THEN @last ELSE c.last_name END,
                time_zone = CASE WHEN @setTz THEN @tz ELSE c.time_zone END,
                properties = jsonb_strip_nulls(c.properties || COALESCE(@properties::jsonb, jsonb_build_object())),
                updated_at = @now
            WHERE c.id = @id AND c.organization_id = @org
            RETURNING {Columns}
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("setEmail", patch.Email is not null);
        command.Parameters.Add(new NpgsqlParameter<string?>("email", NpgsqlDbType.Text) { TypedValue = patch.Email });
        command.Parameters.AddWithValue("setFirst", patch.SetFirstName);
        command.Parameters.Add(new NpgsqlParameter<string?>("first", NpgsqlDbType.Text) { TypedValue = cipher.Protect(patch.FirstName) });
        command.Parameters.AddWithValue("setLast", patch.SetLastName);
        command.Parameters.Add(new NpgsqlParameter<string?>("last", NpgsqlDbType.Text) { TypedValue = cipher.Protect(patch.LastName) });
        command.Parameters.AddWithValue("setTz", patch.SetTimeZone);
        command.Parameters.Add(new NpgsqlParameter<string?>("tz", NpgsqlDbType.Text) { TypedValue = patch.TimeZone });
        command.Parameters.Add(new NpgsqlParameter<string?>("properties", NpgsqlDbType.Text) { TypedValue = cipher.ProtectProperties(patch.PropertiesJson) });
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new DuplicateEmailException();
        }
    }

    public async Task<ContactResponse?> SetStatusAsync(Guid organizationId, Guid id, string status, string? source, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            UPDATE contacts c SET status = @status, updated_at = @now,
                unsubscribed_at = CASE WHEN @status = 'unsubscribed' THEN COALESCE(c.unsubscribed_at, @now) ELSE c.unsubscribed_at END,
                unsubscribe_source = CASE WHEN @status = 'unsubscribed' AND c.unsubscribed_at IS NULL THEN @source ELSE c.unsubscribe_source END
            WHERE c.id = @id AND c.organization_id = @org
            RETURNING {Columns}
            """, connection, transaction);
        command.Parameters.AddWithValue("status", status);
        command.Parameters.Add(new NpgsqlParameter<string?>("source", NpgsqlDbType.Text) { TypedValue = source });
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        ContactResponse? contact;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            contact = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        if (contact is null)
        {
            return null;
        }

        await SuppressAsync(connection, transaction, organizationId, contact.Email, status, source, keepEmail: true, time.GetUtcNow(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return contact;
    }

    /// <summary>
    /// Adds (or upgrades) a suppression; an <c>erased</c> entry is never downgraded. True when it is new. The row is
    /// keyed by the active suppression hash (<see cref="SuppressionHasher.Current"/>); a row of the same address under an
    /// older key or the plain hash is folded into it (keeping <c>erased</c> and the first time), which is how an erased
    /// row gets re-keyed once its address is seen again.
    /// </summary>
    public static async Task<bool> SuppressAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid organizationId, string email, string reason, string? source, bool keepEmail, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var hasher = SuppressionHasher.Current;
        var candidates = hasher.Candidates(email);
        await using var command = new NpgsqlCommand("""
            WITH old AS (
                DELETE FROM suppressions
                WHERE organization_id = @org AND email_hash = ANY(@older)
                RETURNING reason, source, created_at),
            merged AS (
                SELECT CASE WHEN EXISTS (SELECT 1 FROM old WHERE reason = 'erased') THEN 'erased' ELSE @reason END AS reason,
                       COALESCE((SELECT min(created_at) FROM old), @now) AS created_at,
                       EXISTS (SELECT 1 FROM old) AS folded)
            INSERT INTO suppressions AS s (organization_id, email_hash, hash_key, email, reason, source, created_at)
            SELECT @org, @hash, @key, CASE WHEN m.reason = 'erased' THEN NULL ELSE @email END, m.reason, @source, m.created_at FROM merged m
            ON CONFLICT (organization_id, email_hash) DO UPDATE SET
                reason = CASE WHEN s.reason = 'erased' THEN s.reason ELSE excluded.reason END,
                email = CASE WHEN s.reason = 'erased' OR excluded.reason = 'erased' THEN NULL ELSE excluded.email END,
                source = COALESCE(excluded.source, s.source),
                hash_key = excluded.hash_key
            RETURNING (xmax = 0) AND NOT (SELECT folded FROM merged)
            """, connection, transaction);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("hash", candidates[0]);
        command.Parameters.AddWithValue("older", candidates[1..]);
        command.Parameters.AddWithValue("key", hasher.ActiveKeyId);
        command.Parameters.Add(new NpgsqlParameter("email", NpgsqlDbType.Text) { Value = keepEmail ? email.Trim() : DBNull.Value });
        command.Parameters.AddWithValue("reason", reason);
        command.Parameters.Add(new NpgsqlParameter("source", NpgsqlDbType.Text) { Value = (object?)source ?? DBNull.Value });
        command.Parameters.AddWithValue("now", now);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// GDPR erasure in one transaction: the contact row and its memberships go, events and journey details lose their
    /// payloads, sends lose the address and subject, stored idempotent responses that quote the address are dropped,
    /// and the address stays only as a hash in the suppression list (reason <c>erased</c>).
    /// </summary>
    public async Task<bool> EraseAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? email;
        await using (var find = new NpgsqlCommand("SELECT email FROM contacts WHERE id = @id AND organization_id = @org FOR UPDATE", connection, transaction))
        {
            find.Parameters.AddWithValue("id", id);
            find.Parameters.AddWithValue("org", organizationId);
            email = (string?)await find.ExecuteScalarAsync(cancellationToken);
        }

        if (email is null)
        {
            return false;
        }

        await SuppressAsync(connection, transaction, organizationId, email, "erased", "gdpr_erasure", keepEmail: false, time.GetUtcNow(), cancellationToken);
        await using (var erase = new NpgsqlCommand("""
            UPDATE events SET properties = '{}'::jsonb, idempotency_key = NULL WHERE organization_id = @org AND contact_id = @id;
            UPDATE journey_events SET detail = NULL WHERE organization_id = @org AND contact_id = @id;
            UPDATE email_sends SET email = 'erased', subject = '', error = NULL WHERE organization_id = @org AND contact_id = @id;
            DELETE FROM idempotency_keys WHERE organization_id = @org AND strpos(lower(response::text), lower(@email)) > 0;
            DELETE FROM list_members WHERE contact_id = @id;
            DELETE FROM segment_members WHERE contact_id = @id;
            DELETE FROM contacts WHERE id = @id AND organization_id = @org;
            """, connection, transaction))
        {
            erase.Parameters.AddWithValue("org", organizationId);
            erase.Parameters.AddWithValue("id", id);
            erase.Parameters.AddWithValue("email", email);
            await erase.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Everything held on one contact, as one JSON document.</summary>
    public async Task<JsonDocument?> ExportAsync(Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT jsonb_build_object(
              'exportedAt', @now,
              'profile', jsonb_build_object('id', c.id, 'email', c.email, 'firstName', c.first_name, 'lastName', c.last_name,
                  'timeZone', c.time_zone, 'properties', c.properties, 'status', c.status, 'engagementScore', engagement_score(c.engagement_raw, c.engagement_at),
                  'createdAt', c.created_at, 'updatedAt', c.updated_at),
              'consent', jsonb_build_object('source', c.consent_source, 'at', c.consent_at, 'unsubscribedAt', c.unsubscribed_at, 'unsubscribeSource', c.unsubscribe_source, 'status', c.status),
              'events', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'name', e.name, 'properties', e.properties,
                  'occurredAt', e.occurred_at, 'receivedAt', e.received_at) ORDER BY e.occurred_at DESC)
                  FROM events e WHERE e.organization_id = @org AND e.contact_id = c.id), '[]'::jsonb),
              'lists', COALESCE((SELECT jsonb_agg(jsonb_build_object('listId', l.id, 'name', l.name, 'joinedAt', m.joined_at) ORDER BY m.joined_at)
                  FROM list_members m JOIN email_lists l ON l.id = m.list_id WHERE m.contact_id = c.id AND l.organization_id = @org), '[]'::jsonb),
              'segments', COALESCE((SELECT jsonb_agg(jsonb_build_object('segmentId', s.id, 'name', s.name, 'enteredAt', m.entered_at) ORDER BY m.entered_at)
                  FROM segment_members m JOIN segments s ON s.id = m.segment_id WHERE m.contact_id = c.id AND s.organization_id = @org), '[]'::jsonb),
              'sends', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', s.id, 'sendKey', s.send_key, 'email', s.email, 'subject', s.subject,
                  'workflowId', s.workflow_id, 'stepId', s.step_id, 'templateId', s.template_id, 'provider', s.provider, 'status', s.status,
                  'sentAt', s.sent_at, 'deliveredAt', s.delivered_at, 'openedAt', s.opened_at, 'clickedAt', s.clicked_at,
                  'bouncedAt', s.bounced_at, 'createdAt', s.created_at) ORDER BY s.created_at DESC)
                  FROM email_sends s WHERE s.organization_id = @org AND s.contact_id = c.id), '[]'::jsonb),
              'journeyEvents', COALESCE((SELECT jsonb_agg(jsonb_build_object('workflowId', j.workflow_id, 'journeyId', j.journey_id,
                  'version', j.version, 'kind', j.kind, 'stepId', j.step_id, 'detail', j.detail, 'occurredAt', j.occurred_at) ORDER BY j.occurred_at DESC)
                  FROM journey_events j WHERE j.organization_id = @org AND j.contact_id = c.id), '[]'::jsonb),
              'suppressions', COALESCE((SELECT jsonb_agg(jsonb_build_object('reason', p.reason, 'source', p.source, 'createdAt', p.created_at))
                  FROM suppressions p WHERE p.organization_id = @org AND p.email_hash = ANY(@hashes)), '[]'::jsonb))
            FROM contacts c WHERE c.id = @id AND c.organization_id = @org
            """);
        var contact = await GetAsync(organizationId, id, cancellationToken);
        if (contact is null)
        {
            return null;
        }

        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("hashes", SuppressionHasher.Current.Candidates(contact.Email));
        var json = (string?)await command.ExecuteScalarAsync(cancellationToken);
        if (json is null)
        {
            return null;
        }

        // The profile as stored holds ciphertext: the export carries the clear values read above.
        var export = JsonNode.Parse(json)!;
        var profile = export["profile"]!;
        profile["firstName"] = contact.FirstName;
        profile["lastName"] = contact.LastName;
        profile["properties"] = JsonNode.Parse(contact.Properties.GetRawText());
        return JsonDocument.Parse(export.ToJsonString());
    }

    /// <summary>Events, journey steps and sends of one contact, newest first, after the <paramref name="cursor"/> item.</summary>
    public async Task<List<TimelineItem>> TimelineAsync(Guid organizationId, Guid id, TimelineCursor? cursor, int take, CancellationToken cancellationToken)
    {
        // Ordered by (time, type, id) descending so that items sharing a timestamp page without loss or repetition.
        await using var command = dataSource.CreateCommand("""
            SELECT type, key, at, name, detail FROM (
                SELECT 'event' AS type, e.id::text AS key, e.occurred_at AS at, e.name, jsonb_build_object('properties', e.properties) AS detail
                FROM events e WHERE e.organization_id = @org AND e.contact_id = @id AND (@at::timestamptz IS NULL OR e.occurred_at <= @at)
                UNION ALL
                SELECT 'journey', j.id::text, j.occurred_at, j.kind, jsonb_build_object('workflowId', j.workflow_id, 'journeyId', j.journey_id, 'stepId', j.step_id, 'detail', j.detail)
                FROM journey_events j WHERE j.organization_id = @org AND j.contact_id = @id AND (@at::timestamptz IS NULL OR j.occurred_at <= @at)
                UNION ALL
                SELECT 'send', s.id::text, s.created_at, s.status, jsonb_build_object('subject', s.subject, 'workflowId', s.workflow_id, 'stepId', s.step_id,
                    'provider', s.provider, 'sentAt', s.sent_at, 'deliveredAt', s.delivered_at, 'openedAt', s.opened_at, 'clickedAt', s.clicked_at)
                FROM email_sends s WHERE s.organization_id = @org AND s.contact_id = @id AND (@at::timestamptz IS NULL OR s.created_at <= @at)
            ) t
            WHERE @at::timestamptz IS NULL OR (t.at, t.type, t.key) < (@at, @type, @key)
            ORDER BY t.at DESC, t.type DESC, t.key DESC LIMIT @take
            """);
        command.Parameters.AddWithValue("org", organizationId);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("at", NpgsqlDbType.TimestampTz) { TypedValue = cursor?.At });
        command.Parameters.Add(new NpgsqlParameter<string?>("type", NpgsqlDbType.Text) { TypedValue = cursor?.Type });
        command.Parameters.Add(new NpgsqlParameter<string?>("key", NpgsqlDbType.Text) { TypedValue = cursor?.Id });
        command.Parameters.AddWithValue("take", take);
        var items = new List<TimelineItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new TimelineItem(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : JsonDocument.Parse(reader.GetString(4)).RootElement.Clone()));
        }

        return items;
    }

    private ContactResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : cipher.Reveal(reader.GetString(2)), reader.IsDBNull(3) ? null : cipher.Reveal(reader.GetString(3)),
        reader.IsDBNull(4) ? null : reader.GetString(4), JsonDocument.Parse(cipher.RevealProperties(reader.GetString(5))).RootElement.Clone(), reader.GetString(6),
        reader.GetInt32(7), reader.GetFieldValue<DateTimeOffset>(8), reader.GetFieldValue<DateTimeOffset>(9),
        reader.IsDBNull(10) || reader.IsDBNull(11) ? null : new ContactConsent(reader.GetString(10), reader.GetFieldValue<DateTimeOffset>(11)));

    private async Task<List<ContactResponse>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<ContactResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return rows;
    }
}

/// <summary>A validated PATCH: <c>SetX</c> says whether the field was present (null then clears it).</summary>
public sealed record ContactPatch(string? Email, bool SetFirstName, string? FirstName, bool SetLastName, string? LastName, bool SetTimeZone, string? TimeZone, string? PropertiesJson);

public sealed class DuplicateEmailException : Exception;

/// <summary>A search for contacts whose top-level property <see cref="Key"/> reads as <see cref="Value"/>.</summary>
public sealed record PropertyMatch(string Key, string Value);
