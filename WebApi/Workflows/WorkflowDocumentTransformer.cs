using Automator.Workflows;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Automator.WebApi.Workflows;

/// <summary>Marks an endpoint whose body is a workflow document (see <see cref="WorkflowDocumentTransformer"/>).</summary>
public sealed class WorkflowDocumentBody;

/// <summary>
/// Describes the workflow document that <c>POST /v1/workflows</c> and <c>PUT /v1/workflows/{id}</c> take. The handlers
/// read the body as raw JSON (so that each error can name its field), which would otherwise leave the body untyped.
/// </summary>
public sealed class WorkflowDocumentTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (!context.Description.ActionDescriptor.EndpointMetadata.OfType<WorkflowDocumentBody>().Any())
        {
            return;
        }

        var schema = await context.GetOrCreateSchemaAsync(typeof(WorkflowDefinition), cancellationToken: cancellationToken);
        if (schema.Properties?.TryGetValue("layout", out var layout) == true && layout is OpenApiSchema layoutSchema)
        {
            layoutSchema.Description = "Optional canvas positions: step id -> { x, y }. Only the workflow's steps, finite numbers from "
                + $"-{WorkflowValidator.MaxCoordinate:0} to {WorkflowValidator.MaxCoordinate:0}; kept with the draft and every version, "
                + "no effect on journeys.";
        }

        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "The workflow document (docs/web-api.md). A webhook trigger's secret is answered once, on creation.",
            Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
        };
    }
}
