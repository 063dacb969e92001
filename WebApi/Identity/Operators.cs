using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Automator.WebApi.Identity;

/// <summary>
/// Settings under <c>Automator:Operators</c>. Platform operators run the service for every tenant: they pause and resume
/// provider accounts, see platform-wide figures and open the Orleans dashboard. Being an operator is apart from any
/// organization's roles and from API-key scopes.
/// </summary>
public sealed class OperatorOptions
{
    public const string Section = "Automator:Operators";

    /// <summary>Users signing in with one of these addresses get the <c>operator</c> claim in their access tokens.</summary>
    public List<string> Emails { get; set; } = [];

    /// <summary>A shared secret sent as <c>X-Operator-Key</c> by operator tooling; unset disables the header.</summary>
    public string? Key { get; set; }

    public bool IsOperatorEmail(string? email) =>
        !string.IsNullOrWhiteSpace(email) && Emails.Any(e => string.Equals(e?.Trim(), email.Trim(), StringComparison.OrdinalIgnoreCase));
}

public static class Operators
{
    /// <summary>The authorization policy of operator-only routes.</summary>
    public const string Policy = "operator";

    public static bool IsOperator(this ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true && user.HasClaim(AutomatorClaims.Operator, "true");
}

/// <summary>Authenticates <c>X-Operator-Key</c> against the configured key, compared in constant time.</summary>
public sealed class OperatorKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<OperatorOptions> operators)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "OperatorKey";
    public const string HeaderName = "X-Operator-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(HeaderName, out var values) || string.IsNullOrEmpty(values.ToString()))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var configured = operators.Value.Key;
        if (string.IsNullOrEmpty(configured) || !Matches(values.ToString(), configured))
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown operator key."));
        }

        var identity = new ClaimsIdentity(
        [
            new Claim(AutomatorClaims.ActorType, "operator_key"),
            new Claim(AutomatorClaims.Operator, "true"),
        ], SchemeName, AutomatorClaims.UserId, AutomatorClaims.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <summary>Hashing both sides first gives equal lengths, so the comparison's time says nothing about the key.</summary>
    public static bool Matches(string presented, string configured) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
}
