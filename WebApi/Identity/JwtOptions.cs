namespace Automator.WebApi.Identity;

/// <summary>Settings under <c>Automator:Jwt</c>.</summary>
public sealed class JwtOptions
{
    public const string Section = "Automator:Jwt";

    /// <summary>HMAC-SHA256 key for access tokens; at least 32 bytes.</summary>
    public string SigningKey { get; set; } = "";

    public string Issuer { get; set; } = "automator";

    public string Audience { get; set; } = "automator-api";

    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Absolute lifetime of a session (a refresh-token family) from its sign-in: rotation never carries a session past
    /// it, after which the user signs in again.
    /// </summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// The refresh cookie's Secure flag. Keep it on; switch it off only for tooling that talks plain HTTP and,
    /// unlike browsers on localhost, will not send a Secure cookie there.
    /// </summary>
    public bool RefreshCookieSecure { get; set; } = true;
}
