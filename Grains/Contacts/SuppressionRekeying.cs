using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Contacts;

/// <summary>
/// At start-up, moves every suppression that still holds its address onto the active hash key: rows written with plain
/// SHA-256 before keyed hashes, and rows of a key rotated out. Erased rows (address gone) cannot be re-hashed; they keep
/// matching through <see cref="SuppressionHasher.Candidates(string)"/> and are re-keyed when their address is suppressed
/// again. Idempotent: several hosts may run it at once.
/// </summary>
public sealed class SuppressionRekeying(NpgsqlDataSource dataSource, SuppressionHasher hasher, ILogger<SuppressionRekeying> logger) : BackgroundService
{
    private const int Batch = 1000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var moved = 0;
            int count;
            do
            {
                count = await RekeyBatchAsync(stoppingToken);
                moved += count;
            }
            while (count == Batch && !stoppingToken.IsCancellationRequested);

            if (moved > 0)
            {
                logger.LogInformation("Moved {Count} suppressions onto hash key {Key}.", moved, hasher.ActiveKeyId);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Re-keying suppressions failed; look-ups still match every key and the plain hash.");
        }
    }

    /// <returns>How many rows the batch looked at.</returns>
    public async Task<int> RekeyBatchAsync(CancellationToken cancellationToken)
    {
        var rows = new List<(Guid Organization, byte[] Old, byte[] New)>();
        await using (var select = dataSource.CreateCommand("""
            SELECT organization_id, email_hash, email FROM suppressions
            WHERE email IS NOT NULL AND hash_key IS DISTINCT FROM $1 LIMIT $2
            """))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = hasher.ActiveKeyId });
            select.Parameters.Add(new NpgsqlParameter { Value = Batch });
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetFieldValue<byte[]>(1), hasher.Hash(reader.GetString(2))));
            }
        }

        if (rows.Count == 0)
        {
            return 0;
        }

        // One address stored under two hashes (plain and keyed): keep one row, drop the other.
        var keep = rows.GroupBy(r => (r.Organization, Convert.ToHexString(r.New))).Select(g => g.First()).ToList();
        var drop = rows.Except(keep).ToList();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("""
            DELETE FROM suppressions s USING unnest($1::uuid[], $2::bytea[]) AS d(organization_id, email_hash)
            WHERE s.organization_id = d.organization_id AND s.email_hash = d.email_hash
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = drop.Select(r => r.Organization).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = drop.Select(r => r.Old).ToArray() });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var command = new NpgsqlCommand("""
            WITH u AS (SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::bytea[]) AS u(organization_id, old_hash, new_hash)),
            taken AS (
                DELETE FROM suppressions s USING u
                WHERE s.organization_id = u.organization_id AND s.email_hash = u.old_hash AND u.old_hash <> u.new_hash
                  AND EXISTS (SELECT 1 FROM suppressions t WHERE t.organization_id = u.organization_id AND t.email_hash = u.new_hash)
                RETURNING s.organization_id, s.email_hash)
            UPDATE suppressions s SET email_hash = u.new_hash, hash_key = $4
            FROM u
            WHERE s.organization_id = u.organization_id AND s.email_hash = u.old_hash
              AND NOT EXISTS (SELECT 1 FROM taken WHERE taken.organization_id = u.organization_id AND taken.email_hash = u.old_hash)
              AND (u.old_hash = u.new_hash OR NOT EXISTS (SELECT 1 FROM suppressions t WHERE t.organization_id = u.organization_id AND t.email_hash = u.new_hash))
            """, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = keep.Select(r => r.Organization).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = keep.Select(r => r.Old).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = keep.Select(r => r.New).ToArray() });
            command.Parameters.Add(new NpgsqlParameter { Value = hasher.ActiveKeyId });
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return rows.Count;
    }
}
