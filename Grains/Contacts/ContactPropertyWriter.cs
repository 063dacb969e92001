using Automator.Infrastructure.Protection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Contacts;

/// <summary>Writes property changes made by journeys (updateContact steps) to the queryable <c>contacts</c> row.</summary>
public interface IContactPropertyWriter
{
    Task MergeAsync(Guid organizationId, Guid contactId, string setJson);
}

public sealed class NoContactPropertyWriter : IContactPropertyWriter
{
    public Task MergeAsync(Guid organizationId, Guid contactId, string setJson) => Task.CompletedTask;
}

public sealed class PostgresContactPropertyWriter(NpgsqlDataSource dataSource, ContactFieldCipher cipher, ILogger<PostgresContactPropertyWriter> logger) : IContactPropertyWriter
{
    public async Task MergeAsync(Guid organizationId, Guid contactId, string setJson)
    {
        try
        {
            await using var command = dataSource.CreateCommand(
                "UPDATE contacts SET properties = properties || $3::jsonb, updated_at = now() WHERE organization_id = $1 AND id = $2");
            command.Parameters.Add(new NpgsqlParameter { Value = organizationId });
            command.Parameters.Add(new NpgsqlParameter { Value = contactId });
            command.Parameters.Add(new NpgsqlParameter { Value = cipher.ProtectProperties(setJson) });
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException ex)
        {
            logger.LogWarning(ex, "Could not write journey property update of contact {ContactId}.", contactId);
        }
    }
}
