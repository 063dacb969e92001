using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Automator.WebApi.Identity;

/// <summary>Issues the short-lived JWT access tokens that the API and the live hub accept.</summary>
public sealed class AccessTokens(IOptions<JwtOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new();

    public static SymmetricSecurityKey KeyFrom(JwtOptions options)
    {
        var bytes = Encoding.UTF8.GetBytes(options.SigningKey);
        if (bytes.Length < 32)
        {
            throw new InvalidOperationException("Automator:Jwt:SigningKey must be set to at least 32 bytes.");
        }

        return new SymmetricSecurityKey(bytes);
    }

    /// <summary>A token with an explicit lifetime (shorter-lived tokens for narrower uses, and tests of expiry).</summary>
    public (string Token, int ExpiresIn) Issue(Guid userId, Guid organizationId, string role, TimeSpan lifetime) =>
        Issue(userId, organizationId, role, isOperator: false, sessionStamp: null, lifetime);

    /// <param name="sessionStamp">The user's current session stamp (<see cref="SessionStamps"/>), when they have one.</param>
    /// <param name="lifetime">How long the token lives; the configured access token lifetime when not given.</param>
    public (string Token, int ExpiresIn) Issue(Guid userId, Guid organizationId, string role, bool isOperator = false, Guid? sessionStamp = null, TimeSpan? lifetime = null)
    {
        var claims = new List<Claim>
        {
            new(AutomatorClaims.UserId, userId.ToString()),
            new(AutomatorClaims.OrganizationId, organizationId.ToString()),
            new(AutomatorClaims.Role, role),
            new(AutomatorClaims.ActorType, "user"),
        };
        if (isOperator)
        {
            claims.Add(new Claim(AutomatorClaims.Operator, "true"));
        }

        if (sessionStamp is { } stamp)
        {
            claims.Add(new Claim(AutomatorClaims.SessionStamp, stamp.ToString()));
        }

        var jwt = options.Value;
        var life = lifetime ?? jwt.AccessTokenLifetime;
        var now = time.GetUtcNow();
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + life).UtcDateTime,
            SigningCredentials = new SigningCredentials(KeyFrom(jwt), SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(claims),
        });
        return (token, (int)life.TotalSeconds);
    }
}
