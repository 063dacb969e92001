using System.Security.Claims;
using Npgsql;

namespace Automator.WebApi.Identity;

/// <summary>
/// Revokes every session of a user at once (disable, removal, password reset) and refuses their access tokens from then
/// on. Revoking writes a new random stamp for the user and revokes all their refresh-token families; every bearer
/// request compares its token's stamp with the current one (one primary-key read, like an API key's lookup), so a revoked
/// token is refused at its next request on every instance, not when it expires.
/// </summary>
public sealed class SessionStamps(NpgsqlDataSource? dataSource)
{
    /// <summary>False without PostgreSQL (in-memory development mode): nothing to revoke, nothing checked.</summary>
    public bool Enabled => dataSource is not null;

    /// <summary>The user's current stamp; null while their sessions were never revoked.</summary>
    public async Task<Guid?> CurrentAsync(Guid userId, CancellationToken cancellationToken)
    {
        if (dataSource is null)
        {
            return null;
        }

        await using var command = dataSource.CreateCommand("SELECT stamp FROM user_session_revocations WHERE user_id = @user");
        command.Parameters.AddWithValue("user", userId);
        return await command.ExecuteScalarAsync(cancellationToken) is Guid stamp ? stamp : null;
    }

    /// <summary>True when the token was issued under the user's current stamp (or the user never had one).</summary>
    public async Task<bool> IsCurrentAsync(ClaimsPrincipal principal, CancellationToken cancellationToken)
    {
        if (principal.GetUserId() is not { } userId)
        {
            return true;
        }

        var current = await CurrentAsync(userId, cancellationToken);
        return current is null || principal.FindFirst(AutomatorClaims.SessionStamp)?.Value == current.Value.ToString();
    }

    /// <summary>New stamp for the user and every refresh-token family of theirs revoked, in the caller's transaction.</summary>
    public static async Task RevokeAllAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO user_session_revocations (user_id, stamp, revoked_at) VALUES (@user, @stamp, @now)
            ON CONFLICT (user_id) DO UPDATE SET stamp = EXCLUDED.stamp, revoked_at = EXCLUDED.revoked_at;
            UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, @now) WHERE user_id = @user;
            """, connection, transaction);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("stamp", Guid.NewGuid());
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
