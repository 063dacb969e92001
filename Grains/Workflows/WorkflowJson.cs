using System.Text.Json;
using System.Text.Json.Serialization;

namespace Automator.Workflows;

/// <summary>Reads and writes workflow definitions in the API's JSON shape.</summary>
public static class WorkflowJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        AllowTrailingCommas = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Parses a definition; on malformed JSON returns null and an error naming the JSON path.</summary>
    public static WorkflowDefinition? Parse(string json, out ValidationErrors errors)
    {
        errors = new ValidationErrors();
        try
        {
            var definition = JsonSerializer.Deserialize<WorkflowDefinition>(json, Options);
            if (definition is null)
            {
                errors.Add("body", "A workflow definition is required.");
            }

            return definition;
        }
        catch (JsonException ex)
        {
            errors.Add(string.IsNullOrEmpty(ex.Path) ? "body" : ex.Path.TrimStart('$', '.'), $"Invalid JSON: {ex.Message}");
            return null;
        }
    }

    public static WorkflowDefinition ParseValid(string json) =>
        JsonSerializer.Deserialize<WorkflowDefinition>(json, Options) ?? throw new InvalidOperationException("Empty workflow definition.");

    public static string Serialize(WorkflowDefinition definition) => JsonSerializer.Serialize(definition, Options);
}

/// <summary>Errors keyed by field path (<c>steps.wait.duration</c>), each message naming the step.</summary>
public sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool IsEmpty => _errors.Count == 0;

    public IReadOnlyDictionary<string, List<string>> All => _errors;

    public void Add(string key, string message)
    {
        if (!_errors.TryGetValue(key, out var list))
        {
            _errors[key] = list = [];
        }

        list.Add(message);
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    public override string ToString() => string.Join("; ", _errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
}
