using Automator.Contacts;
using Npgsql;

namespace Automator.WebApi.Events;

/// <summary>Which contacts are in a journey now, as their grains last stored it.</summary>
public interface IJourneyPresence
{
    /// <summary>The subset of <paramref name="contactIds"/> in at least one journey; null when this cannot be told (every grain must then be called).</summary>
    Task<HashSet<Guid>?> InJourneysAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds);
}

/// <summary>Reads the flag the contact grains write with their state (<c>journey_grain_state.has_active_journeys</c>).</summary>
public sealed class PostgresJourneyPresence(NpgsqlDataSource dataSource, IGrainFactory grains) : IJourneyPresence
{
    public async Task<HashSet<Guid>?> InJourneysAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds)
    {
        var byGrain = new Dictionary<string, Guid>(contactIds.Count, StringComparer.Ordinal);
        foreach (var id in contactIds)
        {
            byGrain[grains.GetGrain<IContactGrain>(ContactKey.Of(organizationId, id)).GetGrainId().ToString()] = id;
        }

        var result = new HashSet<Guid>();
        if (byGrain.Count == 0)
        {
            return result;
        }

        await using var command = dataSource.CreateCommand(
            "SELECT grain_id FROM journey_grain_state WHERE has_active_journeys AND grain_id = ANY($1::text[]) AND state_name = 'contact'");
        command.Parameters.Add(new NpgsqlParameter { Value = byGrain.Keys.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            if (byGrain.TryGetValue(reader.GetString(0), out var id))
            {
                result.Add(id);
            }
        }

        return result;
    }
}

/// <summary>Without a database grain state is not queryable: every event goes to its contact's grain.</summary>
public sealed class UnknownJourneyPresence : IJourneyPresence
{
    public Task<HashSet<Guid>?> InJourneysAsync(Guid organizationId, IReadOnlyCollection<Guid> contactIds) => Task.FromResult<HashSet<Guid>?>(null);
}
