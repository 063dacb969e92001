using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Automator.WebApi.Ai;

/// <summary>
/// Writes variants through <see cref="IChatClient"/> (OpenAI when configured). The answer's shape is fixed by a JSON
/// schema sent as the response format; each call is bounded by a timeout and retried on a timeout, a 429, a 5xx or a
/// lost connection (<see cref="AiOptions"/>); what still fails becomes an <see cref="AiProviderException"/>.
/// </summary>
public sealed class ChatVariantGenerator : IVariantGenerator
{
    public const string Name = "openai";

    private const string Instructions = """
        You write marketing emails for a follow-up email automation product.
        Answer only with JSON matching the given schema, with exactly the number of variants asked for.
        Liquid placeholders such as {{ contact.firstName }} or {% if ... %} are filled in per contact at send time:
        keep them exactly as written, keep every {{ closed by }} and every {% closed by %}, and do not invent new
        personal data. Subjects are one line of at most 120 characters. HTML bodies are email-safe markup without
        <script>, forms or external stylesheets.
        """;

    private readonly IChatClient _chat;
    private readonly AiOptions _options;
    private readonly ResiliencePipeline _pipeline;

    public ChatVariantGenerator(IChatClient chat, AiOptions options, TimeProvider time)
    {
        _chat = chat;
        _options = options;
        _pipeline = Pipeline(options, time);
    }

    public string Provider => Name;

    public static JsonElement Schema(VariantKind kind)
    {
        var item = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = kind == VariantKind.SubjectLines
                ? new JsonObject { ["subject"] = new JsonObject { ["type"] = "string" }, ["rationale"] = new JsonObject { ["type"] = "string" } }
                : new JsonObject { ["subject"] = new JsonObject { ["type"] = "string" }, ["html"] = new JsonObject { ["type"] = "string" } },
            ["required"] = kind == VariantKind.SubjectLines ? new JsonArray("subject", "rationale") : new JsonArray("subject", "html"),
            ["additionalProperties"] = false,
        };
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { ["variants"] = new JsonObject { ["type"] = "array", ["items"] = item } },
            ["required"] = new JsonArray("variants"),
            ["additionalProperties"] = false,
        };
        return JsonSerializer.SerializeToElement(schema);
    }

    public static string SchemaName(VariantKind kind) => kind == VariantKind.SubjectLines ? "subject_line_variants" : "email_content_variants";

    public async Task<Generation> GenerateAsync(VariantBrief brief, CancellationToken cancellationToken)
    {
        var options = new ChatOptions
        {
            ModelId = _options.Model,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(Schema(brief.Kind), SchemaName(brief.Kind), "The written variants."),
        };
        List<ChatMessage> messages = [new(ChatRole.System, Instructions), new(ChatRole.User, Ask(brief))];

        ChatResponse response;
        try
        {
            response = await _pipeline.ExecuteAsync(async ct => await _chat.GetResponseAsync(messages, options, ct), cancellationToken);
        }
        catch (TimeoutRejectedException e)
        {
            throw new AiProviderException(AiFailure.Timeout, $"The AI provider did not answer within {_options.Timeout.TotalSeconds:0.#} s after {_options.MaxAttempts} attempt(s).", e);
        }
        catch (ClientResultException e) when (e.Status == 429)
        {
            throw new AiProviderException(AiFailure.RateLimited, $"The AI provider kept answering 429 (too many requests) after {_options.MaxAttempts} attempt(s).", e);
        }
        catch (ClientResultException e) when (e.Status >= 500)
        {
            throw new AiProviderException(AiFailure.ProviderError, $"The AI provider kept failing (HTTP {e.Status}) after {_options.MaxAttempts} attempt(s).", e);
        }
        catch (ClientResultException e) when (e.Status > 0)
        {
            throw new AiProviderException(AiFailure.ProviderError, $"The AI provider refused the request (HTTP {e.Status}).", e);
        }
        catch (Exception e) when (e is ClientResultException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            throw new AiProviderException(AiFailure.Unreachable, "The AI provider could not be reached.", e);
        }

        var variants = Parse(brief.Kind, response.Text);
        var tokens = response.Usage?.TotalTokenCount ?? (response.Usage?.InputTokenCount ?? 0) + (response.Usage?.OutputTokenCount ?? 0);
        return new Generation(variants, Math.Max(tokens, 1));
    }

    /// <summary>The user message: the task and its input as JSON, so the brief cannot pass for instructions.</summary>
    private static string Ask(VariantBrief brief)
    {
        var input = new JsonObject
        {
            ["task"] = brief.Kind == VariantKind.SubjectLines
                ? "Write email subject lines, each with a one-sentence rationale."
                : "Write complete HTML email bodies, each with its subject line.",
            ["count"] = brief.Count,
            ["brief"] = brief.Brief,
            ["tone"] = brief.Tone,
            ["template"] = brief.Template is { } t ? new JsonObject { ["name"] = t.Name, ["subject"] = t.Subject, ["html"] = t.Html } : null,
        };
        return input.ToJsonString();
    }

    public static IReadOnlyList<Variant> Parse(VariantKind kind, string? text)
    {
        try
        {
            using var document = JsonDocument.Parse(text ?? "");
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("variants", out var array) || array.ValueKind != JsonValueKind.Array)
            {
                throw new AiProviderException(AiFailure.MalformedOutput, "The AI provider's answer has no 'variants' array.");
            }

            var second = kind == VariantKind.SubjectLines ? "rationale" : "html";
            var variants = new List<Variant>();
            foreach (var item in array.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("subject", out var subject) || subject.ValueKind != JsonValueKind.String
                    || !item.TryGetProperty(second, out var other) || other.ValueKind != JsonValueKind.String)
                {
                    throw new AiProviderException(AiFailure.MalformedOutput, $"A variant in the AI provider's answer lacks 'subject' or '{second}'.");
                }

                variants.Add(kind == VariantKind.SubjectLines
                    ? new Variant(subject.GetString()!, other.GetString(), null)
                    : new Variant(subject.GetString()!, null, other.GetString()));
            }

            return variants;
        }
        catch (JsonException e)
        {
            throw new AiProviderException(AiFailure.MalformedOutput, "The AI provider's answer is not JSON.", e);
        }
    }

    /// <summary>The provider's <c>Retry-After</c> in seconds, if it sent one.</summary>
    public static TimeSpan? RetryAfter(ClientResultException failure) =>
        failure.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) == true
        && double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
        && seconds >= 0 && double.IsFinite(seconds)
            ? TimeSpan.FromSeconds(Math.Min(seconds, 3600))
            : null;

    private static ResiliencePipeline Pipeline(AiOptions options, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = time };
        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder()
                    .Handle<TimeoutRejectedException>()
                    .Handle<HttpRequestException>()
                    .Handle<ClientResultException>(e => e.Status is 0 or 408 or 429 or >= 500),

                // A provider that says when to come back is believed, up to one call's timeout.
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is ClientResultException e && RetryAfter(e) is { } wait ? (TimeSpan?)(wait > options.Timeout ? options.Timeout : wait) : null),
            });
        }

        return builder.AddTimeout(options.Timeout).Build();
    }
}
