using Automator.WebApi.Auditing;
using Automator.WebApi.Identity;
using Npgsql;

namespace Automator.WebApi.Auth;

/// <summary>
/// Proving an address and getting back into an account by it. Tokens are random, mailed once, stored as SHA-256 in
/// <c>account_tokens</c> with the address they were mailed to, and used once: a verification link for 7 days, a
/// password-reset link for 1 hour. An address nobody verified within 7 days of signing up (or of accepting an
/// invitation), and an invitation that expired unaccepted, are released to the next sign-up or invitation with it.
/// </summary>
public sealed class EmailOwnership(NpgsqlDataSource dataSource, AccountMail mail, Passwords passwords, AuditLog audit, TimeProvider time)
{
    public const string Verify = "verify";
    public const string Reset = "reset";
    public static readonly TimeSpan VerificationLifetime = TimeSpan.FromDays(7);
    public static readonly TimeSpan ReleaseAfter = TimeSpan.FromDays(7);
    public static readonly TimeSpan ResetLifetime = TimeSpan.FromHours(1);

    /// <summary>At most one message of a kind per user in this time, so the anonymous reset route cannot flood a mailbox.</summary>
    public static readonly TimeSpan ResendInterval = TimeSpan.FromMinutes(1);

    public string VerificationLink(string token) => $"{mail.PublicBaseUrl}/v1/auth/verify-email?token={token}";

    public string ResetLink(string token) => $"{mail.PublicBaseUrl}/reset-password?token={token}";

