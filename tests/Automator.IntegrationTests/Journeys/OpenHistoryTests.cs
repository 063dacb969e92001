using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Automator.Workflows;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Automator.IntegrationTests.Journeys;

/// <summary>Real PostgreSQL: optimal-time waits read human opens from <c>email_engagements</c> by local hour.</summary>
public sealed class OpenHistoryTests
{
    private static async Task AddAsync(NpgsqlDataSource dataSource, Guid organizationId, Guid contactId, string kind, bool machine, DateTimeOffset at)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO email_engagements (id, organization_id, send_id, contact_id, kind, source, machine, occurred_at)
            VALUES ($1, $2, $3, $4, $5, 'test', $6, $7)
            """);
        command.Parameters.AddWithValue(Guid.NewGuid());
        command.Parameters.AddWithValue(organizationId);
        command.Parameters.AddWithValue(Guid.NewGuid());
        command.Parameters.AddWithValue(contactId);
        command.Parameters.AddWithValue(kind);
        command.Parameters.AddWithValue(machine);
        command.Parameters.AddWithValue(at);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Counts_human_opens_by_local_hour_for_the_contact_and_the_organization()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("openhours");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var organizationId = Guid.NewGuid();
        var contactId = Guid.NewGuid();
        var otherContact = Guid.NewGuid();
        var now = DateTimeOffset.UtcNow;
        var day = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        // Four months apart, so in most years one side of a DST change each; the expected hours come from .NET's zone rules.
        List<DateTimeOffset> sample = [day.AddDays(-3).AddHours(14).AddMinutes(20), day.AddDays(-120).AddHours(13).AddMinutes(20)];

        // The contact's human opens, two at each time.
        foreach (var at in sample)
        {
            await AddAsync(dataSource, organizationId, contactId, "opened", false, at);
            await AddAsync(dataSource, organizationId, contactId, "opened", false, at.AddMinutes(5));
        }

        // Not counted for the contact: machine opens, clicks, another organization's opens; another contact's counts for
        // the organization only.
        await AddAsync(dataSource, organizationId, contactId, "opened", true, sample[0].AddHours(3));
        await AddAsync(dataSource, organizationId, contactId, "clicked", false, sample[0].AddHours(4));
        await AddAsync(dataSource, Guid.NewGuid(), contactId, "opened", false, sample[0].AddHours(5));
        await AddAsync(dataSource, organizationId, otherContact, "opened", false, sample[0].AddHours(6));

        Assert.True(Durations.TryFindTimeZone("America/New_York", out var newYork));
        var history = new PostgresOpenHistory(dataSource, TimeProvider.System, NullLogger<PostgresOpenHistory>.Instance);
        var hours = await history.GetAsync(organizationId, contactId, newYork, TimeZoneInfo.Utc);

        var expected = new int[24];
        foreach (var at in sample)
        {
            expected[LocalTimes.ToLocal(at, newYork).Hour] += 2;
        }

        Assert.Equal(expected, hours.Contact);
        Assert.Equal(sample.Count * 2 + 1, hours.Organization.Sum());
        Assert.Equal(1, hours.Organization[sample[0].AddHours(6).Hour]);
    }
}
