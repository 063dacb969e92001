using System.Security.Cryptography;
using System.Text;
using Automator.WebApi.Http;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.WebApi.Auth;

/// <summary>How long an account stays locked after consecutive failed logins: none for the first few, then doubling.</summary>
public static class LoginBackoff
{
    public static TimeSpan? LockoutAfter(int failures, LoginLockoutOptions options)
    {
        if (failures < options.FreeFailures)
        {
            return null;
        }

        var doublings = Math.Min(failures - options.FreeFailures, 40);
        var lockout = options.BaseLockout.TotalSeconds * Math.Pow(2, doublings);
        return lockout >= options.MaxLockout.TotalSeconds ? options.MaxLockout : TimeSpan.FromSeconds(lockout);
    }
}

/// <summary>
/// Per-account login back-off in PostgreSQL, shared by every API process. Unknown accounts are counted like known
/// ones, so a lockout reveals nothing about which emails are registered.
/// </summary>
public sealed class LoginThrottle(NpgsqlDataSource dataSource, IOptions<RateLimitOptions> options, TimeProvider time)
{
    /// <summary>Failures older than this no longer count towards a lockout.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromHours(24);

    public static byte[] AccountKey(string email) => SHA256.HashData(Encoding.UTF8.GetBytes(email.Trim().ToLowerInvariant()));

    /// <summary>How long the account is still locked, or null when a login may be tried.</summary>
    public async Task<TimeSpan?> LockedForAsync(string email, CancellationToken cancellationToken)
    {
        await using var read = dataSource.CreateCommand("SELECT locked_until FROM login_throttle WHERE account_hash = @key");
        read.Parameters.AddWithValue("key", AccountKey(email));
        var now = time.GetUtcNow();
        return await read.ExecuteScalarAsync(cancellationToken) is DateTime until && new DateTimeOffset(until, TimeSpan.Zero) > now
            ? new DateTimeOffset(until, TimeSpan.Zero) - now
            : null;
    }

    /// <summary>Counts a failure; returns the lock it starts, if any.</summary>
    public async Task<TimeSpan?> FailedAsync(string email, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var count = new NpgsqlCommand("""
            INSERT INTO login_throttle (account_hash, failures, locked_until, updated_at) VALUES (@key, 1, NULL, @now)
            ON CONFLICT (account_hash) DO UPDATE
            SET failures = CASE WHEN login_throttle.updated_at < @forgotten THEN 1 ELSE login_throttle.failures + 1 END, updated_at = @now
            RETURNING failures
            """, connection);
        count.Parameters.AddWithValue("key", AccountKey(email));
        count.Parameters.AddWithValue("now", now);
        count.Parameters.AddWithValue("forgotten", now - Memory);
        var failures = Convert.ToInt32(await count.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        if (LoginBackoff.LockoutAfter(failures, options.Value.Login) is not { } lockout)
        {
            return null;
        }

        await using var lockAccount = new NpgsqlCommand("UPDATE login_throttle SET locked_until = @until WHERE account_hash = @key", connection);
        lockAccount.Parameters.AddWithValue("key", AccountKey(email));
        lockAccount.Parameters.AddWithValue("until", now + lockout);
        await lockAccount.ExecuteNonQueryAsync(cancellationToken);
        return lockout;
    }

    public async Task SucceededAsync(string email, CancellationToken cancellationToken)
    {
        await using var clear = dataSource.CreateCommand("DELETE FROM login_throttle WHERE account_hash = @key");
        clear.Parameters.AddWithValue("key", AccountKey(email));
        await clear.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes the rows of accounts with no failure for a day.</summary>
    public async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        await using var purge = dataSource.CreateCommand("DELETE FROM login_throttle WHERE updated_at < @forgotten AND (locked_until IS NULL OR locked_until < @now)");
        purge.Parameters.AddWithValue("forgotten", time.GetUtcNow() - Memory);
        purge.Parameters.AddWithValue("now", time.GetUtcNow());
        return await purge.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>Purges stale login back-off rows every hour.</summary>
public sealed class LoginThrottleSweeper(LoginThrottle throttle, TimeProvider time, ILogger<LoginThrottleSweeper> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await throttle.PurgeAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log.LogWarning(ex, "Login throttle purge failed; retrying at the next interval");
            }
        }
    }
}
