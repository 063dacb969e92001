using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Workflows;

/// <summary>The relational copy of workflows and their versions (for reports and other features); grain state is the source of truth.</summary>
public interface IWorkflowCatalog
{
    Task SaveAsync(Guid organizationId, Guid workflowId, WorkflowInfo info, int? publishedVersion, string? publishedJson, Guid? publishedBy);

    /// <summary>The organization's template ids, or null when templates cannot be checked (no database).</summary>
    Task<IReadOnlySet<string>?> TemplateIdsAsync(Guid organizationId);
}

public sealed class NoWorkflowCatalog : IWorkflowCatalog
{
    public Task SaveAsync(Guid organizationId, Guid workflowId, WorkflowInfo info, int? publishedVersion, string? publishedJson, Guid? publishedBy) => Task.CompletedTask;

    public Task<IReadOnlySet<string>?> TemplateIdsAsync(Guid organizationId) => Task.FromResult<IReadOnlySet<string>?>(null);
}

public sealed class PostgresWorkflowCatalog(NpgsqlDataSource dataSource, ILogger<PostgresWorkflowCatalog> logger) : IWorkflowCatalog
{
    public async Task SaveAsync(Guid organizationId, Guid workflowId, WorkflowInfo info, int? publishedVersion, string? publishedJson, Guid? publishedBy)
    {
        try
        {
            await using var batch = dataSource.CreateBatch();
            var upsert = new NpgsqlBatchCommand("""
                INSERT INTO workflows (id, organization_id, name, status, trigger_type, draft, active_version, latest_version, created_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status, trigger_type = excluded.trigger_type, draft = excluded.draft,
                    active_version = excluded.active_version, latest_version = excluded.latest_version, updated_at = excluded.updated_at
                """);
            upsert.Parameters.Add(new NpgsqlParameter { Value = workflowId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = organizationId });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.Name });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.Status });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.TriggerType });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.DraftJson });
            upsert.Parameters.Add(new NpgsqlParameter { Value = (object?)info.ActiveVersion ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.Version });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.CreatedAt.UtcDateTime });
            upsert.Parameters.Add(new NpgsqlParameter { Value = info.UpdatedAt.UtcDateTime });
            batch.BatchCommands.Add(upsert);
            if (publishedVersion is { } version)
            {
                var insert = new NpgsqlBatchCommand("""
                    INSERT INTO workflow_versions (workflow_id, version, organization_id, definition, published_by) VALUES ($1, $2, $3, $4::jsonb, $5)
                    ON CONFLICT DO NOTHING
                    """);
                insert.Parameters.Add(new NpgsqlParameter { Value = workflowId });
                insert.Parameters.Add(new NpgsqlParameter { Value = version });
                insert.Parameters.Add(new NpgsqlParameter { Value = organizationId });
                insert.Parameters.Add(new NpgsqlParameter { Value = publishedJson });
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)publishedBy ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid });
                batch.BatchCommands.Add(insert);
            }

            await batch.ExecuteNonQueryAsync();
        }
        catch (PostgresException ex)
        {
            // The organization row may be missing (e.g. a benchmark tenant); the grain state still holds the workflow.
            logger.LogWarning(ex, "Could not mirror workflow {WorkflowId} to the workflows table.", workflowId);
        }
    }

    public async Task<IReadOnlySet<string>?> TemplateIdsAsync(Guid organizationId)
    {
        await using var command = dataSource.CreateCommand("SELECT id::text FROM email_templates WHERE organization_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
            ids.Add(Guid.Parse(reader.GetString(0)).ToString("N"));
        }

        return ids;
    }
}
