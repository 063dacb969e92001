using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Automator.WebApi.Auth;

/// <summary>
/// ASP.NET Core Identity's PBKDF2 (HMAC-SHA512, V3 format) with at least 210,000 iterations; hashes made with
/// fewer iterations verify as <see cref="PasswordVerificationResult.SuccessRehashNeeded"/> and are upgraded at login.
/// </summary>
public sealed class Passwords
{
    public const int Iterations = 210_000;
    public const int MinLength = 10;
    public const int MaxLength = 256;

    private static readonly object User = new();
    private readonly PasswordHasher<object> _hasher;

    // Verified against when the email is unknown, so that both paths cost one PBKDF2 run.
    private readonly string _decoy;

    public Passwords(IOptions<PasswordHasherOptions>? options = null)
    {
        var configured = options?.Value ?? new PasswordHasherOptions();
        _hasher = new PasswordHasher<object>(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = Math.Max(Iterations, configured.IterationCount),
        }));
        _decoy = _hasher.HashPassword(User, Guid.NewGuid().ToString());
    }

    public string Hash(string password) => _hasher.HashPassword(User, password);

    public PasswordVerificationResult Verify(string? hash, string password)
    {
        if (string.IsNullOrEmpty(hash))
        {
            _hasher.VerifyHashedPassword(User, _decoy, password);
            return PasswordVerificationResult.Failed;
        }

        try
        {
            return _hasher.VerifyHashedPassword(User, hash, password);
        }
        catch (FormatException)
        {
            return PasswordVerificationResult.Failed;
        }
    }
}
