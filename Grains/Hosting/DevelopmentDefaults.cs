using System.Text;

namespace Automator.Hosting;

/// <summary>
/// Settings that are safe only on a developer's machine. Outside Development a host refuses to start with them, naming
/// the setting, rather than run with a password or key anyone can read in this repository.
/// </summary>
public static class DevelopmentDefaults
{
    public const string JwtSigningKeySetting = "Automator:Jwt:SigningKey";
    public const string DemoSeedSetting = "Automator:Demo:Seed";

    /// <summary>Signing keys published in this repository's scripts and docs; they sign nothing outside Development.</summary>
    public static readonly IReadOnlySet<string> PublicSigningKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "local-development-signing-key-change-me-0123456789",
    };

    /// <returns>Why the access-token signing key cannot be used in this environment, or null when it can.</returns>
    public static string? JwtSigningKeyProblem(string? key, bool development)
    {
        if (string.IsNullOrEmpty(key))
        {
            return development ? null : $"{JwtSigningKeySetting} is not set: outside Development access tokens need a secret signing key of at least 32 bytes (e.g. openssl rand -hex 32).";
        }

        if (Encoding.UTF8.GetByteCount(key) < 32)
        {
            return $"{JwtSigningKeySetting} must be at least 32 bytes.";
        }

        return !development && PublicSigningKeys.Contains(key)
            ? $"{JwtSigningKeySetting} is the public local-development key: outside Development set a secret of your own (e.g. openssl rand -hex 32)."
            : null;
    }

    /// <returns>Why the demo seed cannot run in this environment, or null when it can.</returns>
    public static string? DemoSeedProblem(bool seed, bool development) =>
        seed && !development
            ? $"{DemoSeedSetting} is on outside Development: the demo organization has a published password and an API key with every scope. Set {DemoSeedSetting}=false, or run in Development."
            : null;
}
