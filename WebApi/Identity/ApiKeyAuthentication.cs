using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.WebApi.Identity;

/// <summary>Authenticates <c>X-Api-Key</c>: keys are stored as SHA-256 hashes and carry explicit scopes.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IServiceProvider services)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values) || string.IsNullOrWhiteSpace(values.ToString()))
        {
            return AuthenticateResult.NoResult();
        }

        var dataSource = services.GetService<NpgsqlDataSource>();
        if (dataSource is null)
        {
            return AuthenticateResult.Fail("API keys need the PostgreSQL store.");
        }

        // last_used_at is refreshed at most once a minute, so a busy key does not write a row per request.
        await using var command = dataSource.CreateCommand("""
            WITH k AS (SELECT id, organization_id, scopes, last_used_at FROM api_keys WHERE key_hash = @hash AND revoked_at IS NULL),
            touched AS (
                UPDATE api_keys a SET last_used_at = now() FROM k
                WHERE a.id = k.id AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'))
            SELECT id, organization_id, scopes FROM k
            """);
        command.Parameters.AddWithValue("hash", Hash(values.ToString()));
        await using var reader = await command.ExecuteReaderAsync(Context.RequestAborted);
        if (!await reader.ReadAsync(Context.RequestAborted))
        {
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var claims = new List<Claim>
        {
            new(AutomatorClaims.OrganizationId, reader.GetGuid(1).ToString()),
            new(AutomatorClaims.ActorType, "api_key"),
            new("key_id", reader.GetGuid(0).ToString()),
        };
        claims.AddRange(reader.GetFieldValue<string[]>(2).Select(s => new Claim(AutomatorClaims.Scope, s)));
        var identity = new ClaimsIdentity(claims, SchemeName, AutomatorClaims.UserId, AutomatorClaims.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}
