using System.Security.Claims;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.WebApi.Auth;

public static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var auth = routes.MapGroup("/v1/auth").WithTags("Auth").AllowAnonymous();
        auth.MapPost("/signup", SignupAsync);
        auth.MapPost("/login", LoginAsync);
        auth.MapPost("/refresh", RefreshAsync);
        auth.MapPost("/logout", LogoutAsync);
        auth.MapPost("/accept-invite", AcceptInviteAsync);
        auth.MapGet("/verify-email", VerifyEmailLinkAsync);
        auth.MapPost("/verify-email", VerifyEmailAsync);
        auth.MapPost("/password-reset", RequestPasswordReset);
        auth.MapPost("/password-reset/confirm", ConfirmPasswordResetAsync);
        routes.MapPost("/v1/auth/verify-email/resend", ResendVerificationAsync).WithTags("Auth").RequireAuthorization();
        return routes;
    }

    /// <summary>The link in the verification message: a small page saying whether the address is now verified.</summary>
    private static async Task<ContentHttpResult> VerifyEmailLinkAsync(string? token, EmailOwnership ownership, CancellationToken cancellationToken)
    {
        var verified = !string.IsNullOrEmpty(token) && token.Length <= 100 && await ownership.VerifyAsync(token, cancellationToken) is not null;
        return TypedResults.Content(
            verified
                ? "<!doctype html><title>Email verified</title><p>Your email address is verified. You can close this page.</p>"
                : "<!doctype html><title>Link not valid</title><p>This link is unknown, already used or expired. Sign in and ask for a new one.</p>",
            "text/html; charset=utf-8",
            statusCode: verified ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    private static async Task<Results<Ok<VerifyEmailResponse>, ValidationProblem>> VerifyEmailAsync(
        VerifyEmailRequest request, EmailOwnership ownership, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        validator.Required("token", request.Token, 100);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        return await ownership.VerifyAsync(request.Token!, cancellationToken) is null
            ? ApiResults.Invalid("token", "is unknown, already used or expired.")
            : TypedResults.Ok(new VerifyEmailResponse(true));
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> ResendVerificationAsync(
        ClaimsPrincipal caller, EmailOwnership ownership, CancellationToken cancellationToken)
    {
        if (caller.GetUserId() is not { } userId)
        {
            return ApiResults.Forbidden("Only a signed-in user has an address to verify.");
        }

        await ownership.ResendVerificationAsync(userId, cancellationToken);
        return TypedResults.Accepted((string?)null);
    }

    /// <summary>202 for any well-formed address, known or not; the lookup and the message happen after the answer.</summary>
    private static Results<Accepted, ValidationProblem> RequestPasswordReset(PasswordResetRequest request, EmailOwnership ownership)
    {
        var validator = new Validator();
        var email = validator.Required("email", request.Email?.Trim(), 254);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        ownership.RequestPasswordReset(email!);
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Results<NoContent, ValidationProblem>> ConfirmPasswordResetAsync(
        PasswordResetConfirmRequest request, EmailOwnership ownership, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        validator.Required("token", request.Token, 100);
        ValidatePassword(validator, request.Password);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        return await ownership.ResetPasswordAsync(request.Token!, request.Password!, cancellationToken) is null
            ? ApiResults.Invalid("token", "is unknown, already used or expired.")
            : TypedResults.NoContent();
    }

    private static async Task<Results<Created<SignupResponse>, ValidationProblem, ProblemHttpResult>> SignupAsync(
        SignupRequest request, HttpResponse response, NpgsqlDataSource dataSource, Passwords passwords, RefreshTokens refreshTokens,
        AccessTokens accessTokens, Auditing.AuditLog audit, EmailOwnership ownership, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var organizationName = validator.Required("organizationName", request.OrganizationName?.Trim());
        var email = validator.Email("email", request.Email);
        ValidatePassword(validator, request.Password);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = Guid.CreateVersion7();
        var userId = Guid.CreateVersion7();
        var hash = passwords.Hash(request.Password!);
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var released = await ownership.ReleaseStaleAsync(connection, transaction, email!, cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO organizations (id, name, created_at, updated_at) VALUES (@org, @name, @now, @now);
            INSERT INTO users (id, organization_id, email, password_hash, role, status, created_at, updated_at, email_unverified_since)
            VALUES (@user, @org, @email, @hash, 'owner', 'active', @now, @now, @now)
            ON CONFLICT DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("org", organizationId);
            insert.Parameters.AddWithValue("name", organizationName!);
            insert.Parameters.AddWithValue("user", userId);
            insert.Parameters.AddWithValue("email", email!);
            insert.Parameters.AddWithValue("hash", hash);
            insert.Parameters.AddWithValue("now", now);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) < 2)
            {
                await transaction.RollbackAsync(cancellationToken);
                return ApiResults.Conflict("An account with this email already exists.", "email", "is already registered.");
            }
        }

        var refresh = await refreshTokens.IssueAsync(connection, transaction, userId, cancellationToken: cancellationToken);
        var verification = await ownership.IssueAsync(connection, transaction, userId, EmailOwnership.Verify, email!, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        await ownership.AuditReleasedAsync(released, cancellationToken);
        await audit.WriteAsync(organizationId, "user", userId, "organization.created", "organization", [organizationId.ToString(), userId.ToString()], cancellationToken: cancellationToken);
        ownership.SendVerification(organizationId, email!, verification);

        // Signed in at once to try the product; operator rights wait for the address to be verified.
        refreshTokens.SetCookie(response, refresh);
        var (token, expiresIn) = accessTokens.Issue(userId, organizationId, Roles.Owner);
        return TypedResults.Created("/v1/users/" + userId, new SignupResponse(
            token, expiresIn, new UserResponse(userId, email!, Roles.Owner, "active", organizationId, now), new OrganizationResponse(organizationId, organizationName!)));
    }

    private static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> LoginAsync(
        LoginRequest request, HttpResponse response, NpgsqlDataSource dataSource, Passwords passwords, RefreshTokens refreshTokens,
        AccessTokens accessTokens, Auditing.AuditLog audit, IOptions<OperatorOptions> operators, LoginThrottle throttle, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        validator.Required("email", request.Email, 254);
        validator.Required("password", request.Password, Passwords.MaxLength);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        // A locked account answers alike whether it exists or not, and its password is not even tried.
        if (await throttle.LockedForAsync(request.Email!, cancellationToken) is { } locked)
        {
            return TooManyAttempts(response, locked);
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        Guid userId = default, organizationId = default;
        string? hash = null, role = null, email = null;
        Guid? stamp = null;
        var verified = false;
        await using (var find = new NpgsqlCommand("""
            SELECT u.id, u.organization_id, u.password_hash, u.role, u.email, r.stamp, u.email_verified_at IS NOT NULL
            FROM users u LEFT JOIN user_session_revocations r ON r.user_id = u.id
            WHERE lower(u.email) = lower(@email) AND u.status = 'active'
            """, connection))
        {
            find.Parameters.AddWithValue("email", request.Email!.Trim());
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                userId = reader.GetGuid(0);
                organizationId = reader.GetGuid(1);
                hash = reader.IsDBNull(2) ? null : reader.GetString(2);
                role = reader.GetString(3);
                email = reader.GetString(4);
                stamp = reader.IsDBNull(5) ? null : reader.GetGuid(5);
                verified = reader.GetBoolean(6);
            }
        }

        var verdict = passwords.Verify(hash, request.Password!);
        if (verdict == PasswordVerificationResult.Failed || role is null)
        {
            await throttle.FailedAsync(request.Email!, cancellationToken);
            if (role is not null)
            {
                // A wrong password for a known user is a security event of that organization; unknown emails have no tenant.
                await audit.WriteAsync(organizationId, "user", userId, "auth.login_failed", "user", [userId.ToString()], cancellationToken: cancellationToken);
            }

            return ApiResults.Unauthorized("The email or password is incorrect.");
        }

        await using (var update = new NpgsqlCommand(
            verdict == PasswordVerificationResult.SuccessRehashNeeded
                ? "UPDATE users SET last_login_at = @now, password_hash = @hash WHERE id = @id"
                : "UPDATE users SET last_login_at = @now WHERE id = @id", connection))
        {
            update.Parameters.AddWithValue("now", time.GetUtcNow());
            update.Parameters.AddWithValue("id", userId);
            if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            {
                update.Parameters.AddWithValue("hash", passwords.Hash(request.Password!));
            }

            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        await throttle.SucceededAsync(request.Email!, cancellationToken);
        var refresh = await refreshTokens.IssueAsync(connection, null, userId, cancellationToken: cancellationToken);
        await audit.WriteAsync(organizationId, "user", userId, "auth.login", "user", [userId.ToString()],
            verdict == PasswordVerificationResult.SuccessRehashNeeded ? new { passwordHashUpgraded = true } : null, cancellationToken);
        refreshTokens.SetCookie(response, refresh);
        var (token, expiresIn) = accessTokens.Issue(userId, organizationId, role, verified && operators.Value.IsOperatorEmail(email), stamp);
        return TypedResults.Ok(new TokenResponse(token, expiresIn));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(
        HttpRequest request, HttpResponse response, RefreshTokens refreshTokens, AccessTokens accessTokens, Auditing.AuditLog audit,
        IOptions<OperatorOptions> operators, CancellationToken cancellationToken)
    {
        var presented = request.Cookies[RefreshTokens.CookieName];
        if (string.IsNullOrEmpty(presented) || presented.Length > 100)
        {
            return ApiResults.Unauthorized("No valid refresh token.");
        }

        switch (await refreshTokens.RotateAsync(presented, cancellationToken))
        {
            case RefreshTokens.Rotation.Rotated rotated:
                await audit.WriteAsync(rotated.OrganizationId, "user", rotated.UserId, "auth.refresh", "refresh_token_family", [rotated.FamilyId.ToString()], cancellationToken: cancellationToken);
                refreshTokens.SetCookie(response, rotated.Token, rotated.ExpiresAt);
                var (token, expiresIn) = accessTokens.Issue(
                    rotated.UserId, rotated.OrganizationId, rotated.Role, rotated.EmailVerified && operators.Value.IsOperatorEmail(rotated.Email), rotated.SessionStamp);
                return TypedResults.Ok(new TokenResponse(token, expiresIn));
            case RefreshTokens.Rotation.FamilyRevoked revoked:
                await audit.WriteAsync(revoked.OrganizationId, "user", revoked.UserId, "auth.refresh_reused", "refresh_token_family", [revoked.FamilyId.ToString()], cancellationToken: cancellationToken);
                break;
            case RefreshTokens.Rotation.SessionEnded ended:
                await audit.WriteAsync(ended.OrganizationId, "user", ended.UserId, "auth.session_ended", "refresh_token_family", [ended.FamilyId.ToString()], cancellationToken: cancellationToken);
                break;
        }

        RefreshTokens.ClearCookie(response);
        return ApiResults.Unauthorized("The refresh token is expired, revoked or was already used.");
    }

    private static async Task<NoContent> LogoutAsync(HttpRequest request, HttpResponse response, RefreshTokens refreshTokens, Auditing.AuditLog audit, CancellationToken cancellationToken)
    {
        var presented = request.Cookies[RefreshTokens.CookieName];
        if (!string.IsNullOrEmpty(presented) && presented.Length <= 100
            && await refreshTokens.RevokeAsync(presented, cancellationToken) is { } revoked)
        {
            await audit.WriteAsync(revoked.OrganizationId, "user", revoked.UserId, "auth.logout", "refresh_token_family", [revoked.FamilyId.ToString()], cancellationToken: cancellationToken);
        }

        RefreshTokens.ClearCookie(response);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<TokenResponse>, ValidationProblem, ProblemHttpResult>> AcceptInviteAsync(
        AcceptInviteRequest request, HttpResponse response, NpgsqlDataSource dataSource, Passwords passwords, RefreshTokens refreshTokens,
        AccessTokens accessTokens, Auditing.AuditLog audit, EmailOwnership ownership, TimeProvider time, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        validator.Required("token", request.Token, 100);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        // The token is checked before the password is looked at: an unknown token costs no PBKDF2 run.
        var now = time.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var find = new NpgsqlCommand("SELECT 1 FROM users WHERE invite_token_hash = @token AND invite_expires_at > @now AND status = 'invited'", connection))
        {
            find.Parameters.AddWithValue("token", RefreshTokens.Hash(request.Token!));
            find.Parameters.AddWithValue("now", now);
            if (await find.ExecuteScalarAsync(cancellationToken) is null)
            {
                return ApiResults.Unauthorized("The invitation is unknown, used or expired.");
            }
        }

        ValidatePassword(validator, request.Password);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        await using var accept = new NpgsqlCommand("""
            UPDATE users SET password_hash = @hash, status = 'active', invite_token_hash = NULL, invite_expires_at = NULL, updated_at = @now,
                email_unverified_since = CASE WHEN email_verified_at IS NULL THEN @now END
            WHERE invite_token_hash = @token AND invite_expires_at > @now AND status = 'invited'
            RETURNING id, organization_id, role, email, (SELECT r.stamp FROM user_session_revocations r WHERE r.user_id = users.id)
            """, connection);
        accept.Parameters.AddWithValue("hash", passwords.Hash(request.Password!));
        accept.Parameters.AddWithValue("now", now);
        accept.Parameters.AddWithValue("token", RefreshTokens.Hash(request.Token!));
        Guid userId, organizationId;
        string role, email;
        Guid? stamp;
        await using (var reader = await accept.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return ApiResults.Unauthorized("The invitation is unknown, used or expired.");
            }

            (userId, organizationId, role, email) = (reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3));
            stamp = reader.IsDBNull(4) ? null : reader.GetGuid(4);
        }

        var refresh = await refreshTokens.IssueAsync(connection, null, userId, cancellationToken: cancellationToken);
        await audit.WriteAsync(organizationId, "user", userId, "user.invite_accepted", "user", [userId.ToString()], cancellationToken: cancellationToken);
        // An invitation's token travels through the inviter, so accepting it proves nothing about the address.
        ownership.SendVerification(organizationId, email, await ownership.IssueAsync(connection, null, userId, EmailOwnership.Verify, email, cancellationToken));
        refreshTokens.SetCookie(response, refresh);
        var (token, expiresIn) = accessTokens.Issue(userId, organizationId, role, sessionStamp: stamp);
        return TypedResults.Ok(new TokenResponse(token, expiresIn));
    }

    private static ProblemHttpResult TooManyAttempts(HttpResponse response, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many failed sign-in attempts.",
            detail: $"Sign-in for this account is paused after repeated failures; retry after {seconds} s.");
    }

    private static void ValidatePassword(Validator validator, string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            validator.Add("password", "is required.");
        }
        else if (password.Length < Passwords.MinLength || password.Length > Passwords.MaxLength)
        {
            validator.Add("password", $"must be {Passwords.MinLength} to {Passwords.MaxLength} characters.");
        }
        else
        {
            validator.Optional("password", password, Passwords.MaxLength);
        }
    }
}
