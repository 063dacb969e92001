using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.WebApi.Ai;

/// <summary>
/// Each organization's daily allowance of generations and provider tokens, counted per UTC day in PostgreSQL so that
/// every API process draws on the same budget. A generation is reserved before the provider is called and its tokens
/// are charged after; once either count reaches its limit the next generation is refused until the next UTC day.
/// </summary>
public sealed class AiBudget(NpgsqlDataSource dataSource, IOptions<AiOptions> options, TimeProvider time)
{
    /// <summary>Reserves one generation; the day it counts on, or null when that day's requests or tokens are spent.</summary>
    public async Task<DateOnly?> TryReserveAsync(Guid organizationId, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        if (limits.DailyRequests < 1 || limits.DailyTokens < 1)
        {
            return null;
        }

        var day = Today();
        await using var reserve = dataSource.CreateCommand("""
            INSERT INTO ai_usage (organization_id, day, requests, tokens) VALUES (@org, @day, 1, 0)
            ON CONFLICT (organization_id, day) DO UPDATE SET requests = ai_usage.requests + 1
            WHERE ai_usage.requests < @requests AND ai_usage.tokens < @tokens
            RETURNING requests
            """);
        reserve.Parameters.AddWithValue("org", organizationId);
        reserve.Parameters.AddWithValue("day", day);
        reserve.Parameters.AddWithValue("requests", limits.DailyRequests);
        reserve.Parameters.AddWithValue("tokens", limits.DailyTokens);
        return await reserve.ExecuteScalarAsync(cancellationToken) is null ? null : day;
    }

    /// <summary>Charges a generation's tokens to the day it was reserved on (a call may end after midnight).</summary>
    public async Task ChargeTokensAsync(Guid organizationId, DateOnly day, long tokens, CancellationToken cancellationToken)
    {
        await using var charge = dataSource.CreateCommand("UPDATE ai_usage SET tokens = tokens + @tokens WHERE organization_id = @org AND day = @day");
        charge.Parameters.AddWithValue("org", organizationId);
        charge.Parameters.AddWithValue("day", day);
        charge.Parameters.AddWithValue("tokens", tokens);
        await charge.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Time until the budget renews (the next UTC midnight).</summary>
    public TimeSpan UntilRenewal()
    {
        var now = time.GetUtcNow();
        return new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero) - now;
    }

    private DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
}
