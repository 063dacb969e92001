namespace Automator.WebApi.Ai;

public sealed record SubjectLinesRequest(Guid? TemplateId, string? Brief, int? Count, string? Tone);

public sealed record ContentRequest(Guid? TemplateId, string? Brief, int? Count, string? Tone);

public sealed record SubjectLineVariant(string Subject, string Rationale);

public sealed record SubjectLinesResponse(IReadOnlyList<SubjectLineVariant> Variants, string Provider);

public sealed record ContentVariant(string Subject, string Html);

public sealed record ContentResponse(IReadOnlyList<ContentVariant> Variants, string Provider);

public enum VariantKind
{
    SubjectLines,
    Content,
}

/// <summary>A template as the writer sees it: its source, Liquid placeholders left as placeholders, never rendered.</summary>
public sealed record TemplateSource(string Name, string Subject, string Html);

/// <summary>
/// Everything a generation is given. It holds no contact data: the caller's brief and tone, and a template's source.
/// </summary>
public sealed record VariantBrief(VariantKind Kind, int Count, string? Brief, string? Tone, TemplateSource? Template);

/// <summary>One written variant: a subject with its rationale (subject lines) or its HTML body (content).</summary>
public sealed record Variant(string Subject, string? Rationale, string? Html);

public sealed record Generation(IReadOnlyList<Variant> Variants, long Tokens);

/// <summary>Writes variants for a brief: the configured provider or the local generator.</summary>
public interface IVariantGenerator
{
    /// <summary><c>openai</c> or <c>local</c>, as answered in <c>provider</c>.</summary>
    string Provider { get; }

    /// <summary>Throws <see cref="AiProviderException"/> when the provider fails or answers something unusable.</summary>
    Task<Generation> GenerateAsync(VariantBrief brief, CancellationToken cancellationToken);
}

/// <summary>Why a generation failed on the provider's side; each maps to one status code (see docs/ai.md).</summary>
public enum AiFailure
{
    /// <summary>The provider's answer was not the JSON the schema asks for (502).</summary>
    MalformedOutput,

    /// <summary>The answer parsed but a variant broke the output rules: length, Liquid, script (502).</summary>
    InvalidOutput,

    /// <summary>Every attempt timed out (504).</summary>
    Timeout,

    /// <summary>The provider kept answering 429 (503).</summary>
    RateLimited,

    /// <summary>The provider kept answering 5xx, or refused the request (502).</summary>
    ProviderError,

    /// <summary>The provider could not be reached (503).</summary>
    Unreachable,
}

public sealed class AiProviderException(AiFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public AiFailure Failure { get; } = failure;
}

public static class AiFailures
{
    /// <summary>The failure's name in a ProblemDetails' <c>cause</c> and in metrics.</summary>
    public static string Cause(this AiFailure failure) => failure switch
    {
        AiFailure.MalformedOutput => "malformed_output",
        AiFailure.InvalidOutput => "invalid_output",
        AiFailure.Timeout => "timeout",
        AiFailure.RateLimited => "provider_rate_limited",
        AiFailure.Unreachable => "provider_unreachable",
        _ => "provider_error",
    };
}
