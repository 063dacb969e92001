using System.Collections.Concurrent;
using Automator.Delivery;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Automator.Journeys;

/// <summary>How a journey's send step reaches the delivery layer. Idempotent per send key.</summary>
public interface ISendStep
{
    Task<SendReceipt> SendAsync(SendRequest request);
}

/// <summary>The production path: the delivery grain records the send log row before any provider is called.</summary>
public sealed class DeliverySendStep(IGrainFactory grains) : ISendStep
{
    public Task<SendReceipt> SendAsync(SendRequest request) => grains.GetGrain<IDeliveryGrain>(0).SendAsync(request);
}

/// <summary>
/// Records send intents without sending (one row per send key in <c>journey_sends</c>, attempts counted), for
/// deployments of the journey engine without the delivery layer, and for counting sends across processes in tests.
/// </summary>
public sealed class LoggingSendStep(ILogger<LoggingSendStep> logger, NpgsqlDataSource? dataSource = null) : ISendStep
{
    private readonly ConcurrentDictionary<string, int> _memory = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> Recorded => _memory;

    public async Task<SendReceipt> SendAsync(SendRequest request)
    {
        var attempts = _memory.AddOrUpdate(request.SendKey, 1, (_, n) => n + 1);
        if (dataSource is not null)
        {
            await using var command = dataSource.CreateCommand("""
                INSERT INTO journey_sends (send_key, organization_id, journey_id, step_id) VALUES ($1, $2, $3, $4)
                ON CONFLICT (send_key) DO UPDATE SET attempts = journey_sends.attempts + 1, last_at = now()
                RETURNING attempts
                """);
            command.Parameters.Add(new NpgsqlParameter { Value = request.SendKey });
            command.Parameters.Add(new NpgsqlParameter { Value = request.OrganizationId });
            command.Parameters.Add(new NpgsqlParameter { Value = request.JourneyId ?? "" });
            command.Parameters.Add(new NpgsqlParameter { Value = request.StepId ?? "" });
            attempts = (int)(await command.ExecuteScalarAsync())!;
        }

        logger.LogDebug("Send intent {SendKey} recorded (attempt {Attempts}); no delivery layer configured.", request.SendKey, attempts);
        return new SendReceipt { SendKey = request.SendKey, Status = SendStatus.Queued, Provider = "log", Duplicate = attempts > 1 };
    }
}
