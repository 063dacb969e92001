using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Http;

/// <summary>ProblemDetails results shared by every feature.</summary>
public static class ApiResults
{
    public static ValidationProblem Invalid(Validator validator) =>
        TypedResults.ValidationProblem(validator.Errors, title: "The request is invalid.");

    public static ValidationProblem Invalid(string field, string message) =>
        Invalid(new Validator().Add(field, message));

    public static ProblemHttpResult NotFound(string what) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: $"{what} not found.");

    public static ProblemHttpResult Conflict(string title, string? field = null, string? message = null) =>
        TypedResults.Problem(
            statusCode: StatusCodes.Status409Conflict,
            title: title,
            extensions: field is null ? null : new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { [field] = [message ?? title] } });

    public static ProblemHttpResult Unauthorized(string title) =>
        TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: title);

    public static ProblemHttpResult Forbidden(string title) =>
        TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: title);
}
