using System.Globalization;
using System.Security.Claims;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Automator.WebApi.Ai;

/// <summary>Subject-line and content variants written from a brief and, optionally, one of the organization's templates.</summary>
public static class AiEndpoints
{
    public const int MinCount = 1;
    public const int MaxCount = 10;
    public const int MaxBriefLength = 4000;
    public const int MaxToneLength = 60;

    public static IEndpointRouteBuilder MapAiApi(this IEndpointRouteBuilder routes)
    {
        var ai = routes.MapGroup("/v1/ai").WithTags("AI")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout);
        ai.MapPost("/subject-lines", SubjectLinesAsync).RequireAuthorization(Scopes.AiUse);
        ai.MapPost("/content", ContentAsync).RequireAuthorization(Scopes.AiUse);
        return routes;
    }

    private static async Task<Results<Ok<SubjectLinesResponse>, ValidationProblem, ProblemHttpResult>> SubjectLinesAsync(
        SubjectLinesRequest request, ClaimsPrincipal caller, HttpContext http, NpgsqlDataSource dataSource, VariantWriter writer, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var brief = validator.Optional("brief", request.Brief, MaxBriefLength);
        if (request.TemplateId is null && string.IsNullOrWhiteSpace(request.Brief))
        {
            validator.Add("brief", "is required when no templateId is given (give a templateId, a brief, or both).");
        }

        var count = Count(validator, request.Count);
        var tone = validator.Optional("tone", request.Tone, MaxToneLength);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        return await WriteAsync(VariantKind.SubjectLines, request.TemplateId, brief, count, tone, caller, http, dataSource, writer, cancellationToken) switch
        {
            (var variants, var provider, null) => TypedResults.Ok(new SubjectLinesResponse(variants!.Select(v => new SubjectLineVariant(v.Subject, v.Rationale!)).ToArray(), provider)),
            (_, _, var problem) => problem,
        };
    }

    private static async Task<Results<Ok<ContentResponse>, ValidationProblem, ProblemHttpResult>> ContentAsync(
        ContentRequest request, ClaimsPrincipal caller, HttpContext http, NpgsqlDataSource dataSource, VariantWriter writer, CancellationToken cancellationToken)
    {
        var validator = new Validator();
        var brief = validator.Required("brief", request.Brief, MaxBriefLength);
        var count = Count(validator, request.Count);
        var tone = validator.Optional("tone", request.Tone, MaxToneLength);
        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        return await WriteAsync(VariantKind.Content, request.TemplateId, brief, count, tone, caller, http, dataSource, writer, cancellationToken) switch
        {
            (var variants, var provider, null) => TypedResults.Ok(new ContentResponse(variants!.Select(v => new ContentVariant(v.Subject, v.Html!)).ToArray(), provider)),
            (_, _, var problem) => problem,
        };
    }

    private static int Count(Validator validator, int? count)
    {
        if (count is null)
        {
            validator.Add("count", $"is required (from {MinCount} to {MaxCount}).");
            return 0;
        }

        if (count is < MinCount or > MaxCount)
        {
            validator.Add("count", $"must be from {MinCount} to {MaxCount}.");
        }

        return count.Value;
    }

    private static async Task<(IReadOnlyList<Variant>? Variants, string Provider, ProblemHttpResult? Problem)> WriteAsync(
        VariantKind kind, Guid? templateId, string? brief, int count, string? tone, ClaimsPrincipal caller, HttpContext http,
        NpgsqlDataSource dataSource, VariantWriter writer, CancellationToken cancellationToken)
    {
        var organizationId = caller.GetOrganizationId();
        TemplateSource? template = null;
        if (templateId is { } id)
        {
            template = await LoadTemplateAsync(dataSource, organizationId, id, cancellationToken);
            if (template is null)
            {
                return (null, writer.Provider, ApiResults.NotFound("Template"));
            }
        }

        var outcome = await writer.WriteAsync(organizationId, new VariantBrief(kind, count, string.IsNullOrWhiteSpace(brief) ? null : brief.Trim(), string.IsNullOrWhiteSpace(tone) ? null : tone.Trim(), template), cancellationToken);
        if (outcome.BudgetSpent)
        {
            var wait = writer.Budget.UntilRenewal();
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return (null, outcome.Provider, TypedResults.Problem(
                statusCode: StatusCodes.Status429TooManyRequests,
                title: "The organization's daily AI budget is spent.",
                detail: "The daily allowance of AI generations or tokens is used up; it renews at 00:00 UTC. Answers already given stay available from the cache.",
                extensions: new Dictionary<string, object?> { ["cause"] = "budget_spent" }));
        }

        if (outcome.Failure is { } failure)
        {
            return (null, outcome.Provider, Problem(failure));
        }

        return (outcome.Variants, outcome.Provider, null);
    }

    public static ProblemHttpResult Problem(AiProviderException failure)
    {
        var (status, title) = failure.Failure switch
        {
            AiFailure.MalformedOutput => (StatusCodes.Status502BadGateway, "The AI provider's answer was malformed."),
            AiFailure.InvalidOutput => (StatusCodes.Status502BadGateway, "The AI provider's variants failed the output checks."),
            AiFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "The AI provider timed out."),
            AiFailure.RateLimited => (StatusCodes.Status503ServiceUnavailable, "The AI provider is rate limiting requests."),
            AiFailure.Unreachable => (StatusCodes.Status503ServiceUnavailable, "The AI provider could not be reached."),
            _ => (StatusCodes.Status502BadGateway, "The AI provider failed."),
        };
        return TypedResults.Problem(statusCode: status, title: title, detail: failure.Message,
            extensions: new Dictionary<string, object?> { ["cause"] = failure.Failure.Cause() });
    }

    private static async Task<TemplateSource?> LoadTemplateAsync(NpgsqlDataSource dataSource, Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT name, subject, html FROM email_templates WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new TemplateSource(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }
}