    /// <summary>Writes a token mailed to <paramref name="email"/> for the user, in the caller's transaction.</summary>
    public async Task<string> IssueAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid userId, string purpose, string email, CancellationToken cancellationToken)
    {
        var token = RefreshTokens.NewToken();
        var now = time.GetUtcNow();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO account_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
            VALUES (@hash, @user, @purpose, @email, @now, @expires)
            """, connection, transaction);
        insert.Parameters.AddWithValue("hash", RefreshTokens.Hash(token));
        insert.Parameters.AddWithValue("user", userId);
        insert.Parameters.AddWithValue("purpose", purpose);
        insert.Parameters.AddWithValue("email", email);
        insert.Parameters.AddWithValue("now", now);
        insert.Parameters.AddWithValue("expires", now + (purpose == Reset ? ResetLifetime : VerificationLifetime));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return token;
    }

    /// <summary>Queues the verification message with a token issued by <see cref="IssueAsync"/> (after the caller committed).</summary>
    public void SendVerification(Guid organizationId, string email, string token) =>
        mail.Enqueue(AccountMail.Verification(organizationId, email, VerificationLink(token)));

    /// <summary>A new verification link for a signed-in user whose address is not verified yet; false when there is nothing to send.</summary>
    public async Task<bool> ResendVerificationAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var find = new NpgsqlCommand("""
            SELECT u.organization_id, u.email FROM users u
            WHERE u.id = @user AND u.status = 'active' AND u.email_verified_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM account_tokens t WHERE t.user_id = u.id AND t.purpose = 'verify' AND t.created_at > @recent)
            """, connection);
        find.Parameters.AddWithValue("user", userId);
        find.Parameters.AddWithValue("recent", time.GetUtcNow() - ResendInterval);
        Guid organizationId;
        string email;
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            (organizationId, email) = (reader.GetGuid(0), reader.GetString(1));
        }

        SendVerification(organizationId, email, await IssueAsync(connection, null, userId, Verify, email, cancellationToken));
        return true;
    }

    /// <summary>
    /// Queues the whole reset request (lookup, token, message): the caller answers at once, alike for known and unknown
    /// addresses. Only active users get a message, at most one per <see cref="ResendInterval"/>.
    /// </summary>
    public void RequestPasswordReset(string email) => mail.Enqueue(async cancellationToken =>
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var find = new NpgsqlCommand("""
            SELECT u.id, u.organization_id, u.email FROM users u
            WHERE lower(u.email) = lower(@email) AND u.status = 'active'
              AND NOT EXISTS (SELECT 1 FROM account_tokens t WHERE t.user_id = u.id AND t.purpose = 'reset' AND t.created_at > @recent)
            """, connection);
        find.Parameters.AddWithValue("email", email.Trim());
        find.Parameters.AddWithValue("recent", time.GetUtcNow() - ResendInterval);
        Guid userId, organizationId;
        string address;
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return;
            }

            (userId, organizationId, address) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2));
        }

        var token = await IssueAsync(connection, null, userId, Reset, address, cancellationToken);
        await audit.WriteAsync(organizationId, "user", userId, "auth.password_reset_requested", "user", [userId.ToString()], cancellationToken: cancellationToken);
        await mail.SendAsync(AccountMail.PasswordReset(organizationId, address, ResetLink(token)), cancellationToken);
    });

    /// <summary>Uses a verification token: the user whose address it was mailed to is verified. Null for a bad token.</summary>
    public async Task<(Guid UserId, Guid OrganizationId)?> VerifyAsync(string token, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH used AS (
                UPDATE account_tokens SET used_at = @now
                WHERE token_hash = @hash AND purpose = 'verify' AND used_at IS NULL AND expires_at > @now
                RETURNING user_id, email)
            UPDATE users u SET email_verified_at = coalesce(u.email_verified_at, @now), updated_at = @now
            FROM used WHERE u.id = used.user_id AND lower(u.email) = lower(used.email)
            RETURNING u.id, u.organization_id
            """);
        command.Parameters.AddWithValue("hash", RefreshTokens.Hash(token));
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var verified = (reader.GetGuid(0), reader.GetGuid(1));
        await reader.DisposeAsync();
        await audit.WriteAsync(verified.Item2, "user", verified.Item1, "user.email_verified", "user", [verified.Item1.ToString()], cancellationToken: cancellationToken);
        return verified;
    }

    /// <summary>
    /// Uses a reset token: sets the password, counts the address as verified (the message reached it), spends every other
    /// reset link of the user and revokes every session. Null for a bad token.
    /// </summary>
    public async Task<(Guid UserId, Guid OrganizationId)?> ResetPasswordAsync(string token, string password, CancellationToken cancellationToken)
    {
        var hash = passwords.Hash(password);
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var reset = new NpgsqlCommand("""
            WITH used AS (
                UPDATE account_tokens SET used_at = @now
                WHERE token_hash = @token AND purpose = 'reset' AND used_at IS NULL AND expires_at > @now
                RETURNING user_id, email)
            UPDATE users u SET password_hash = @hash, email_verified_at = coalesce(u.email_verified_at, @now), updated_at = @now
            FROM used WHERE u.id = used.user_id AND lower(u.email) = lower(used.email) AND u.status = 'active'
            RETURNING u.id, u.organization_id
            """, connection, transaction);
        reset.Parameters.AddWithValue("token", RefreshTokens.Hash(token));
        reset.Parameters.AddWithValue("hash", hash);
        reset.Parameters.AddWithValue("now", now);
        (Guid UserId, Guid OrganizationId)? user = null;
        await using (var reader = await reset.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                user = (reader.GetGuid(0), reader.GetGuid(1));
            }
        }

        if (user is not { } found)
        {
            // The token (if it was one) stays spent: a link for an address no longer the user's proves nothing.
            await transaction.CommitAsync(cancellationToken);
            return null;
        }

        await using (var spend = new NpgsqlCommand("UPDATE account_tokens SET used_at = @now WHERE user_id = @user AND purpose = 'reset' AND used_at IS NULL", connection, transaction))
        {
            spend.Parameters.AddWithValue("now", now);
            spend.Parameters.AddWithValue("user", found.UserId);
            await spend.ExecuteNonQueryAsync(cancellationToken);
        }

        await SessionStamps.RevokeAllAsync(connection, transaction, found.UserId, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await audit.WriteAsync(found.OrganizationId, "user", found.UserId, "auth.password_reset", "user", [found.UserId.ToString()], cancellationToken: cancellationToken);
        return found;
    }

    /// <summary>
    /// Frees <paramref name="email"/> when its holder never proved it: an invitation that expired unaccepted is deleted; a
    /// user who left it unverified for <see cref="ReleaseAfter"/> is disabled, every session revoked, and their address
    /// replaced by a placeholder (their organization and its data stay). Runs in the caller's transaction; the caller
    /// audits what it returns with <see cref="AuditReleasedAsync"/> once committed.
    /// </summary>
    public async Task<IReadOnlyList<(Guid Id, Guid OrganizationId, string Action)>> ReleaseStaleAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string email, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var released = new List<(Guid Id, Guid OrganizationId, string Action)>();
        await using (var command = new NpgsqlCommand("""
            WITH expired AS (
                DELETE FROM users WHERE lower(email) = lower(@email) AND status = 'invited' AND invite_expires_at < @now
                RETURNING id, organization_id),
            stale AS (
                UPDATE users SET email = 'released+' || id::text || '@released.invalid', status = 'disabled', updated_at = @now
                WHERE lower(email) = lower(@email) AND status <> 'invited' AND email_verified_at IS NULL
                  AND email_unverified_since < @cutoff
                RETURNING id, organization_id)
            SELECT id, organization_id, 'user.invitation_expired' FROM expired
            UNION ALL SELECT id, organization_id, 'user.email_released' FROM stale
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("email", email);
            command.Parameters.AddWithValue("now", now);
            command.Parameters.AddWithValue("cutoff", now - ReleaseAfter);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                released.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2)));
            }
        }

        foreach (var (id, _, action) in released)
        {
            if (action == "user.email_released")
            {
                await SessionStamps.RevokeAllAsync(connection, transaction, id, now, cancellationToken);
            }
        }

        return released;
    }

    public async Task AuditReleasedAsync(IReadOnlyList<(Guid Id, Guid OrganizationId, string Action)> released, CancellationToken cancellationToken)
    {
        foreach (var (id, organizationId, action) in released)
        {
            await audit.WriteAsync(organizationId, "system", null, action, "user", [id.ToString()], cancellationToken: cancellationToken);
        }
    }
}
