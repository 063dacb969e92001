using Npgsql;

namespace Automator.Delivery.SendLog;

/// <summary>
/// How many sends a provider account has taken since a moment, read from the send log: a provider grain that activates
/// again rebuilds its daily quota and warm-up usage from it instead of starting the day at zero.
/// </summary>
public interface IProviderUsage
{
    /// <summary>
    /// Sends to <paramref name="provider"/> accepted (<c>sent_at</c>) since <paramref name="since"/>, plus those in flight to it
    /// now (<c>sending</c>, touched since then): a send can only be either.
    /// </summary>
    Task<long> CountSinceAsync(string provider, DateTimeOffset since);
}

/// <inheritdoc cref="IProviderUsage"/>
public sealed class PostgresProviderUsage(NpgsqlDataSource dataSource) : IProviderUsage
{
    public async Task<long> CountSinceAsync(string provider, DateTimeOffset since)
    {
        // Two index scans: accepted sends on (provider, sent_at), in-flight ones on the partial in-flight index.
        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM email_sends WHERE provider = $1 AND sent_at >= $2)
                 + (SELECT count(*) FROM email_sends WHERE status = 'sending' AND sent_at IS NULL AND provider = $1 AND updated_at >= $2)
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = provider });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = since });
        return (long)(await command.ExecuteScalarAsync() ?? 0L);
    }
}

/// <summary>No send log to read (a test host that replaced it): usage starts at zero on activation.</summary>
public sealed class NoProviderUsage : IProviderUsage
{
    public static readonly NoProviderUsage Instance = new();

    public Task<long> CountSinceAsync(string provider, DateTimeOffset since) => Task.FromResult(0L);
}
