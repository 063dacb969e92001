namespace Automator.WebApi.Ai;

/// <summary>
/// The AI provider (<c>Automator:OpenAI</c>). Without an API key every AI feature answers from the deterministic local
/// generator; the budget, the cache and the output checks apply either way.
/// </summary>
public sealed class AiOptions
{
    public const string Section = "Automator:OpenAI";

    public string? ApiKey { get; set; }

    /// <summary>The API root the chat-completions path is appended to (including <c>/v1</c>); unset: OpenAI's own.</summary>
    public string? BaseUrl { get; set; }

    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>How long one call to the provider may take before it is abandoned (and retried).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Calls per generation at most: the first and its retries after a timeout, a 429, a 5xx or a lost connection.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry; doubled (with jitter) for each further one.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Generations one organization may ask for per UTC day (answers from the cache are free).</summary>
    public int DailyRequests { get; set; } = 200;

    /// <summary>Provider tokens one organization may spend per UTC day; a generation is refused once they are spent.</summary>
    public long DailyTokens { get; set; } = 500_000;

    /// <summary>How long an answer is reused for the same organization and the same input.</summary>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromHours(1);

    public bool UsesProvider => !string.IsNullOrWhiteSpace(ApiKey);
}

/// <summary>Fails start-up on AI settings that could only fail every request later.</summary>
internal sealed class AiOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<AiOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, AiOptions options)
    {
        var problems = Problems(options).ToList();
        return problems.Count == 0
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(problems);
    }

    public static IEnumerable<string> Problems(AiOptions options)
    {
        if (options.BaseUrl is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return "Automator:OpenAI:BaseUrl must be an absolute http(s) URL such as https://api.openai.com/v1.";
        }

        if (string.IsNullOrWhiteSpace(options.Model))
        {
            yield return "Automator:OpenAI:Model must name a model.";
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(10))
        {
            yield return "Automator:OpenAI:Timeout must be more than zero and at most 10 minutes.";
        }

        if (options.MaxAttempts is < 1 or > 10)
        {
            yield return "Automator:OpenAI:MaxAttempts must be from 1 to 10.";
        }

        if (options.RetryDelay < TimeSpan.Zero || options.RetryDelay > TimeSpan.FromMinutes(1))
        {
            yield return "Automator:OpenAI:RetryDelay must be from zero to 1 minute.";
        }

        if (options.CacheDuration < TimeSpan.Zero)
        {
            yield return "Automator:OpenAI:CacheDuration must not be negative.";
        }

        if (options.DailyRequests < 0 || options.DailyTokens < 0)
        {
            yield return "Automator:OpenAI:DailyRequests and DailyTokens must not be negative (0 turns AI off).";
        }
    }
}
