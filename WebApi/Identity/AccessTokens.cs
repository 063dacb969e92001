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

    public (string Token, int ExpiresIn) Issue(Guid userId, Guid organizationId, string role) =>
        Issue(userId, organizationId, role, options.Value.AccessTokenLifetime);

    /// <summary>A token with an explicit lifetime (shorter-lived tokens for narrower uses, and tests of expiry).</summary>
    public (string Token, int ExpiresIn) Issue(Guid userId, Guid organizationId, string role, TimeSpan lifetime)
    {
        var jwt = options.Value;
        var now = time.GetUtcNow();
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            SigningCredentials = new SigningCredentials(KeyFrom(jwt), SecurityAlgorithms.HmacSha256),
            Subject = new ClaimsIdentity(
            [
                new Claim(AutomatorClaims.UserId, userId.ToString()),
                new Claim(AutomatorClaims.OrganizationId, organizationId.ToString()),
                new Claim(AutomatorClaims.Role, role),
                new Claim(AutomatorClaims.ActorType, "user"),
            ]),
        });
        return (token, (int)lifetime.TotalSeconds);
    }
}
