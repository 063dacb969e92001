using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.Analytics;

/// <summary>Settings under <c>Automator:Analytics</c>.</summary>
public sealed class AnalyticsOptions
{
    public const string Section = "Automator:Analytics";

    /// <summary>How often each silo rolls up what is pending (it goes on at once while a pass finds a full batch).</summary>
    public TimeSpan RollupInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Pending facts counted per transaction.</summary>
    public int BatchSize { get; set; } = 20_000;

    /// <summary>Hourly rows older than this are deleted.</summary>
    public int RetentionDays { get; set; } = 400;
}

/// <summary>What one rollup pass did.</summary>
/// <param name="Rolled">Pending facts counted into the hourly rows.</param>
/// <param name="OldestLag">Longest time one of them waited between its commit and this rollup.</param>
/// <param name="Skipped">Another silo was rolling up; nothing was done here.</param>
public readonly record struct RollupPass(int Rolled, TimeSpan OldestLag, bool Skipped);

/// <summary>
/// Counts what the send log and the journeys record into <c>analytics_hourly</c>. The database triggers write each
/// fact (a send sent, delivered, first opened, ...; a goal reached) to <c>analytics_pending</c> in the transaction that
/// makes it true; a pass deletes a batch of pending facts and adds them to the hourly rows in one transaction, so each
/// fact is counted once whenever it commits. One pass at a time per cluster (a transaction-scoped advisory lock): passes
/// on several silos never fight over the same hourly rows.
/// </summary>
public sealed class AnalyticsRollup(NpgsqlDataSource dataSource, IOptions<AnalyticsOptions> options, TimeProvider time, ILogger<AnalyticsRollup> logger)
    : BackgroundService
{
    private const long LockKey = 0x616E616C79746963; // "analytic"

    /// <summary>How long a journey's send may wait for the journey's history to name its workflow version.</summary>
    public static readonly TimeSpan VersionGrace = TimeSpan.FromSeconds(30);
    private static readonly Histogram<double> Lag = AutomatorMeters.Meter.CreateHistogram<double>(
        "automator.analytics.lag", unit: "s", description: "Time from a fact's commit to its rollup into the hourly figures");

    private DateTimeOffset _purgedAt = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RollupInterval, time);
        do
        {
            try
            {
                RollupPass pass;
                do
                {
                    pass = await RollupAsync(wait: false, stoppingToken);
                }
                while (!pass.Skipped && pass.Rolled >= options.Value.BatchSize && !stoppingToken.IsCancellationRequested);

                if (time.GetUtcNow() - _purgedAt > TimeSpan.FromHours(1))
                {
                    await PurgeAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Analytics rollup failed; retrying at the next interval");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Rolls up everything pending now, waiting for another silo's pass if one is running.</summary>
    public async Task<int> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        var total = 0;
        RollupPass pass;
        do
        {
            pass = await RollupAsync(wait: true, cancellationToken);
            total += pass.Rolled;
        }
        while (pass.Rolled > 0);

        return total;
    }

    /// <summary>One batch: with <paramref name="wait"/> false, a pass already running elsewhere makes this one skip.</summary>
    public async Task<RollupPass> RollupAsync(bool wait, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var take = new NpgsqlCommand(wait ? $"SELECT pg_advisory_xact_lock({LockKey}), true" : $"SELECT pg_try_advisory_xact_lock({LockKey})", connection, transaction))
        {
            var reader = await take.ExecuteReaderAsync(cancellationToken);
            await using (reader)
            {
                await reader.ReadAsync(cancellationToken);
                if (!reader.GetBoolean(reader.FieldCount - 1))
                {
                    return new RollupPass(0, TimeSpan.Zero, Skipped: true);
                }
            }
        }

        // The send's workflow version is the one its journey recorded with the send (sends made outside journeys: 0). The
        // journey writes its history behind its sends, so a fact whose journey has not recorded the send yet waits for it,
        // up to VersionGrace, rather than being counted under no version.
        await using var command = new NpgsqlCommand("""
            WITH window_rows AS (
                SELECT id, journey_id, send_key, enqueued_at, version FROM analytics_pending ORDER BY id LIMIT $1
            ), versions AS (
                -- Once per send, however many of its facts the window holds.
                SELECT n.journey_id, n.send_key, v.version
                FROM (SELECT DISTINCT journey_id, send_key FROM window_rows WHERE version IS NULL AND journey_id IS NOT NULL) n
                CROSS JOIN LATERAL (
                    SELECT j.version FROM journey_events j
                    WHERE j.journey_id = n.journey_id AND j.kind = 'send' AND j.detail = to_jsonb(n.send_key)
                    ORDER BY j.id DESC LIMIT 1) v
            ), resolved AS (
                SELECT w.id, w.journey_id, w.enqueued_at, coalesce(w.version, v.version) AS version
                FROM window_rows w LEFT JOIN versions v ON v.journey_id = w.journey_id AND v.send_key = w.send_key
            ), ready AS (
                SELECT id, coalesce(version, 0) AS version FROM resolved
                WHERE version IS NOT NULL OR journey_id IS NULL OR enqueued_at < clock_timestamp() - $2
            ), claimed AS (
                DELETE FROM analytics_pending a USING ready r WHERE a.id = r.id
                RETURNING a.organization_id, a.kind, a.at, a.workflow_id, r.version, a.step_id, a.variant, a.provider, a.enqueued_at
            ), facts AS (
                SELECT c.organization_id, date_trunc('hour', c.at, 'UTC') AS hour,
                       coalesce(c.workflow_id, '00000000-0000-0000-0000-000000000000'::uuid) AS workflow_id,
                       c.version, coalesce(c.step_id, '') AS step_id,
                       coalesce(c.variant, '') AS variant, coalesce(c.provider, '') AS provider, c.kind
                FROM claimed c
            ), rolled AS (
                INSERT INTO analytics_hourly AS h (organization_id, hour, workflow_id, version, step_id, variant, provider,
                                                   sent, delivered, opened, clicked, bounced, complained, unsubscribed, goals,
                                                   variant_goals)
                SELECT organization_id, hour, workflow_id, version, step_id, variant, provider,
                       count(*) FILTER (WHERE kind = 'sent'), count(*) FILTER (WHERE kind = 'delivered'),
                       count(*) FILTER (WHERE kind = 'opened'), count(*) FILTER (WHERE kind = 'clicked'),
                       count(*) FILTER (WHERE kind = 'bounced'), count(*) FILTER (WHERE kind = 'complained'),
                       count(*) FILTER (WHERE kind = 'unsubscribed'), count(*) FILTER (WHERE kind = 'goal'),
                       count(*) FILTER (WHERE kind = 'variant_goal')
                FROM facts
                GROUP BY organization_id, hour, workflow_id, version, step_id, variant, provider
                ON CONFLICT (organization_id, hour, workflow_id, version, step_id, variant, provider) DO UPDATE SET
                    sent = h.sent + excluded.sent, delivered = h.delivered + excluded.delivered,
                    opened = h.opened + excluded.opened, clicked = h.clicked + excluded.clicked,
                    bounced = h.bounced + excluded.bounced, complained = h.complained + excluded.complained,
                    unsubscribed = h.unsubscribed + excluded.unsubscribed, goals = h.goals + excluded.goals,
                    variant_goals = h.variant_goals + excluded.variant_goals
            )
            SELECT count(*)::int, min(enqueued_at) FROM claimed
            """, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = options.Value.BatchSize });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = VersionGrace });
        int rolled;
        DateTimeOffset? oldest;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            rolled = reader.GetInt32(0);
            oldest = reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1);
        }

        await transaction.CommitAsync(cancellationToken);
        var lag = oldest is { } o ? time.GetUtcNow() - o : TimeSpan.Zero;
        if (rolled > 0)
        {
            Lag.Record(Math.Max(lag.TotalSeconds, 0));
        }

        return new RollupPass(rolled, lag, Skipped: false);
    }

    /// <summary>Deletes the hourly rows past the retention period.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var command = dataSource.CreateCommand("DELETE FROM analytics_hourly WHERE hour < $1");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now.AddDays(-options.Value.RetentionDays) });
        var purged = await command.ExecuteNonQueryAsync(cancellationToken);
        _purgedAt = now;
        if (purged > 0)
        {
            logger.LogInformation("Purged {Count} hourly analytics row(s) older than {Days} days", purged, options.Value.RetentionDays);
        }

        return purged;
    }
}

public static class AnalyticsServiceCollectionExtensions
{
    /// <summary>
    /// The rollup worker, for silos on PostgreSQL only: front ends, grain tests and in-memory mode have nothing to roll up.
    /// </summary>
    public static IServiceCollection AddAnalyticsRollup(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AnalyticsOptions>(configuration.GetSection(AnalyticsOptions.Section));
        services.AddSingleton<AnalyticsRollup>();
        services.AddHostedService(sp => sp.GetRequiredService<AnalyticsRollup>());
        return services;
    }
}
