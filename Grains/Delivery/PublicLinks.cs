using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Automator.Delivery;

/// <summary>
/// The base URL every tracking, click and unsubscribe link in an email starts with (<c>Automator:PublicBaseUrl</c>).
/// Outside Development it must be set to an absolute http(s) URL that recipients can reach, so a deployment that
/// forgot it fails at start instead of mailing links to localhost that nobody can follow.
/// </summary>
public sealed class PublicLinks
{
    public const string Setting = "Automator:PublicBaseUrl";

    public string? PublicBaseUrl { get; set; }

    /// <summary>What is wrong with the configured URL for this environment, or null.</summary>
    public static string? Problem(string? configured, bool development)
    {
        if (development)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(configured))
        {
            return $"{Setting} (Automator__PublicBaseUrl) must be set outside Development: it is the base of the tracking and unsubscribe links in every email.";
        }

        if (!Uri.TryCreate(configured, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            return $"{Setting} must be an absolute http(s) URL (was '{configured}').";
        }

        if (url.IsLoopback || url.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return $"{Setting} points at this machine ('{configured}') outside Development: recipients could not follow its links.";
        }

        return null;
    }

    internal sealed class Validator(IHostEnvironment? environment) : IValidateOptions<PublicLinks>
    {
        public ValidateOptionsResult Validate(string? name, PublicLinks options) =>
            Problem(options.PublicBaseUrl, environment?.IsDevelopment() ?? true) is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}
