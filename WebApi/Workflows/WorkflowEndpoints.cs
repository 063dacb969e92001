using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Automator.Contacts;
using Automator.Journeys;
using Automator.WebApi.Events;
using Automator.WebApi.Identity;
using Automator.Workflows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Automator.WebApi.Workflows;

/// <summary>Workflows: drafts, versions, status, enrollment, stats and journeys. The organization comes from the caller only.</summary>
public static class WorkflowEndpoints
{
    public static IEndpointRouteBuilder MapWorkflowsApi(this IEndpointRouteBuilder routes)
    {
        var workflows = routes.MapGroup("/v1/workflows").WithTags("Workflows");
        workflows.MapPost("/", CreateAsync).RequireAuthorization(Scopes.WorkflowsWrite).WithMetadata(new WorkflowDocumentBody());
        workflows.MapGet("/", ListAsync).RequireAuthorization(Scopes.WorkflowsRead);
        workflows.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Scopes.WorkflowsRead);
        workflows.MapPut("/{id:guid}", UpdateAsync).RequireAuthorization(Scopes.WorkflowsWrite).WithMetadata(new WorkflowDocumentBody());
        workflows.MapPost("/{id:guid}/publish", PublishAsync).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/activate", ActivateAsync).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/pause", (Guid id, HttpContext http, IGrainFactory grains) => CommandAsync(id, http, grains, g => g.PauseAsync())).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/resume", (Guid id, HttpContext http, IGrainFactory grains) => CommandAsync(id, http, grains, g => g.ResumeAsync())).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/archive", (Guid id, HttpContext http, IGrainFactory grains) => CommandAsync(id, http, grains, g => g.ArchiveAsync())).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/webhook-secret/rotate", RotateWebhookSecretAsync).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapPost("/{id:guid}/enroll", EnrollAsync).RequireAuthorization(Scopes.WorkflowsWrite);
        workflows.MapGet("/{id:guid}/versions", VersionsAsync).RequireAuthorization(Scopes.WorkflowsRead);
        workflows.MapGet("/{id:guid}/versions/{version:int}", VersionAsync).RequireAuthorization(Scopes.WorkflowsRead);
        workflows.MapGet("/{id:guid}/stats", StatsAsync).RequireAuthorization(Scopes.WorkflowsRead);
        workflows.MapGet("/{id:guid}/journeys", JourneysAsync).RequireAuthorization(Scopes.WorkflowsRead);

        routes.MapGet("/v1/journeys/{journeyId}", GetJourneyAsync).WithTags("Workflows").RequireAuthorization(Scopes.WorkflowsRead);
        return routes;
    }

    private static IWorkflowGrain Grain(IGrainFactory grains, HttpContext http, Guid id) =>
        grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(http.User.GetOrganizationId(), id));

    private static async Task<Results<Created<JsonObject>, ValidationProblem>> CreateAsync(
        JsonElement body, HttpContext http, IGrainFactory grains, WorkflowValidator validator, IWorkflowCatalog catalog, IWebhookSecrets secrets)
    {
        var organizationId = http.User.GetOrganizationId();
        var (definition, json, errors, secret) = await ValidateAsync(body, organizationId, validator, catalog);
        if (definition is null)
        {
            return TypedResults.ValidationProblem(errors!, title: "The workflow is invalid.");
        }

        var id = Guid.NewGuid();
        if (secret is not null)
        {
            await secrets.SetAsync(organizationId, id, secret, http.RequestAborted);
        }

        var result = await grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(organizationId, id)).CreateAsync(json!, definition.Trigger!.Type!, definition.Name);

        // The webhook secret is shown here and on rotation only.
        return TypedResults.Created($"/v1/workflows/{id}", Response(result.Workflow!, secret));
    }

    private static async Task<Results<Ok<WebhookSecretResponse>, ProblemHttpResult>> RotateWebhookSecretAsync(
        Guid id, HttpContext http, IGrainFactory grains, IWebhookSecrets secrets, Auditing.AuditLog audit, TimeProvider time)
    {
        var info = await Grain(grains, http, id).GetAsync();
        if (info is null)
        {
            return NotFound();
        }

        if (!IsWebhookTrigger(info.DraftJson) && !IsWebhookTrigger(info.ActiveTriggerJson, triggerOnly: true))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "This workflow is not triggered by a webhook.");
        }

        var secret = IWebhookSecrets.NewSecret();
        var organizationId = http.User.GetOrganizationId();
        await secrets.SetAsync(organizationId, id, secret, http.RequestAborted);
        await audit.WriteAsync(http.User, "workflow.webhook_secret_rotated", "workflow", [id], cancellationToken: http.RequestAborted);
        return TypedResults.Ok(new WebhookSecretResponse(id, secret, time.GetUtcNow()));
    }

    private static bool IsWebhookTrigger(string? json, bool triggerOnly = false)
    {
        if (json is null || JsonNode.Parse(json) is not JsonObject node)
        {
            return false;
        }

        var trigger = triggerOnly ? node : node["trigger"] as JsonObject;
        return trigger?["type"] is JsonValue type && type.TryGetValue<string>(out var value) && value == TriggerTypes.Webhook;
    }

    private static async Task<Results<Ok<JsonObject>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        Guid id, JsonElement body, HttpContext http, IGrainFactory grains, WorkflowValidator validator, IWorkflowCatalog catalog, IWebhookSecrets secrets)
    {
        // Another organization's workflow is not found, whatever the body says.
        if (await Grain(grains, http, id).GetAsync() is null)
        {
            return TypedResults.Problem(title: "No such workflow.", statusCode: StatusCodes.Status404NotFound);
        }

        // A draft saved without a secret (the canvas never sees it) keeps the one the trigger has.
        var organizationId = http.User.GetOrganizationId();
        var current = await secrets.GetAsync(organizationId, id, http.RequestAborted);
        var (definition, json, errors, secret) = await ValidateAsync(body, organizationId, validator, catalog, current);
        if (definition is null)
        {
            return TypedResults.ValidationProblem(errors!, title: "The workflow is invalid.");
        }

        if (secret is not null && secret != current)
        {
            await secrets.SetAsync(organizationId, id, secret, http.RequestAborted);
        }

        var result = await Grain(grains, http, id).UpdateDraftAsync(json!, definition.Trigger!.Type!, definition.Name);
        return result.Workflow is { } info ? TypedResults.Ok(Response(info)) : Problem(result);
    }

    private static async Task<Results<Ok<JsonObject>, ValidationProblem, ProblemHttpResult>> PublishAsync(
        Guid id, HttpContext http, IGrainFactory grains, WorkflowValidator validator, IWorkflowCatalog catalog, IWebhookSecrets secrets) =>
        await PublishingCommandAsync(id, http, grains, validator, catalog, secrets, (g, user) => g.PublishAsync(user));

    private static async Task<Results<Ok<JsonObject>, ValidationProblem, ProblemHttpResult>> ActivateAsync(
        Guid id, HttpContext http, IGrainFactory grains, WorkflowValidator validator, IWorkflowCatalog catalog, IWebhookSecrets secrets) =>
        await PublishingCommandAsync(id, http, grains, validator, catalog, secrets, (g, user) => g.ActivateAsync(user));

    /// <summary>Publishing re-validates the draft: a template may have been deleted since it was saved.</summary>
    private static async Task<Results<Ok<JsonObject>, ValidationProblem, ProblemHttpResult>> PublishingCommandAsync(
        Guid id, HttpContext http, IGrainFactory grains, WorkflowValidator validator, IWorkflowCatalog catalog, IWebhookSecrets secrets, Func<IWorkflowGrain, Guid?, Task<WorkflowResult>> command)
    {
        var grain = Grain(grains, http, id);
        var info = await grain.GetAsync();
        if (info is null)
        {
            return NotFound();
        }

        using (var document = JsonDocument.Parse(info.DraftJson))
        {
            var organizationId = http.User.GetOrganizationId();
            var current = await secrets.GetAsync(organizationId, id, http.RequestAborted);
            var (definition, _, errors, secret) = await ValidateAsync(document.RootElement, organizationId, validator, catalog, current);
            if (definition is null)
            {
                return TypedResults.ValidationProblem(errors!, title: "The workflow's draft is invalid.");
            }

            // A draft saved before secrets were kept apart carries its own: it moves to the secret store.
            if (secret is not null && current is null)
            {
                await secrets.SetAsync(organizationId, id, secret, http.RequestAborted);
            }
        }

        var result = await command(grain, http.User.GetUserId());
        return result.Workflow is { } updated ? TypedResults.Ok(Response(updated)) : Problem(result);
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> CommandAsync(Guid id, HttpContext http, IGrainFactory grains, Func<IWorkflowGrain, Task<WorkflowResult>> command)
    {
        var result = await command(Grain(grains, http, id));
        return result.Workflow is { } info ? TypedResults.Ok(Response(info)) : Problem(result);
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> GetAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var info = await Grain(grains, http, id).GetAsync();
        return info is null ? NotFound() : TypedResults.Ok(Response(info));
    }

    /// <summary>The published versions, newest first; each is immutable, so the list is read from the workflow itself.</summary>
    private static async Task<Results<Ok<WorkflowVersionList>, ProblemHttpResult>> VersionsAsync(Guid id, HttpContext http, IGrainFactory grains)
    {
        var grain = Grain(grains, http, id);
        var info = await grain.GetAsync();
        if (info is null)
        {
            return NotFound();
        }

        var items = new List<WorkflowVersionItem>();
        for (var version = info.Version; version >= 1; version--)
        {
            if (await grain.GetVersionAsync(version) is { } json)
            {
                var steps = JsonNode.Parse(json)?["steps"] is JsonArray array ? array.Count : 0;
                items.Add(new WorkflowVersionItem(version, version == info.ActiveVersion, steps));
            }
        }

        return TypedResults.Ok(new WorkflowVersionList(items));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> VersionAsync(Guid id, int version, HttpContext http, IGrainFactory grains)
    {
        var grain = Grain(grains, http, id);
        if (await grain.GetAsync() is null)
        {
            return NotFound();
        }

        if (await grain.GetVersionAsync(version) is not { } json || JsonNode.Parse(json) is not JsonObject node)
        {
            return NotFound($"Version {version} of the workflow does not exist.");
        }

        if (node["trigger"] is JsonObject trigger)
        {
            trigger.Remove("secret");
        }

        node["id"] = id;
        node["version"] = version;
        return TypedResults.Ok(node);
    }

    private static async Task<Ok<WorkflowPage>> ListAsync(HttpContext http, IGrainFactory grains, int? limit, string? cursor, string? status)
    {
        var organizationId = http.User.GetOrganizationId();
        var take = Math.Clamp(limit ?? 50, 1, 200);
        var all = (await grains.GetGrain<IOrganizationWorkflowsGrain>(organizationId).GetAllAsync())
            .Where(w => status is null || w.Status == status)
            .OrderBy(w => w.CreatedAt).ThenBy(w => w.WorkflowId)
            .Select(w => (Cursor: $"{w.CreatedAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}_{w.WorkflowId:N}", Workflow: w))
            .Where(w => cursor is null || string.CompareOrdinal(w.Cursor, cursor) > 0)
            .Take(take + 1)
            .ToList();
        var items = all.Take(take).Select(w => new WorkflowListItem(w.Workflow.WorkflowId, w.Workflow.Name, w.Workflow.Status, w.Workflow.Version,
            w.Workflow.ActiveVersion, w.Workflow.TriggerType, w.Workflow.CreatedAt, w.Workflow.UpdatedAt)).ToList();
        return TypedResults.Ok(new WorkflowPage(items, all.Count > take ? all[take - 1].Cursor : null));
    }

    private static async Task<Results<Accepted<EnrollResult>, ValidationProblem, ProblemHttpResult>> EnrollAsync(
        Guid id, JsonElement body, HttpContext http, IGrainFactory grains, IContactDirectory directory)
    {
        var organizationId = http.User.GetOrganizationId();
        var info = await Grain(grains, http, id).GetAsync();
        if (info is null)
        {
            return NotFound();
        }

        var contactIds = new List<Guid>();
        var rejected = new List<EnrollRejection>();
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("contactIds", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            var parsed = ids.EnumerateArray().Select(i => i.ValueKind == JsonValueKind.String && Guid.TryParse(i.GetString(), out var g) ? g : Guid.Empty).ToList();
            var known = await directory.FindIdsAsync(organizationId, parsed.Where(g => g != Guid.Empty).ToList());
            foreach (var contactId in parsed)
            {
                if (known.ContainsKey(contactId))
                {
                    contactIds.Add(contactId);
                }
                else
                {
                    rejected.Add(new EnrollRejection(contactId == Guid.Empty ? null : contactId.ToString(), "No such contact in this organization."));
                }
            }
        }
        else if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("emails", out var emails) && emails.ValueKind == JsonValueKind.Array)
        {
            var list = emails.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList();
            var resolved = await directory.ResolveEmailsAsync(organizationId, list, create: false);
            foreach (var email in list)
            {
                if (resolved.TryGetValue(email.Trim().ToLowerInvariant(), out var contactId))
                {
                    contactIds.Add(contactId);
                }
                else
                {
                    rejected.Add(new EnrollRejection(email, "No such contact in this organization."));
                }
            }
        }
        else if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("segmentId", out var segment) && segment.ValueKind == JsonValueKind.String && Guid.TryParse(segment.GetString(), out var segmentId))
        {
            contactIds.AddRange(await directory.SegmentMembersAsync(organizationId, segmentId));
        }
        else
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["contactIds"] = ["Give contactIds, emails or segmentId."] });
        }

        if (info.Status != WorkflowStatuses.Active)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: $"The workflow is {info.Status}; only an active workflow takes enrollments.");
        }

        var enrolled = 0;
        foreach (var chunk in contactIds.Distinct().Chunk(200))
        {
            var outcomes = await Task.WhenAll(chunk.Select(async contactId =>
                (contactId, await grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, contactId)).EnrollAsync(id, "manual"))));
            foreach (var (contactId, outcome) in outcomes)
            {
                if (outcome.Rejected is null)
                {
                    enrolled++;
                }
                else
                {
                    rejected.Add(new EnrollRejection(contactId.ToString(), outcome.Rejected));
                }
            }
        }

        return TypedResults.Accepted((string?)null, new EnrollResult(enrolled, rejected));
    }

    private static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> StatsAsync(Guid id, HttpContext http, IGrainFactory grains, IServiceProvider services)
    {
        var grain = Grain(grains, http, id);
        var info = await grain.GetAsync();
        if (info is null)
        {
            return NotFound();
        }

        if (services.GetService<CounterBuffer>() is { } buffer)
        {
            await buffer.FlushAsync();
        }

        var stats = await grain.GetStatsAsync();
        var steps = new JsonObject();
        if (JsonNode.Parse(info.DraftJson)?["steps"] is JsonArray draftSteps)
        {
            foreach (var step in draftSteps)
            {
                if (step?["id"]?.GetValue<string>() is { } stepId && !stats.Steps.ContainsKey(stepId))
                {
                    stats.Steps[stepId] = new Dictionary<string, long> { ["entered"] = 0, ["waiting"] = 0, ["passed"] = 0, ["sent"] = 0, ["delivered"] = 0, ["opened"] = 0, ["clicked"] = 0, ["bounced"] = 0, ["complained"] = 0, ["unsubscribed"] = 0, ["failed"] = 0, ["exited"] = 0, ["goals"] = 0 };
                }
            }
        }

        foreach (var (stepId, counters) in stats.Steps)
        {
            steps[stepId] = JsonSerializer.SerializeToNode(counters);
        }

        var variants = new JsonObject();
        foreach (var (variant, counters) in stats.Variants)
        {
            variants[variant] = JsonSerializer.SerializeToNode(counters);
        }

        return TypedResults.Ok(new JsonObject
        {
            ["workflowId"] = id,
            ["entered"] = stats.Entered,
            ["active"] = stats.Active,
            ["completed"] = stats.Completed,
            ["exited"] = stats.Exited,
            ["goals"] = stats.Goals,
            ["steps"] = steps,
            ["variants"] = variants,
            ["autoWinners"] = JsonSerializer.SerializeToNode(stats.AutoWinners, WinnerJson),
        });
    }

    private static readonly JsonSerializerOptions WinnerJson = new(JsonSerializerDefaults.Web);

    private static async Task<Results<Ok<JourneyPage>, ProblemHttpResult>> JourneysAsync(
        Guid id, HttpContext http, IGrainFactory grains, IJourneyStore store, string? stepId, string? status, int? limit, string? cursor)
    {
        var organizationId = http.User.GetOrganizationId();
        if (await Grain(grains, http, id).GetAsync() is null)
        {
            return NotFound();
        }

        await store.FlushAsync();
        var (rows, next) = await store.QueryAsync(organizationId, id, stepId, status, Math.Clamp(limit ?? 50, 1, 500), cursor);
        var items = rows.Select(r => new JourneyListItem(r.JourneyId, r.WorkflowId, r.ContactId, r.Version, r.Entry, r.Status, r.StepId, r.Wait, r.DueAt, r.EnteredAt, r.EndedAt, r.UpdatedAt)).ToList();
        return TypedResults.Ok(new JourneyPage(items, next));
    }

    private static async Task<Results<Ok<JourneyView>, ProblemHttpResult>> GetJourneyAsync(string journeyId, HttpContext http, IGrainFactory grains, IJourneyStore store)
    {
        var organizationId = http.User.GetOrganizationId();
        if (!JourneyKey.TryParsePublicId(journeyId, out var workflowId, out var contactId))
        {
            return NotFound("Journey not found.");
        }

        var view = await grains.GetGrain<IJourneyGrain>(JourneyKey.Of(organizationId, workflowId, contactId)).GetAsync();
        if (view is null || view.OrganizationId != organizationId)
        {
            return NotFound("Journey not found.");
        }

        await store.FlushAsync();
        var history = await store.HistoryAsync(organizationId, journeyId, 500);
        if (history.Count > view.History.Count)
        {
            view.History = history.Select(h => new JourneyHistoryItem { At = h.OccurredAt, Kind = h.Kind, StepId = h.StepId, Detail = h.Detail, Entry = h.Entry, Version = h.Version }).ToList();
        }

        return TypedResults.Ok(view);
    }

    /// <summary>
    /// Validates a workflow body. A webhook trigger's secret is the one in the body, else <paramref name="currentSecret"/>,
    /// else a new one; it is returned apart and never left in the definition's JSON.
    /// </summary>
    private static async Task<(WorkflowDefinition? Definition, string? Json, Dictionary<string, string[]>? Errors, string? Secret)> ValidateAsync(
        JsonElement body, Guid organizationId, WorkflowValidator validator, IWorkflowCatalog catalog, string? currentSecret = null)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return (null, null, new Dictionary<string, string[]> { ["body"] = ["A workflow must be a JSON object."] }, null);
        }

        var json = body.GetRawText();
        var definition = WorkflowJson.Parse(json, out var parseErrors);
        if (definition is null)
        {
            return (null, null, parseErrors.ToDictionary(), null);
        }

        string? secret = null;
        if (definition.Trigger is { Type: TriggerTypes.Webhook } webhook)
        {
            secret = string.IsNullOrEmpty(webhook.Secret) ? currentSecret ?? IWebhookSecrets.NewSecret() : webhook.Secret;
            webhook.Secret = secret;
        }

        var errors = validator.Validate(definition, await catalog.TemplateIdsAsync(organizationId));
        if (!errors.IsEmpty)
        {
            return (null, null, errors.ToDictionary(), null);
        }

        if (definition.Trigger is { } trigger)
        {
            trigger.Secret = null;
        }

        return (definition, WorkflowJson.Serialize(definition), null, secret);
    }

    private static JsonObject Response(WorkflowInfo info, string? shownSecret = null)
    {
        var node = JsonNode.Parse(info.DraftJson) as JsonObject ?? [];
        if (node["trigger"] is JsonObject trigger)
        {
            // Drafts saved before secrets were kept apart still carry theirs: never show it again.
            trigger.Remove("secret");
            if (shownSecret is not null)
            {
                trigger["secret"] = shownSecret;
            }
        }

        node["id"] = info.Id;
        node["name"] = info.Name;
        node["status"] = info.Status;
        node["version"] = info.Version;
        node["activeVersion"] = info.ActiveVersion;
        node["createdAt"] = info.CreatedAt;
        node["updatedAt"] = info.UpdatedAt;
        return node;
    }

    private static ProblemHttpResult Problem(WorkflowResult result) => result.Error == "not_found"
        ? NotFound()
        : TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: result.Message);

    private static ProblemHttpResult NotFound(string title = "Workflow not found.") => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: title);
}

public sealed record WorkflowListItem(Guid Id, string Name, string Status, int Version, int? ActiveVersion, string TriggerType, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record WorkflowPage(List<WorkflowListItem> Items, string? NextCursor);

/// <summary>A webhook trigger's new signing secret, shown in this response only.</summary>
public sealed record WebhookSecretResponse(Guid WorkflowId, string Secret, DateTimeOffset RotatedAt);

public sealed record WorkflowVersionItem(int Version, bool Active, int Steps);

public sealed record WorkflowVersionList(List<WorkflowVersionItem> Items);

public sealed record EnrollRejection(string? Contact, string Error);

public sealed record EnrollResult(int Enrolled, List<EnrollRejection> Rejected);

public sealed record JourneyListItem(string JourneyId, Guid WorkflowId, Guid ContactId, int Version, int Entry, string Status, string? StepId, string? WaitingFor,
    DateTimeOffset? DueAt, DateTimeOffset? EnteredAt, DateTimeOffset? EndedAt, DateTimeOffset UpdatedAt);

public sealed record JourneyPage(List<JourneyListItem> Items, string? NextCursor);
