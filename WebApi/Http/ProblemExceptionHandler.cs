using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Automator.WebApi.Http;

/// <summary>
/// Turns request-shape failures (malformed JSON, wrong types, wrong content type, oversized bodies) into 4xx
/// ProblemDetails naming the field, instead of the generic 500. Anything else falls through to the default handler.
/// </summary>
public sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, errors) = exception switch
        {
            BadHttpRequestException bad => Describe(bad),
            JsonException json => (400, "The request body is not valid JSON.", FieldErrors(json)),
            // System.Text.Json reports text it cannot transcode (a lone surrogate escape) this way.
            InvalidOperationException invalid when invalid.TargetSite?.DeclaringType?.Namespace?.StartsWith("System.Text.Json", StringComparison.Ordinal) == true =>
                (400, "The request body holds text that is not valid Unicode.", new Dictionary<string, string[]> { ["body"] = ["holds an invalid Unicode escape."] }),
            PostgresException { SqlState: var state } when state.StartsWith("22", StringComparison.Ordinal) =>
                (400, "A value in the request cannot be stored.", new Dictionary<string, string[]> { ["body"] = ["A value is out of range or not storable."] }),
            _ => (0, "", null),
        };
        if (status == 0)
        {
            return false;
        }

        log.LogDebug(exception, "Request rejected with {Status}", status);
        context.Response.StatusCode = status;
        var details = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title };
        if (errors is not null)
        {
            details.Extensions["errors"] = errors;
        }

        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details, Exception = exception });
    }

    private static (int, string, Dictionary<string, string[]>?) Describe(BadHttpRequestException bad)
    {
        if (bad.InnerException is JsonException json)
        {
            return (400, "The request body is not valid JSON or has a value of the wrong type.", FieldErrors(json));
        }

        return bad.StatusCode switch
        {
            StatusCodes.Status415UnsupportedMediaType => (415, "The request body must be application/json.",
                new Dictionary<string, string[]> { ["contentType"] = ["must be application/json."] }),
            StatusCodes.Status413PayloadTooLarge => (413, "The request body is too large.",
                new Dictionary<string, string[]> { ["body"] = ["exceeds the size limit of this route."] }),
            _ => (bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : 400, "The request is malformed.", BindingErrors(bad.Message)),
        };
    }

    /// <summary>Names the parameter of a binding failure: a query value that does not parse, or a missing body.</summary>
    private static Dictionary<string, string[]> BindingErrors(string message)
    {
        if (message.Contains("no body", StringComparison.OrdinalIgnoreCase) || message.Contains("from body", StringComparison.OrdinalIgnoreCase))
        {
            return new Dictionary<string, string[]> { ["body"] = ["is required: a JSON object."] };
        }

        var match = BoundParameter().Match(message);
        return match.Success
            ? new Dictionary<string, string[]> { [match.Groups[2].Value] = [$"is not a valid {Friendly(match.Groups[1].Value)}."] }
            : new Dictionary<string, string[]> { ["request"] = [message] };
    }

    private static string Friendly(string type) =>
        type.Contains("Guid", StringComparison.Ordinal) ? "id" : type.Contains("Int", StringComparison.OrdinalIgnoreCase) ? "whole number" : "value";

    [System.Text.RegularExpressions.GeneratedRegex("parameter \"(?:([^\"]*) )?(\\w+)\"")]
    private static partial System.Text.RegularExpressions.Regex BoundParameter();

    private static Dictionary<string, string[]> FieldErrors(JsonException json)
    {
        var field = FieldName(json.Path);
        var message = json.Path is null
            ? "is not valid JSON" + (json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})." : ".")
            : "has a value of the wrong type or is malformed.";
        return new Dictionary<string, string[]> { [field] = [message] };
    }

    /// <summary><c>$.contacts[3].email</c> becomes <c>contacts[3].email</c>; the root becomes <c>body</c>.</summary>
    internal static string FieldName(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }
}
