using System.Collections.Concurrent;
using Automator.Infrastructure.Protection;
using Npgsql;

namespace Automator.Journeys;

/// <summary>Each organization's outbound webhook signing secret, created on first use.</summary>
public interface IWebhookSigningSecrets
{
    Task<string> GetOrCreateAsync(Guid organizationId, CancellationToken cancellationToken = default);
}

/// <summary>Secrets in <c>webhook_signing_secrets</c> (migration 0610), sealed with the contact field cipher, cached per silo.</summary>
public sealed class PostgresWebhookSigningSecrets(NpgsqlDataSource dataSource, ContactFieldCipher cipher) : IWebhookSigningSecrets
{
    private readonly ConcurrentDictionary<Guid, string> _cache = new();

    public async Task<string> GetOrCreateAsync(Guid organizationId, CancellationToken cancellationToken = default)
    {
        if (_cache.TryGetValue(organizationId, out var cached))
        {
            return cached;
        }

        // Two silos creating at once: the first insert wins and both read it back.
        await using var command = dataSource.CreateCommand("""
            WITH inserted AS (
                INSERT INTO webhook_signing_secrets (organization_id, secret) VALUES ($1, $2)
                ON CONFLICT (organization_id) DO NOTHING
                RETURNING secret)
            SELECT secret FROM inserted
            UNION ALL
            SELECT secret FROM webhook_signing_secrets WHERE organization_id = $1
            LIMIT 1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
        command.Parameters.Add(new NpgsqlParameter { Value = cipher.Protect(WebhookSignature.NewSecret())! });
        var stored = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        return _cache.GetOrAdd(organizationId, cipher.Reveal(stored)!);
    }
}

/// <summary>In-memory development mode: secrets live as long as the process.</summary>
public sealed class InMemoryWebhookSigningSecrets : IWebhookSigningSecrets
{
    private readonly ConcurrentDictionary<Guid, string> _secrets = new();

    public Task<string> GetOrCreateAsync(Guid organizationId, CancellationToken cancellationToken = default) =>
        Task.FromResult(_secrets.GetOrAdd(organizationId, _ => WebhookSignature.NewSecret()));
}
