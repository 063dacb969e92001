using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Automator.Wakeups;
using Npgsql;

namespace Automator.IntegrationTests.Wakeups;

/// <summary>
/// The wake slot of a grain is computed in C# when its state is written and in SQL by the migration that indexed the rows
/// stored before the wake index: both must name the same slot, or a journey would sit in a slot no shard reads for it.
/// </summary>
public sealed class WakeSlotHashTests
{
    [Fact]
    public async Task The_migrations_sql_hash_and_the_csharp_hash_give_every_grain_the_same_slot()
    {
        var connectionString = await SharedPostgres.CreateEmptyDatabaseAsync("wakeslot");
        var ids = Enumerable.Range(0, 5_000)
            .Select(i => "journey/" + JourneyKey.Of(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()))
            .Append("journey/é-ü-ß-漢字")
            .Append("")
            .ToArray();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // The expression of migration 0202_journeys_wake_index.sql.
        await using var command = new NpgsqlCommand("""
            SELECT id, get_byte(sha256(convert_to(id, 'UTF8')), 0)::smallint FROM unnest($1::text[]) AS t(id)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ids });

        var sql = new Dictionary<string, short>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                sql[reader.GetString(0)] = reader.GetInt16(1);
            }
        }

        Assert.Equal(ids.Length, sql.Count);
        Assert.All(ids, id => Assert.Equal(WakeSlots.Of(id), sql[id]));
        Assert.Equal(WakeSlots.Count, sql.Values.Distinct().Count());
    }
}
