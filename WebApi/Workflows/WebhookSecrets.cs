using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Automator.Infrastructure.Protection;
using Npgsql;

namespace Automator.WebApi.Workflows;

/// <summary>
/// The signing secrets of inbound webhook triggers, kept apart from the workflow definition: a workflow read back
/// never carries its secret, which is shown only when it is created or rotated.
/// </summary>
public interface IWebhookSecrets
{
    Task<string?> GetAsync(Guid organizationId, Guid workflowId, CancellationToken cancellationToken = default);

    Task SetAsync(Guid organizationId, Guid workflowId, string secret, CancellationToken cancellationToken = default);

    public static string NewSecret() => "whsec_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}

public sealed class PostgresWebhookSecrets(NpgsqlDataSource dataSource, ContactFieldCipher cipher, TimeProvider time) : IWebhookSecrets
{
    public async Task<string?> GetAsync(Guid organizationId, Guid workflowId, CancellationToken cancellationToken = default)
    {
        await using var read = dataSource.CreateCommand("SELECT secret FROM workflow_webhook_secrets WHERE organization_id = @org AND workflow_id = @id");
        read.Parameters.AddWithValue("org", organizationId);
        read.Parameters.AddWithValue("id", workflowId);
        return await read.ExecuteScalarAsync(cancellationToken) is string stored ? cipher.Reveal(stored) : null;
    }

    public async Task SetAsync(Guid organizationId, Guid workflowId, string secret, CancellationToken cancellationToken = default)
    {
        await using var upsert = dataSource.CreateCommand("""
            INSERT INTO workflow_webhook_secrets (organization_id, workflow_id, secret, rotated_at) VALUES (@org, @id, @secret, @now)
            ON CONFLICT (organization_id, workflow_id) DO UPDATE SET secret = EXCLUDED.secret, rotated_at = EXCLUDED.rotated_at
            """);
        upsert.Parameters.AddWithValue("org", organizationId);
        upsert.Parameters.AddWithValue("id", workflowId);
        upsert.Parameters.AddWithValue("secret", cipher.Protect(secret)!);
        upsert.Parameters.AddWithValue("now", time.GetUtcNow());
        await upsert.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>In-memory development mode: secrets last as long as the process.</summary>
public sealed class InMemoryWebhookSecrets : IWebhookSecrets
{
    private readonly ConcurrentDictionary<(Guid, Guid), string> _secrets = new();

    public Task<string?> GetAsync(Guid organizationId, Guid workflowId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_secrets.TryGetValue((organizationId, workflowId), out var secret) ? secret : null);

    public Task SetAsync(Guid organizationId, Guid workflowId, string secret, CancellationToken cancellationToken = default)
    {
        _secrets[(organizationId, workflowId)] = secret;
        return Task.CompletedTask;
    }
}
