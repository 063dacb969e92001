using System.Security.Claims;
using System.Text.Json;
using Automator.Delivery.Rendering;
using Automator.WebApi.Auditing;
using Automator.WebApi.Contacts;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Fluid;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Automator.WebApi.Templates;

public sealed record TemplateRequest(string? Name, string? Subject, string? Html, string? Text);

public sealed record TemplateResponse(Guid Id, string Name, string Subject, string Html, string? Text, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record PreviewRequest(Guid? ContactId, JsonElement? Contact, JsonElement? Event);

public sealed record PreviewResponse(string Subject, string Html, string? Text);

public static class TemplatesEndpoints
{
    public const int MaxBodyLength = 512 * 1024;

    public static IEndpointRouteBuilder MapTemplatesApi(this IEndpointRouteBuilder routes)
    {
        var templates = routes.MapGroup("/v1/templates").WithTags("Templates");
        templates.MapPost("/", CreateAsync).RequireAuthorization(Scopes.TemplatesWrite).WithIdempotency();
        templates.MapGet("/", ListAsync).RequireAuthorization(Scopes.TemplatesRead);
        templates.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.TemplatesRead);
        templates.MapPut("/{id:guid}", UpdateAsync).RequireAuthorization(Scopes.TemplatesWrite);
        templates.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(Scopes.TemplatesWrite);
        templates.MapPost("/{id:guid}/preview", PreviewAsync).RequireAuthorization(Scopes.TemplatesRead);
        return routes;
    }

    private static ValidationProblem? Validate(TemplateRequest request)
    {
        var validator = new Validator();
        validator.Required("name", request.Name?.Trim());
        var subject = validator.Required("subject", request.Subject, 998);
        var html = validator.Required("html", request.Html, MaxBodyLength);
        var text = validator.Optional("text", request.Text, MaxBodyLength);
        var liquidErrors = new List<LiquidError>();
        foreach (var (field, source) in new[] { ("subject", subject), ("html", html), ("text", text) })
        {
            if (source is not null && !LiquidTemplates.TryParse(field, source, out _, out var error))
            {
                validator.Add(field, $"Liquid syntax error at line {error!.Line}, column {error.Column}: {error.Message}.");
                liquidErrors.Add(error);
            }
        }

        return validator.IsValid
            ? null
            : TypedResults.ValidationProblem(validator.Errors, title: "The template is invalid.",
                extensions: liquidErrors.Count == 0 ? null : new Dictionary<string, object?> { ["liquidErrors"] = liquidErrors });
    }

    private static async Task<Results<Created<TemplateResponse>, ValidationProblem>> CreateAsync(
        TemplateRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        await using var insert = dataSource.CreateCommand("""
            INSERT INTO email_templates (id, organization_id, name, subject, html, text, created_at, updated_at)
            VALUES (@id, @org, @name, @subject, @html, @text, @now, @now)
            """);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("org", caller.GetOrganizationId());
        AddFields(insert, request, now);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        await audit.WriteAsync(caller, "template.created", "template", [id], cancellationToken: cancellationToken);
        return TypedResults.Created("/v1/templates/" + id, new TemplateResponse(id, request.Name!.Trim(), request.Subject!, request.Html!, request.Text, now, now));
    }

    private static async Task<Results<Ok<TemplateResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, TemplateRequest request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Validate(request) is { } invalid)
        {
            return invalid;
        }

        await using var update = dataSource.CreateCommand("""
            UPDATE email_templates SET name = @name, subject = @subject, html = @html, text = @text, updated_at = @now
            WHERE id = @id AND organization_id = @org
            RETURNING id, name, subject, html, text, created_at, updated_at
            """);
        update.Parameters.AddWithValue("id", id);
        update.Parameters.AddWithValue("org", caller.GetOrganizationId());
        AddFields(update, request, time.GetUtcNow());
        TemplateResponse? template;
        await using (var reader = await update.ExecuteReaderAsync(cancellationToken))
        {
            template = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        if (template is null)
        {
            return ApiResults.NotFound("Template");
        }

        await audit.WriteAsync(caller, "template.updated", "template", [id], cancellationToken: cancellationToken);
        return TypedResults.Ok(template);
    }

    private static void AddFields(NpgsqlCommand command, TemplateRequest request, DateTimeOffset now)
    {
        command.Parameters.AddWithValue("name", request.Name!.Trim());
        command.Parameters.AddWithValue("subject", request.Subject!);
        command.Parameters.AddWithValue("html", request.Html!);
        command.Parameters.Add(new NpgsqlParameter<string?>("text", NpgsqlDbType.Text) { TypedValue = request.Text });
        command.Parameters.AddWithValue("now", now);
    }

    private static async Task<Results<Ok<Page<TemplateResponse>>, ValidationProblem>> ListAsync(
        int? limit, string? cursor, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        if (!Paging.TryRead(limit, cursor, out var take, out var after, out var invalid))
        {
            return invalid;
        }

        await using var command = dataSource.CreateCommand("""
            SELECT id, name, subject, html, text, created_at, updated_at FROM email_templates
            WHERE organization_id = @org AND (@after::uuid IS NULL OR id > @after) ORDER BY id LIMIT @take
            """);
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        command.Parameters.Add(new NpgsqlParameter<Guid?>("after", NpgsqlDbType.Uuid) { TypedValue = after });
        command.Parameters.AddWithValue("take", take + 1);
        var rows = new List<TemplateResponse>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }

        return TypedResults.Ok(Paging.ToPage(rows, take, t => t.Id));
    }

    private static async Task<Results<Ok<TemplateResponse>, ProblemHttpResult>> GetAsync(Guid id, ClaimsPrincipal caller, NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var template = await FindAsync(dataSource, caller.GetOrganizationId(), id, cancellationToken);
        return template is null ? ApiResults.NotFound("Template") : TypedResults.Ok(template);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, ClaimsPrincipal caller, NpgsqlDataSource dataSource, AuditLog audit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM email_templates WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", caller.GetOrganizationId());
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return ApiResults.NotFound("Template");
        }

        await audit.WriteAsync(caller, "template.deleted", "template", [id], cancellationToken: cancellationToken);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<PreviewResponse>, ValidationProblem, ProblemHttpResult>> PreviewAsync(
        Guid id, PreviewRequest? request, ClaimsPrincipal caller, NpgsqlDataSource dataSource, ContactStore contacts,
        IOptions<AutomatorOptions> automator, TimeProvider time, CancellationToken cancellationToken)
    {
        request ??= new PreviewRequest(null, null, null);
        var validator = new Validator();
        if (request.Contact is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
        {
            validator.Add("contact", "must be a JSON object.");
        }

        if (request.Event is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null) })
        {
            validator.Add("event", "must be a JSON object.");
        }

        if (request.ContactId is not null && request.Contact is { ValueKind: JsonValueKind.Object })
        {
            validator.Add("contact", "give contactId or contact, not both.");
        }

        if (!validator.IsValid)
        {
            return ApiResults.Invalid(validator);
        }

        var organizationId = caller.GetOrganizationId();
        var template = await FindAsync(dataSource, organizationId, id, cancellationToken);
        if (template is null)
        {
            return ApiResults.NotFound("Template");
        }

        object? contact;
        if (request.ContactId is { } contactId)
        {
            var stored = await contacts.GetAsync(organizationId, contactId, cancellationToken);
            if (stored is null)
            {
                return ApiResults.NotFound("Contact");
            }

            contact = new Dictionary<string, object?>
            {
                ["id"] = stored.Id.ToString(),
                ["email"] = stored.Email,
                ["firstName"] = stored.FirstName,
                ["lastName"] = stored.LastName,
                ["timeZone"] = stored.TimeZone,
                ["status"] = stored.Status,
                ["properties"] = LiquidTemplates.FromJson(stored.Properties),
            };
        }
        else
        {
            contact = request.Contact is { ValueKind: JsonValueKind.Object } inline ? LiquidTemplates.FromJson(inline) : new Dictionary<string, object?>();
        }

        var baseUrl = automator.Value.PublicBaseUrl.TrimEnd('/');
        var model = new Dictionary<string, object?>
        {
            ["contact"] = contact,
            ["event"] = request.Event is { ValueKind: JsonValueKind.Object } e ? LiquidTemplates.FromJson(e) : new Dictionary<string, object?>(),
            ["unsubscribe_url"] = baseUrl + "/u/preview",
        };

        var rendered = new Dictionary<string, string?>();
        foreach (var (field, source, html) in new[] { ("subject", template.Subject, false), ("html", template.Html, true), ("text", template.Text, false) })
        {
            if (source is null)
            {
                rendered[field] = null;
                continue;
            }

            if (!LiquidTemplates.TryParse(field, source, out var parsed, out var error))
            {
                return ApiResults.Invalid(field, $"Liquid syntax error at line {error!.Line}, column {error.Column}: {error.Message}.");
            }

            try
            {
                rendered[field] = await LiquidTemplates.RenderAsync(field, parsed!, model, html, time);
            }
            catch (TemplateLimitException ex)
            {
                return ApiResults.Invalid(field, ex.Message);
            }
            catch (InvalidOperationException ex)
            {
                return ApiResults.Invalid(field, "cannot be rendered: " + ex.Message);
            }
        }

        return TypedResults.Ok(new PreviewResponse(rendered["subject"]!, rendered["html"]!, rendered["text"]));
    }

    private static async Task<TemplateResponse?> FindAsync(NpgsqlDataSource dataSource, Guid organizationId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT id, name, subject, html, text, created_at, updated_at FROM email_templates WHERE id = @id AND organization_id = @org");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("org", organizationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    private static TemplateResponse Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6));
}
