using System.Text.Json;
using System.Threading.Channels;
using Automator.Delivery;
using Automator.Delivery.SendLog;
using Automator.Infrastructure.Telemetry;
using Automator.Journeys;
using Automator.WebApi.Contacts;
using Automator.WebApi.Events;
using Automator.Workflows;
using Npgsql;

namespace Automator.WebApi.Engagement;

/// <summary>
/// Records engagement in one transaction per batch: provider event ids claimed (a repeat is ignored), the named sends
/// locked, every signal kept in <c>email_engagements</c>, each send's status, times and counts written as
/// <see cref="EngagementDecider"/> says, hard bounces, complaints and too many soft bounces suppressed in the send's
/// organization, and the contacts' engagement scores moved. Once committed, each send's step counts the kinds it reached
/// for the first time, and the contact's journeys and triggers get the events (<c>email.opened</c>, ...).
/// </summary>
internal sealed class EngagementRecorder(
    NpgsqlDataSource dataSource,
    EventIngest ingest,
    CounterBuffer counters,
    ContactStore contacts,
    IContactSync sync,
    EngagementOptions options,
    TimeProvider time,
    IMeasurements measurements,
    ILogger<EngagementRecorder> logger) : IEngagementRecorder, IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // Committed engagement waiting to reach its contacts, in the order it was recorded. Bounded: a recorder that
    // outruns the event path waits for it rather than holding an unbounded backlog.
    private readonly Channel<List<SendDecision>> _toEmit = Channel.CreateBounded<List<SendDecision>>(
        new BoundedChannelOptions(1_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private Task? _emitter;

    public async Task<EngagementResult> RecordAsync(IReadOnlyList<EngagementSignal> signals, CancellationToken cancellationToken)
    {
        if (signals.Count == 0)
        {
            return new EngagementResult(0, 0, 0);
        }

        var now = time.GetUtcNow();
        List<SendDecision> decisions;
        var suppressed = new List<(Guid Organization, Guid Contact)>();
        int duplicates, unknown;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var fresh = await ClaimProviderEventsAsync(connection, transaction, signals, cancellationToken);
            duplicates = signals.Count - fresh.Count;
            var sends = await LockSendsAsync(connection, transaction, fresh, cancellationToken);
            var bySend = new Dictionary<Guid, List<EngagementSignal>>();
            unknown = 0;
            foreach (var signal in fresh)
            {
                if (SendOf(signal, sends) is not { } send)
                {
                    unknown++;
                    continue;
                }

                if (!bySend.TryGetValue(send.Id, out var list))
                {
                    bySend[send.Id] = list = [];
                }

                list.Add(signal);
            }

            decisions = bySend.Select(s => EngagementDecider.Decide(sends.ById[s.Key], s.Value)).ToList();
            await InsertEngagementsAsync(connection, transaction, bySend, sends.ById, cancellationToken);
            await UpdateSendsAsync(connection, transaction, decisions, now, cancellationToken);
            await SuppressAsync(connection, transaction, decisions, suppressed, now, cancellationToken);
            await ScoreAsync(connection, transaction, decisions, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        Count(decisions);
        if (decisions.Any(d => d.Events.Count > 0))
        {
            // The answer waits for the commit only: the events follow on one background loop, so a pixel or a
            // provider's batch is not held up by the journeys it wakes.
            _ = LazyInitializer.EnsureInitialized(ref _emitter, () => Task.Run(EmitLoopAsync));
            await _toEmit.Writer.WriteAsync(decisions, cancellationToken);
        }

        await SyncSuppressedAsync(suppressed, cancellationToken);
        return new EngagementResult(signals.Count - duplicates - unknown, duplicates, unknown);
    }

    private sealed record LockedSends(Dictionary<Guid, SendSnapshot> ById, Dictionary<string, Guid> IdByKey);

    private static SendSnapshot? SendOf(EngagementSignal signal, LockedSends sends) =>
        signal.SendId is { } id && sends.ById.TryGetValue(id, out var byId) ? byId
        : signal.SendKey is { } key && sends.IdByKey.TryGetValue(key, out var keyed) ? sends.ById[keyed]
        : null;

    private static async Task<List<EngagementSignal>> ClaimProviderEventsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<EngagementSignal> signals, CancellationToken cancellationToken)
    {
        var withIds = signals.Where(s => s.ProviderEventId is not null).ToList();
        if (withIds.Count == 0)
        {
            return [.. signals];
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO provider_events (source, event_id)
            SELECT DISTINCT source, event_id FROM unnest($1::text[], $2::text[]) AS u(source, event_id)
            ON CONFLICT DO NOTHING
            RETURNING source, event_id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = withIds.Select(s => s.Source).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = withIds.Select(s => s.ProviderEventId!).ToArray() });
        var claimed = new HashSet<(string, string)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        // The same id twice in one batch counts once too.
        return signals.Where(s => s.ProviderEventId is null || claimed.Remove((s.Source, s.ProviderEventId))).ToList();
    }

    private static async Task<LockedSends> LockSendsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<EngagementSignal> signals, CancellationToken cancellationToken)
    {
        var ids = signals.Where(s => s.SendId is not null).Select(s => s.SendId!.Value).ToHashSet();
        var keys = signals.Where(s => s.SendId is null && s.SendKey is not null).Select(s => s.SendKey!).ToHashSet(StringComparer.Ordinal);
        var idByKey = new Dictionary<string, Guid>(StringComparer.Ordinal);
        if (keys.Count > 0)
        {
            await using var lookup = new NpgsqlCommand("SELECT send_key, send_id FROM send_keys WHERE send_key = ANY($1)", connection, transaction);
            lookup.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys.ToArray() });
            await using var reader = await lookup.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                idByKey[reader.GetString(0)] = reader.GetGuid(1);
                ids.Add(reader.GetGuid(1));
            }
        }

        var byId = new Dictionary<Guid, SendSnapshot>();
        if (ids.Count == 0)
        {
            return new LockedSends(byId, idByKey);
        }

        // Locked in id order, so concurrent batches naming the same sends wait for each other instead of deadlocking.
        await using (var command = new NpgsqlCommand("""
            SELECT s.id, s.created_at, s.organization_id, s.contact_id, s.workflow_id, s.step_id, s.variant, s.send_key, s.email,
                   s.status, s.delivered_at, s.opened_at, s.clicked_at, s.bounced_at, s.complained_at, s.unsubscribed_at
            FROM email_sends s WHERE s.id = ANY($1) ORDER BY s.id FOR UPDATE
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var send = new SendSnapshot
                {
                    Id = reader.GetGuid(0),
                    CreatedAt = reader.GetFieldValue<DateTimeOffset>(1),
                    OrganizationId = reader.GetGuid(2),
                    ContactId = reader.IsDBNull(3) ? null : reader.GetGuid(3),
                    WorkflowId = reader.IsDBNull(4) ? null : reader.GetGuid(4),
                    StepId = reader.IsDBNull(5) ? null : reader.GetString(5),
                    Variant = reader.IsDBNull(6) ? null : reader.GetString(6),
                    SendKey = reader.GetString(7),
                    Email = reader.GetString(8),
                    Status = SendStatusNames.FromDb(reader.GetString(9)),
                    DeliveredAt = Time(reader, 10),
                    OpenedAt = Time(reader, 11),
                    ClickedAt = Time(reader, 12),
                    BouncedAt = Time(reader, 13),
                    ComplainedAt = Time(reader, 14),
                    UnsubscribedAt = Time(reader, 15),
                };
                byId[send.Id] = send;
            }
        }

        var clicking = signals.Where(s => s.Kind == EngagementKinds.Clicked && !s.Machine && s.SendId is { } id && byId.ContainsKey(id))
            .Select(s => s.SendId!.Value).ToHashSet();
        if (clicking.Count > 0)
        {
            await using var urls = new NpgsqlCommand("""
                SELECT DISTINCT send_id, url FROM email_engagements
                WHERE send_id = ANY($1) AND kind = 'clicked' AND NOT machine AND url IS NOT NULL
                """, connection, transaction);
            urls.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = clicking.ToArray() });
            var clicked = new Dictionary<Guid, HashSet<string>>();
            await using (var reader = await urls.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var id = reader.GetGuid(0);
                    if (!clicked.TryGetValue(id, out var set))
                    {
                        clicked[id] = set = new HashSet<string>(StringComparer.Ordinal);
                    }

                    set.Add(reader.GetString(1));
                }
            }

            foreach (var (id, set) in clicked)
            {
                byId[id] = byId[id] with { ClickedUrls = set };
            }
        }

        return new LockedSends(byId, idByKey);
    }

    private static async Task InsertEngagementsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Dictionary<Guid, List<EngagementSignal>> bySend,
        Dictionary<Guid, SendSnapshot> sends, CancellationToken cancellationToken)
    {
        var rows = bySend.SelectMany(p => p.Value.Select(s => (Send: sends[p.Key], Signal: s))).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            INSERT INTO email_engagements (id, organization_id, send_id, contact_id, kind, source, url, machine, bounce_type, diagnostic, user_agent, occurred_at)
            SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::boolean[],
                                 $9::text[], $10::text[], $11::text[], $12::timestamptz[])
            """, connection, transaction);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(_ => Guid.CreateVersion7()).ToArray() });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(r => r.Send.OrganizationId).ToArray() });
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = rows.Select(r => r.Send.Id).ToArray() });
        p.Add(new NpgsqlParameter<Guid?[]> { TypedValue = rows.Select(r => r.Send.ContactId).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Signal.Kind).ToArray() });
        p.Add(new NpgsqlParameter<string[]> { TypedValue = rows.Select(r => r.Signal.Source).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = rows.Select(r => Cap(r.Signal.Url, 2048)).ToArray() });
        p.Add(new NpgsqlParameter<bool[]> { TypedValue = rows.Select(r => r.Signal.Machine).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = rows.Select(r => r.Signal.BounceType).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = rows.Select(r => Cap(r.Signal.Diagnostic, 1000)).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = rows.Select(r => Cap(r.Signal.UserAgent, 512)).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = rows.Select(r => r.Signal.At).ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task UpdateSendsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<SendDecision> decisions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changed = decisions.Where(d => d.Changed).ToList();
        if (changed.Count == 0)
        {
            return;
        }

        await using var command = new NpgsqlCommand("""
            UPDATE email_sends s SET
                open_count = s.open_count + u.opens,
                click_count = s.click_count + u.clicks,
                unique_clicks = s.unique_clicks + u.unique_clicks,
                machine_opens = s.machine_opens + u.machine_opens,
                machine_clicks = s.machine_clicks + u.machine_clicks,
                status = coalesce(u.status, s.status),
                delivered_at = coalesce(s.delivered_at, u.delivered_at),
                opened_at = coalesce(s.opened_at, u.opened_at),
                clicked_at = coalesce(s.clicked_at, u.clicked_at),
                bounced_at = coalesce(s.bounced_at, u.bounced_at),
                bounce_type = coalesce(u.bounce_type, s.bounce_type),
                complained_at = coalesce(s.complained_at, u.complained_at),
                unsubscribed_at = coalesce(s.unsubscribed_at, u.unsubscribed_at),
                error = coalesce(u.error, s.error),
                updated_at = $17
            FROM unnest($1::uuid[], $2::timestamptz[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], $8::text[],
                        $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::timestamptz[],
                        $15::timestamptz[], $16::text[])
                AS u(id, created_at, opens, clicks, unique_clicks, machine_opens, machine_clicks, status, delivered_at, opened_at,
                     clicked_at, bounced_at, bounce_type, complained_at, unsubscribed_at, error)
            WHERE s.id = u.id AND s.created_at = u.created_at
            """, connection, transaction);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter<Guid[]> { TypedValue = changed.Select(d => d.Send.Id).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = changed.Select(d => d.Send.CreatedAt).ToArray() });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = changed.Select(d => d.Change.Opens).ToArray() });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = changed.Select(d => d.Change.Clicks).ToArray() });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = changed.Select(d => d.Change.UniqueClicks).ToArray() });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = changed.Select(d => d.Change.MachineOpens).ToArray() });
        p.Add(new NpgsqlParameter<int[]> { TypedValue = changed.Select(d => d.Change.MachineClicks).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = changed.Select(d => d.Change.Status?.ToDb()).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.DeliveredAt).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.OpenedAt).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.ClickedAt).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.BouncedAt).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = changed.Select(d => d.Change.BounceType).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.ComplainedAt).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset?[]> { TypedValue = changed.Select(d => d.Change.UnsubscribedAt).ToArray() });
        p.Add(new NpgsqlParameter<string?[]> { TypedValue = changed.Select(d => d.Change.Error).ToArray() });
        p.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task SuppressAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<SendDecision> decisions, List<(Guid, Guid)> suppressed,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var decision in decisions.Where(d => d.Suppress is not null || d.SoftBounces > 0))
        {
            var send = decision.Send;
            var reason = decision.Suppress;
            if (reason is null && await SoftBouncesAsync(connection, transaction, send, now, cancellationToken) >= options.SoftBounceLimit)
            {
                reason = "bounced";
            }

            if (reason is null)
            {
                continue;
            }

            var source = decision.Suppress is null ? "soft-bounces" : $"{reason}:{send.Id:N}";
            await ContactStore.SuppressAsync(connection, transaction, send.OrganizationId, send.Email, reason, source, keepEmail: true, now, cancellationToken);
            await using var status = new NpgsqlCommand("""
                UPDATE contacts SET status = @reason, updated_at = @now
                WHERE organization_id = @org AND lower(email) = lower(@email) AND status = 'active'
                RETURNING id
                """, connection, transaction);
            status.Parameters.AddWithValue("reason", reason);
            status.Parameters.AddWithValue("now", now);
            status.Parameters.AddWithValue("org", send.OrganizationId);
            status.Parameters.AddWithValue("email", send.Email);
            if (await status.ExecuteScalarAsync(cancellationToken) is Guid contactId)
            {
                suppressed.Add((send.OrganizationId, contactId));
            }
        }
    }

    private async Task<long> SoftBouncesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, SendSnapshot send, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FROM email_engagements e JOIN email_sends s ON s.id = e.send_id
            WHERE e.organization_id = @org AND e.kind = 'bounced' AND e.bounce_type = 'soft' AND e.occurred_at > @since
              AND lower(s.email) = lower(@email) AND s.organization_id = @org AND s.created_at > @since - interval '31 days'
            """, connection, transaction);
        command.Parameters.AddWithValue("org", send.OrganizationId);
        command.Parameters.AddWithValue("since", now - options.SoftBouncePeriod);
        command.Parameters.AddWithValue("email", send.Email);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ScoreAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<SendDecision> decisions, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var weights = decisions.Where(d => d.EngagementWeight > 0 && d.Send.ContactId is not null)
            .GroupBy(d => d.Send.ContactId!.Value).Select(g => (Contact: g.Key, Weight: g.Sum(d => d.EngagementWeight))).OrderBy(w => w.Contact).ToList();
        if (weights.Count == 0)
        {
            return;
        }

        // Same formula as EngagementScore: decay what was there to now, add the new weight.
        await using var command = new NpgsqlCommand("""
            UPDATE contacts c SET
                engagement_raw = CASE WHEN c.engagement_at IS NULL THEN 0
                                      ELSE c.engagement_raw * power(0.5, greatest(extract(epoch FROM $3 - c.engagement_at), 0) / $4) END + u.weight,
                engagement_at = $3
            FROM unnest($1::uuid[], $2::double precision[]) AS u(id, weight)
            WHERE c.id = u.id
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = weights.Select(w => w.Contact).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = weights.Select(w => w.Weight).ToArray() });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        command.Parameters.Add(new NpgsqlParameter<double> { TypedValue = EngagementScore.HalfLife.TotalSeconds });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private void Count(List<SendDecision> decisions)
    {
        foreach (var decision in decisions)
        {
            foreach (var kind in decision.FirstTimes)
            {
                measurements.Engaged(decision.Send.OrganizationId, decision.Send.WorkflowId, decision.Send.StepId, kind);
            }
        }

        foreach (var byWorkflow in decisions.Where(d => d.FirstTimes.Count > 0 && d.Send.WorkflowId is not null && d.Send.StepId is not null)
                     .GroupBy(d => (d.Send.OrganizationId, d.Send.WorkflowId!.Value)))
        {
            var deltas = new List<CounterDelta>();
            foreach (var decision in byWorkflow)
            {
                foreach (var kind in decision.FirstTimes)
                {
                    deltas.Add(new CounterDelta(kind, decision.Send.StepId, null, 1));
                    if (decision.Send.Variant is { } variant)
                    {
                        deltas.Add(new CounterDelta(kind, null, $"{decision.Send.StepId}/{variant}", 1));
                    }
                }
            }

            counters.Add(byWorkflow.Key.OrganizationId, byWorkflow.Key.Item2, deltas);
        }
    }

    private async Task EmitLoopAsync()
    {
        var batch = new List<SendDecision>();
        while (await _toEmit.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < 5_000 && _toEmit.Reader.TryRead(out var decisions))
            {
                batch.AddRange(decisions);
            }

            await EmitAsync(batch);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _toEmit.Writer.TryComplete();
        if (_emitter is { } emitter)
        {
            await emitter;
        }
    }

    /// <summary>
    /// The engagement is committed; its events go to the contacts' journeys and triggers through the event path. A
    /// failure here is logged, not answered: the provider must not resend what is already recorded.
    /// </summary>
    private async Task EmitAsync(List<SendDecision> decisions)
    {
        foreach (var organization in decisions.Where(d => d.Events.Count > 0 && d.Send.ContactId is not null).GroupBy(d => d.Send.OrganizationId))
        {
            var rows = new List<(int, EventEndpoints.ParsedEvent)>();
            foreach (var decision in organization)
            {
                foreach (var e in decision.Events)
                {
                    rows.Add((rows.Count, new EventEndpoints.ParsedEvent(
                        Guid.CreateVersion7(), e.Name, null, decision.Send.ContactId, JsonSerializer.Serialize(e.Properties, Json), e.At, null)));
                }
            }

            try
            {
                await ingest.AcceptAsync(organization.Key, rows);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Engagement events of organization {OrganizationId} were recorded but not all reached its journeys.", organization.Key);
            }
        }
    }

    private async Task SyncSuppressedAsync(List<(Guid Organization, Guid Contact)> suppressed, CancellationToken cancellationToken)
    {
        foreach (var (organization, contact) in suppressed)
        {
            if (await contacts.GetAsync(organization, contact, cancellationToken) is { } row)
            {
                await sync.ProfileChangedAsync([row.ToProfile(organization)], cancellationToken);
            }
        }
    }

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static string? Cap(string? value, int length) => value is null || value.Length <= length ? value : value[..length];
}
