using System.Diagnostics;
using Automator.Analytics;
using Automator.Infrastructure.Database;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.Bench;

/// <summary>
/// Scenario <c>rollups</c>: the analytics rollup keeping up with the send log. On a throwaway PostgreSQL with the shipped
/// schema, a writer commits every 100 ms the sends of that tick with their journeys' <c>send</c> history rows (sent, <c>--sends</c> per second, default 10,000) and the
/// engagement of the previous tick's sends (delivered for all, first opens for 60%, clicks for 30%, complaints and
/// unsubscribes for 5% each: 2 facts per send, so 20,000 per second by default), through the same
/// database triggers the product's own writes fire. Meanwhile one rollup worker runs as a silo runs it (full batches back to
/// back, otherwise every <see cref="AnalyticsOptions.RollupInterval"/>). Reported: what was written, what was rolled up,
/// the lag from a fact's commit to its rollup (the oldest fact of each pass), and the backlog left when writing stops.
/// Options: <c>--seconds N</c> (default 10), <c>--sends N</c> (default 10000).
/// </summary>
public static class RollupBench
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(100);

    public static async Task RunAsync(string[] args)
    {
        var duration = TimeSpan.FromSeconds(ApiBench.Option(args, "--seconds", 10));
        var sendRate = ApiBench.Option(args, "--sends", 10_000);
        var eventRate = sendRate * 2;
        Console.Error.WriteLine($"load average before: {LoadAverage()}");

        await using var postgres = await LocalPostgresServer.StartThrowawayAsync();
        await postgres.CreateDatabaseAsync("bench");
        var connectionString = postgres.ConnectionString("bench");
        await SchemaMigrator.MigrateAsync(connectionString);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var options = new AnalyticsOptions();
        var rollup = new AnalyticsRollup(dataSource, Options.Create(options), TimeProvider.System, NullLogger<AnalyticsRollup>.Instance);

        var (withTriggers, withoutTriggers) = await TriggerCostAsync(dataSource, (int)(sendRate * Tick.TotalSeconds));
        var organization = Guid.NewGuid();
        var workflow = Guid.NewGuid();
        using var stop = new CancellationTokenSource();
        var lags = new List<double>();
        long rolled = 0;
        var stopwatch = Stopwatch.StartNew();
        var worker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var pass = await rollup.RollupAsync(wait: true, CancellationToken.None);
                Interlocked.Add(ref rolled, pass.Rolled);
                if (pass.Rolled > 0)
                {
                    lags.Add(pass.OldestLag.TotalSeconds);
                }

                if (pass.Rolled < options.BatchSize)
                {
                    try
                    {
                        await Task.Delay(options.RollupInterval, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
        });

        var (sends, events) = await WriteAsync(dataSource, organization, workflow, sendRate, duration);
        var written = stopwatch.Elapsed.TotalSeconds;
        var rolledWhileWriting = Interlocked.Read(ref rolled);
        var backlog = await PendingAsync(dataSource);
        await stop.CancelAsync();
        await worker;

        var drain = Stopwatch.StartNew();
        rolled += await rollup.CatchUpAsync();
        var drained = drain.Elapsed;
        var figures = await FiguresAsync(dataSource, organization);
        lags.Sort();
        var load = LoadAverage();
        Console.WriteLine($"| Rollup offered: sends/s, engagement events/s (writer every {Tick.TotalMilliseconds:0} ms, {duration.TotalSeconds:0} s) | {sendRate:N0}, {eventRate:N0} |");
        Console.WriteLine($"| Written through the triggers: sends/s, engagement events/s | {sends / written:N0}, {events / written:N0} |");
        Console.WriteLine($"| Rolled up while writing: facts/s (of {(sends + events) / written:N0}/s written) | {rolledWhileWriting / written:N0} |");
        Console.WriteLine($"| Rollup lag, commit to hourly row (oldest fact per pass, {lags.Count} passes): p50 / p99 / max | {ApiBench.Percentile(lags, 0.50):N2} s / {ApiBench.Percentile(lags, 0.99):N2} s / {(lags.Count == 0 ? 0 : lags[^1]):N2} s |");
        Console.WriteLine($"| Backlog when writing stopped; time to roll it up | {backlog:N0} facts; {drained.TotalSeconds:N2} s |");
        Console.WriteLine($"| Hourly figures equal the facts written (sent + engagement) | {(figures == sends + events ? "yes" : $"no: {figures:N0} vs {sends + events:N0}")} |");
        Console.WriteLine($"| One tick's writes ({sendRate * Tick.TotalSeconds:N0} sends + engagement), writer alone: with the triggers / without | {withTriggers:N1} ms / {withoutTriggers:N1} ms |");
        Console.WriteLine($"| Load average (1, 5, 15 min) after the run | {load} |");
    }

    private static async Task<(long Sends, long Events)> WriteAsync(
        NpgsqlDataSource dataSource, Guid organization, Guid workflow, int sendRate, TimeSpan duration)
    {
        var perTick = (int)(sendRate * Tick.TotalSeconds);
        long sends = 0, events = 0;
        var previous = Array.Empty<Guid>();
        var previousAt = DateTimeOffset.UtcNow;
        await using var connection = await dataSource.OpenConnectionAsync();
        var stopwatch = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(Tick);
        while (stopwatch.Elapsed < duration && await timer.WaitForNextTickAsync())
        {
            var ids = Enumerable.Range(0, perTick).Select(_ => Guid.CreateVersion7()).ToArray();
            var now = DateTimeOffset.UtcNow;
            events += await WriteTickAsync(connection, organization, workflow, ids, previous, previousAt, now);
            sends += perTick;
            previous = ids;
            previousAt = now;
        }

        return (sends, events);
    }

    /// <summary>One tick: these sends sent, the previous tick's engaged; returns the engagement facts written.</summary>
    private static async Task<long> WriteTickAsync(
        NpgsqlConnection connection, Guid organization, Guid workflow, Guid[] ids, Guid[] previous, DateTimeOffset previousAt, DateTimeOffset now)
    {
        await using var batch = new NpgsqlBatch(connection);
        // The journeys' history names each send, as the journey store writes it: the rollup reads the version there.
        var history = new NpgsqlBatchCommand("""
            INSERT INTO journey_events (organization_id, workflow_id, contact_id, journey_id, version, entry, kind, step_id, detail, occurred_at)
            SELECT $2, $3, u.id, 'journey-' || u.id, 1, 1, 'send', 'welcome', to_jsonb('bench:' || u.id), $4
            FROM unnest($1::uuid[]) AS u(id)
            """);
        history.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        history.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organization });
        history.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = workflow });
        history.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        batch.BatchCommands.Add(history);
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO email_sends (id, organization_id, send_key, workflow_id, journey_id, step_id, variant, email, provider, status, sent_at, created_at, updated_at)
            SELECT u.id, $2, 'bench:' || u.id, $3, 'journey-' || u.id, 'welcome', CASE WHEN u.n % 2 = 0 THEN 'a' ELSE 'b' END,
                   'r' || u.n || '@bench.test', CASE WHEN u.n % 4 = 0 THEN 'ses' ELSE 'sendgrid' END, 'sent', $4, $4, $4
            FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)
            """);
        insert.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organization });
        insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = workflow });
        insert.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
        batch.BatchCommands.Add(insert);
        if (previous.Length > 0)
        {
            // Engagement by the row's position: 2 facts per send on average.
            var engage = new NpgsqlBatchCommand("""
                UPDATE email_sends s SET status = 'delivered', delivered_at = $3,
                    opened_at = CASE WHEN u.n % 10 < 6 THEN $3 END,
                    clicked_at = CASE WHEN u.n % 10 < 3 THEN $3 END,
                    complained_at = CASE WHEN u.n % 20 = 7 THEN $3 END,
                    unsubscribed_at = CASE WHEN u.n % 20 = 9 THEN $3 END,
                    updated_at = $3
                FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)
                WHERE s.id = u.id AND s.created_at = $2
                """);
            engage.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = previous });
            engage.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = previousAt });
            engage.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            batch.BatchCommands.Add(engage);
        }

        await batch.ExecuteNonQueryAsync();
        return Enumerable.Range(1, previous.Length).Sum(n => 1 + (n % 10 < 6 ? 1 : 0) + (n % 10 < 3 ? 1 : 0) + (n % 20 is 7 or 9 ? 1 : 0));
    }

    /// <summary>What the triggers add to the writes: the same ticks back to back, with the triggers on and off.</summary>
    private static async Task<(double With, double Without)> TriggerCostAsync(NpgsqlDataSource dataSource, int perTick)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        async Task<double> TimeAsync(bool triggers)
        {
            await using (var toggle = new NpgsqlCommand(triggers
                ? "ALTER TABLE email_sends ENABLE TRIGGER analytics_send_inserted; ALTER TABLE email_sends ENABLE TRIGGER analytics_send_updated"
                : "ALTER TABLE email_sends DISABLE TRIGGER analytics_send_inserted; ALTER TABLE email_sends DISABLE TRIGGER analytics_send_updated", connection))
            {
                await toggle.ExecuteNonQueryAsync();
            }

            var organization = Guid.NewGuid();
            var previous = Array.Empty<Guid>();
            var previousAt = DateTimeOffset.UtcNow;
            var stopwatch = new Stopwatch();
            for (var tick = 0; tick < 30; tick++)
            {
                var ids = Enumerable.Range(0, perTick).Select(_ => Guid.CreateVersion7()).ToArray();
                var now = DateTimeOffset.UtcNow;
                if (tick >= 10)
                {
                    stopwatch.Start();
                }

                await WriteTickAsync(connection, organization, Guid.NewGuid(), ids, previous, previousAt, now);
                stopwatch.Stop();
                previous = ids;
                previousAt = now;
            }

            return stopwatch.Elapsed.TotalMilliseconds / 20;
        }

        var without = await TimeAsync(false);
        var with = await TimeAsync(true);
        await using var clear = new NpgsqlCommand("DELETE FROM analytics_pending", connection);
        await clear.ExecuteNonQueryAsync();
        return (with, without);
    }

    private static async Task<long> PendingAsync(NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM analytics_pending");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<long> FiguresAsync(NpgsqlDataSource dataSource, Guid organization)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT coalesce(sum(sent + delivered + opened + clicked + bounced + complained + unsubscribed + goals), 0)::bigint
            FROM analytics_hourly WHERE organization_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organization });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
