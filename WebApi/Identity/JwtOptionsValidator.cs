using Automator.Hosting;
using Microsoft.Extensions.Options;

namespace Automator.WebApi.Identity;

/// <summary>Fails start-up outside Development when the access-token signing key is missing, short or a public default.</summary>
internal sealed class JwtOptionsValidator(IHostEnvironment environment) : IValidateOptions<JwtOptions>
{
    public ValidateOptionsResult Validate(string? name, JwtOptions options) =>
        DevelopmentDefaults.JwtSigningKeyProblem(options.SigningKey, environment.IsDevelopment()) is { } problem
            ? ValidateOptionsResult.Fail(problem)
            : ValidateOptionsResult.Success;
}
