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
