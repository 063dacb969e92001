using Automator.Hosting;

namespace Automator.UnitTests.Hosting;

public sealed class DevelopmentDefaultsTests
{
    private const string Secret = "3f9c1d0e7a2b4c6d8e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b";

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("local-development-signing-key-change-me-0123456789")]
    [InlineData("too-short")]
    public void Outside_development_a_missing_short_or_public_signing_key_is_refused_naming_the_setting(string? key)
    {
        var problem = DevelopmentDefaults.JwtSigningKeyProblem(key, development: false);

        Assert.NotNull(problem);
        Assert.Contains("Automator:Jwt:SigningKey", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_signing_key_is_accepted_everywhere()
    {
        Assert.Null(DevelopmentDefaults.JwtSigningKeyProblem(Secret, development: false));
        Assert.Null(DevelopmentDefaults.JwtSigningKeyProblem(Secret, development: true));
    }

    [Fact]
    public void In_development_the_public_key_or_none_is_allowed()
    {
        Assert.Null(DevelopmentDefaults.JwtSigningKeyProblem("local-development-signing-key-change-me-0123456789", development: true));
        Assert.Null(DevelopmentDefaults.JwtSigningKeyProblem(null, development: true));
    }

    [Fact]
    public void The_demo_seed_runs_only_in_development()
    {
        Assert.Null(DevelopmentDefaults.DemoSeedProblem(seed: true, development: true));
        Assert.Null(DevelopmentDefaults.DemoSeedProblem(seed: false, development: false));
        Assert.Contains("Automator:Demo:Seed", DevelopmentDefaults.DemoSeedProblem(seed: true, development: false), StringComparison.Ordinal);
    }
}
