using Npgsql;

namespace Automator.WebApi.Analytics;

/// <summary>
/// Reads the hourly rollups (<c>analytics_hourly</c>, written by the silos' rollup worker) of one organization. A range
/// covers the hours that start in [from floored to the hour, to).
/// </summary>
public sealed class AnalyticsStore(NpgsqlDataSource dataSource)
{
    private const string Sums = """
        sum(sent)::bigint, sum(delivered)::bigint, sum(opened)::bigint, sum(clicked)::bigint, sum(bounced)::bigint,
        sum(complained)::bigint, sum(unsubscribed)::bigint, sum(goals)::bigint
        """;

    public async Task<AnalyticsCounts> OverviewAsync(Guid organizationId, AnalyticsRange range, CancellationToken cancellationToken)
    {
        await using var command = Command($"SELECT {Sums} FROM analytics_hourly WHERE organization_id = $1 AND hour >= $2 AND hour < $3", organizationId, range);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return Counts(reader, 0);
    }

    /// <summary>The organization's counts per hour or day bucket, workflows and single sends alike.</summary>
    public async Task<IReadOnlyList<AnalyticsPoint>> OverviewSeriesAsync(Guid organizationId, AnalyticsRange range, string granularity, CancellationToken cancellationToken)
    {
        await using var command = Command($"""
            SELECT date_trunc($4, hour, 'UTC'), {Sums} FROM analytics_hourly
            WHERE organization_id = $1 AND hour >= $2 AND hour < $3
            GROUP BY 1 ORDER BY 1
            """, organizationId, range);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = granularity });
        var points = new List<AnalyticsPoint>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            points.Add(new AnalyticsPoint(reader.GetFieldValue<DateTimeOffset>(0), Counts(reader, 1)));
        }

        return points;
    }

    public async Task<IReadOnlyList<ProviderFigures>> ProvidersAsync(Guid organizationId, AnalyticsRange range, CancellationToken cancellationToken)
    {
        // Goals belong to no provider: only rows a provider handled are listed.
        await using var command = Command($"""
            SELECT provider, {Sums} FROM analytics_hourly
            WHERE organization_id = $1 AND hour >= $2 AND hour < $3 AND provider <> ''
            GROUP BY provider ORDER BY provider
            """, organizationId, range);
        var providers = new List<ProviderFigures>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var counts = Counts(reader, 1);
            providers.Add(new ProviderFigures(reader.GetString(0), counts, AnalyticsRates.Of(counts)));
        }

        return providers;
    }

    public async Task<bool> WorkflowExistsAsync(Guid organizationId, Guid workflowId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM workflows WHERE id = $1 AND organization_id = $2)");
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = workflowId });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>One row per bucket, step and variant; the caller folds them into steps, variants and series.</summary>
    public async Task<IReadOnlyList<(DateTimeOffset At, string StepId, string Variant, AnalyticsCounts Counts, long VariantGoals)>> WorkflowAsync(
        Guid organizationId, Guid workflowId, AnalyticsRange range, string granularity, int? version, CancellationToken cancellationToken)
    {
        await using var command = Command($"""
            SELECT date_trunc($5, hour, 'UTC'), step_id, variant, {Sums}, sum(variant_goals)::bigint FROM analytics_hourly
            WHERE organization_id = $1 AND hour >= $2 AND hour < $3 AND workflow_id = $4 AND ($6::int IS NULL OR version = $6)
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            """, organizationId, range);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = workflowId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = granularity });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer, Value = version is { } v ? v : DBNull.Value });
        var rows = new List<(DateTimeOffset, string, string, AnalyticsCounts, long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), Counts(reader, 3), reader.GetInt64(11)));
        }

        return rows;
    }

    private NpgsqlCommand Command(string sql, Guid organizationId, AnalyticsRange range)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = range.FirstHour });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = range.To });
        return command;
    }

    private static AnalyticsCounts Counts(NpgsqlDataReader reader, int first)
    {
        long At(int i) => reader.IsDBNull(first + i) ? 0 : reader.GetInt64(first + i);
        return new AnalyticsCounts(At(0), At(1), At(2), At(3), At(4), At(5), At(6), At(7));
    }
}

/// <summary>A validated report range, in UTC.</summary>
public readonly record struct AnalyticsRange(DateTimeOffset From, DateTimeOffset To)
{
    public DateTimeOffset FirstHour => new(From.Year, From.Month, From.Day, From.Hour, 0, 0, TimeSpan.Zero);
}
