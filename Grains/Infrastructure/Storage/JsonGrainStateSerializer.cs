using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Storage;

namespace Automator.Infrastructure.Storage;

/// <summary>
/// Stores grain state as plain System.Text.Json documents. The ADO.NET default (Newtonsoft with <c>$type</c>
/// and assembly-qualified names) ties stored rows to CLR type names, so a rename would orphan every journey.
/// </summary>
public sealed class JsonGrainStateSerializer : IGrainStorageSerializer
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, Options));

    public T Deserialize<T>(BinaryData input) => input.ToObjectFromJson<T>(Options)!;

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            IncludeFields = false,
        };
        options.Converters.Add(new JsonStringEnumConverter());
        return options;
    }
}
