using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Automator.WebApi.Identity;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.WebApi.Auth;

/// <summary>
/// Refresh tokens: random, stored as SHA-256 hashes, rotated at every use. Each sign-in starts a family; presenting a
/// token that was already rotated (or revoked) revokes the whole family (RFC 9700 §4.14.2).
/// </summary>
public sealed class RefreshTokens(NpgsqlDataSource dataSource, IOptions<JwtOptions> jwt, TimeProvider time)
{
    public const string CookieName = "automator_refresh";
    public const string CookiePath = "/v1/auth";

    /// <summary>What presenting a refresh token led to.</summary>
    public abstract record Rotation
    {
        /// <summary>A new token of the same family was issued.</summary>
        public sealed record Rotated(Guid UserId, Guid OrganizationId, string Role, string Token, Guid FamilyId, string Email, Guid? SessionStamp, DateTimeOffset ExpiresAt, bool EmailVerified) : Rotation;

        /// <summary>The token had already been used or revoked (or its user is no longer active): its whole family is revoked.</summary>
        public sealed record FamilyRevoked(Guid UserId, Guid OrganizationId, Guid FamilyId) : Rotation;

        /// <summary>Unknown or expired: nothing changed.</summary>
        public sealed record Refused : Rotation;

        /// <summary>The session reached its absolute lifetime (<see cref="JwtOptions.SessionLifetime"/>): its family is revoked.</summary>
        public sealed record SessionEnded(Guid UserId, Guid OrganizationId, Guid FamilyId) : Rotation;
    }

    /// <summary>The family a logout revoked, with its owner.</summary>
    public sealed record Revocation(Guid UserId, Guid OrganizationId, Guid FamilyId);

    /// <param name="sessionEnds">When the session (the family) ends; a token of it never outlives that. Default: a new session.</param>
    public async Task<string> IssueAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid userId, Guid? familyId = null, CancellationToken cancellationToken = default,
        DateTimeOffset? sessionEnds = null)
    {
        var token = NewToken();
        await using var insert = new NpgsqlCommand("""
            INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, issued_at, expires_at)
            VALUES (@id, @user, @family, @hash, @now, @expires)
            """, connection, transaction);
        var now = time.GetUtcNow();
        insert.Parameters.AddWithValue("id", Guid.CreateVersion7());
        insert.Parameters.AddWithValue("user", userId);
        insert.Parameters.AddWithValue("family", familyId ?? Guid.CreateVersion7());
        insert.Parameters.AddWithValue("hash", Hash(token));
        insert.Parameters.AddWithValue("now", now);
        insert.Parameters.AddWithValue("expires", ExpiresAt(now, sessionEnds ?? now + jwt.Value.SessionLifetime));
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return token;
    }

    /// <summary>Rotates a presented token; a token that was already rotated or revoked revokes its family.</summary>
    public async Task<Rotation> RotateAsync(string presented, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var now = time.GetUtcNow();
        await using var find = new NpgsqlCommand("""
            SELECT t.id, t.family_id, t.expires_at, t.used_at, t.revoked_at, u.id, u.organization_id, u.role, u.status, u.email,
                   (SELECT min(f.issued_at) FROM refresh_tokens f WHERE f.family_id = t.family_id),
                   (SELECT r.stamp FROM user_session_revocations r WHERE r.user_id = u.id), u.email_verified_at IS NOT NULL
            FROM refresh_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = @hash
            FOR UPDATE OF t
            """, connection, transaction);
        find.Parameters.AddWithValue("hash", Hash(presented));
        Guid id, family, userId, organizationId;
        string role, status, email;
        bool spent, expired;
        DateTimeOffset sessionEnds;
        Guid? stamp;
        bool verified;
        await using (var reader = await find.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new Rotation.Refused();
            }

            id = reader.GetGuid(0);
            family = reader.GetGuid(1);
            expired = reader.GetFieldValue<DateTimeOffset>(2) <= now;
            spent = !reader.IsDBNull(3) || !reader.IsDBNull(4);
            userId = reader.GetGuid(5);
            organizationId = reader.GetGuid(6);
            role = reader.GetString(7);
            status = reader.GetString(8);
            email = reader.GetString(9);
            sessionEnds = reader.GetFieldValue<DateTimeOffset>(10) + jwt.Value.SessionLifetime;
            stamp = reader.IsDBNull(11) ? null : reader.GetGuid(11);
            verified = reader.GetBoolean(12);
        }

        if (spent || status != "active")
        {
            await RevokeFamilyAsync(connection, transaction, family, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new Rotation.FamilyRevoked(userId, organizationId, family);
        }

        if (expired)
        {
            return new Rotation.Refused();
        }

        // However often it rotated, a session ends at its absolute lifetime from the sign-in that started it.
        if (sessionEnds <= now)
        {
            await RevokeFamilyAsync(connection, transaction, family, now, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return new Rotation.SessionEnded(userId, organizationId, family);
        }

        var next = await IssueAsync(connection, transaction, userId, family, cancellationToken, sessionEnds);
        await using var use = new NpgsqlCommand("UPDATE refresh_tokens SET used_at = @now, replaced_by = (SELECT id FROM refresh_tokens WHERE token_hash = @next) WHERE id = @id", connection, transaction);
        use.Parameters.AddWithValue("now", now);
        use.Parameters.AddWithValue("next", Hash(next));
        use.Parameters.AddWithValue("id", id);
        await use.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new Rotation.Rotated(userId, organizationId, role, next, family, email, stamp, ExpiresAt(now, sessionEnds), verified);
    }

    /// <summary>Revokes the family of the presented token (logout); null for an unknown token.</summary>
    public async Task<Revocation?> RevokeAsync(string presented, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""
            WITH presented AS (
                SELECT t.family_id, u.id AS user_id, u.organization_id
                FROM refresh_tokens t JOIN users u ON u.id = t.user_id
                WHERE t.token_hash = @hash),
            revoked AS (
                UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, @now)
                WHERE family_id = (SELECT family_id FROM presented))
            SELECT user_id, organization_id, family_id FROM presented
            """, connection);
        command.Parameters.AddWithValue("now", time.GetUtcNow());
        command.Parameters.AddWithValue("hash", Hash(presented));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new Revocation(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2)) : null;
    }

    private DateTimeOffset ExpiresAt(DateTimeOffset now, DateTimeOffset sessionEnds) =>
        now + jwt.Value.RefreshTokenLifetime < sessionEnds ? now + jwt.Value.RefreshTokenLifetime : sessionEnds;

    public void SetCookie(HttpResponse response, string token, DateTimeOffset? expiresAt = null) =>
        response.Cookies.Append(CookieName, token, new CookieOptions
        {
            HttpOnly = true,
            Secure = jwt.Value.RefreshCookieSecure,
            SameSite = SameSiteMode.Strict,
            Path = CookiePath,
            MaxAge = expiresAt is { } at && at - time.GetUtcNow() < jwt.Value.RefreshTokenLifetime ? at - time.GetUtcNow() : jwt.Value.RefreshTokenLifetime,
            IsEssential = true,
        });

    public static void ClearCookie(HttpResponse response) =>
        response.Cookies.Delete(CookieName, new CookieOptions { HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = CookiePath });

    private static async Task RevokeFamilyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid family, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var revoke = new NpgsqlCommand("UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, @now) WHERE family_id = @family", connection, transaction);
        revoke.Parameters.AddWithValue("now", now);
        revoke.Parameters.AddWithValue("family", family);
        await revoke.ExecuteNonQueryAsync(cancellationToken);
    }

    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
