using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Journeys;

/// <summary>Human opens (<c>email_engagements</c> kind <c>opened</c>, not machine) counted by local hour, for <c>optimalTime</c> waits.</summary>
public interface IOpenHistory
{
    /// <summary>The contact's opens by hour in <paramref name="contactZone"/> and the organization's in <paramref name="organizationZone"/>.</summary>
    Task<OpenHours> GetAsync(Guid organizationId, Guid contactId, TimeZoneInfo contactZone, TimeZoneInfo organizationZone);
}

/// <summary>Without a database: opens are added by hand (tests, local runs).</summary>
public sealed class InMemoryOpenHistory : IOpenHistory
{
    private readonly ConcurrentBag<(Guid Organization, Guid Contact, DateTimeOffset At)> _opens = [];

    public void AddOpen(Guid organizationId, Guid contactId, DateTimeOffset at) => _opens.Add((organizationId, contactId, at));

    public Task<OpenHours> GetAsync(Guid organizationId, Guid contactId, TimeZoneInfo contactZone, TimeZoneInfo organizationZone)
    {
        var contact = new int[24];
        var organization = new int[24];
        foreach (var open in _opens.Where(o => o.Organization == organizationId))
        {
            organization[LocalTimes.ToLocal(open.At, organizationZone).Hour]++;
            if (open.Contact == contactId)
            {
                contact[LocalTimes.ToLocal(open.At, contactZone).Hour]++;
            }
        }

        return Task.FromResult(new OpenHours(contact, organization));
    }
}

/// <summary>
/// One aggregate query per contact and per organization over the last <see cref="Lookback"/> of opens, each kept for
/// <see cref="CacheFor"/> on this silo so a burst of journeys reaching the step costs one query per organization.
/// </summary>
public sealed class PostgresOpenHistory(NpgsqlDataSource dataSource, TimeProvider time, ILogger<PostgresOpenHistory> logger) : IOpenHistory
{
    public static readonly TimeSpan Lookback = TimeSpan.FromDays(180);
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);
    private const int CacheLimit = 50_000;
    private readonly ConcurrentDictionary<(Guid Organization, Guid Contact, string Zone), (int[] Hours, DateTimeOffset Until)> _cache = new();

    public async Task<OpenHours> GetAsync(Guid organizationId, Guid contactId, TimeZoneInfo contactZone, TimeZoneInfo organizationZone)
    {
        var contact = await HoursAsync(organizationId, contactId, contactZone);
        var organization = await HoursAsync(organizationId, Guid.Empty, organizationZone);
        return new OpenHours(contact, organization);
    }

    private const string ContactQuery =
        """
        SELECT date_part('hour', occurred_at AT TIME ZONE $2)::int, count(*)::int
        FROM email_engagements
        WHERE contact_id = $4 AND organization_id = $1 AND kind = 'opened' AND NOT machine AND occurred_at > $3
        GROUP BY 1
        """;

    private const string OrganizationQuery =
        """
        SELECT date_part('hour', occurred_at AT TIME ZONE $2)::int, count(*)::int
        FROM email_engagements
        WHERE organization_id = $1 AND kind = 'opened' AND NOT machine AND occurred_at > $3
        GROUP BY 1
        """;

    private async Task<int[]> HoursAsync(Guid organizationId, Guid contactId, TimeZoneInfo zone)
    {
        var now = time.GetUtcNow();
        var key = (organizationId, contactId, zone.Id);
        if (_cache.TryGetValue(key, out var cached) && cached.Until > now)
        {
            return cached.Hours;
        }

        var hours = new int[24];
        try
        {
            await using var command = dataSource.CreateCommand(contactId == Guid.Empty ? OrganizationQuery : ContactQuery);
            command.Parameters.AddWithValue(organizationId);
            command.Parameters.AddWithValue(zone.Id);
            command.Parameters.AddWithValue(now - Lookback);
            if (contactId != Guid.Empty)
            {
                command.Parameters.AddWithValue(contactId);
            }
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                hours[reader.GetInt32(0)] = reader.GetInt32(1);
            }
        }
        catch (PostgresException e)
        {
            // A zone PostgreSQL does not know (or a failed query) only loses the optimization: the next source is used.
            logger.LogWarning(e, "Open history of organization {OrganizationId} could not be read", organizationId);
            return hours;
        }

        if (_cache.Count > CacheLimit)
        {
            _cache.Clear();
        }

        _cache[key] = (hours, now + CacheFor);
        return hours;
    }
}
