using Automator.Delivery.Rendering;
using Npgsql;
using NpgsqlTypes;

namespace Automator.Delivery.SendLog;

/// <summary>
/// The send log on PostgreSQL: <c>email_sends</c> (partitioned by month) and <c>send_keys</c> (global key uniqueness).
/// Rows written here are owned by <paramref name="owner"/> (this silo's address) until they are settled, and only their
/// owner moves them to <c>sending</c>, so a send taken over from a dead silo can never be sent by two silos.
/// </summary>
public sealed class PostgresSendLog(NpgsqlDataSource dataSource, string? owner = null) : ISendLog
{
    private const string Columns = """
        s.id, s.organization_id, s.send_key, s.contact_id, s.workflow_id, s.journey_id, s.step_id, s.variant, s.template_id,
        s.email, s.subject, s.provider, s.provider_message_id, s.status, s.attempts, s.error, s.sent_at, s.delivered_at,
        s.opened_at, s.clicked_at, s.bounced_at, s.created_at
        """;

    private readonly SemaphoreSlim _partitionGate = new(1, 1);
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

    public async Task<DeliveryFacts> LoadFactsAsync(Guid organizationId, Guid contactId, string email, Guid templateId)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                Command("SELECT name, postal_address, settings #>> '{delivery,ambiguous}' FROM organizations WHERE id = $1", organizationId),
                Command("""
                    SELECT id, email, first_name, last_name, status, properties::text, unsubscribed_at IS NOT NULL FROM contacts
                    WHERE organization_id = $1 AND (id = $2 OR lower(email) = lower($3))
                    ORDER BY (id = $2) DESC LIMIT 1
                    """, organizationId, contactId, email),
                Command("SELECT subject, html, text, kind FROM email_templates WHERE id = $1 AND organization_id = $2", templateId, organizationId),
                Command("SELECT reason FROM suppressions WHERE organization_id = $1 AND email_hash = $2", organizationId, SuppressionHash.Of(email)),
            },
        };
        await using var reader = await batch.ExecuteReaderAsync();

        string name = "";
        string? postal = null;
        var policy = AmbiguousPolicy.AtMostOnce;
        if (await reader.ReadAsync())
        {
            name = reader.GetString(0);
            postal = reader.IsDBNull(1) ? null : reader.GetString(1);
            policy = (reader.IsDBNull(2) ? null : reader.GetString(2)) is "at-least-once" or "atLeastOnce" ? AmbiguousPolicy.AtLeastOnce : AmbiguousPolicy.AtMostOnce;
        }

        await reader.NextResultAsync();
        ContactFacts? contact = null;
        if (await reader.ReadAsync())
        {
            var status = reader.GetString(4);
            if (reader.GetBoolean(6) && !SuppressionHash.BlockingStatuses.Contains(status))
            {
                status = "unsubscribed";
            }

            contact = new ContactFacts(reader.GetGuid(0), reader.GetString(1), Nullable(reader, 2), Nullable(reader, 3), status, Nullable(reader, 5));
        }

        await reader.NextResultAsync();
        TemplateContent? template = null;
        if (await reader.ReadAsync())
        {
            template = new TemplateContent(templateId, reader.GetString(0), reader.GetString(1), Nullable(reader, 2), reader.GetString(3) != "transactional");
        }

        await reader.NextResultAsync();
        var suppressed = await reader.ReadAsync() ? reader.GetString(0) : null;
        return new DeliveryFacts(name, postal, policy, contact, template, suppressed);
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
                status = u.status,
                provider = coalesce(u.provider, s.provider),
                provider_message_id = coalesce(u.message_id, s.provider_message_id),
                error = u.error,
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
            SELECT {Columns} FROM email_sends s
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
            items.Add(Read(reader));
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

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
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

}
