using System.Collections.Concurrent;
using Automator.Delivery;

namespace Automator.GrainTests.Infrastructure;

/// <summary>Every send request a silo's journeys made, by its key: one per silo (a service of it), not shared between clusters.</summary>
public sealed class SendRecorder
{
    public ConcurrentDictionary<string, SendRequest> Sends { get; } = new(StringComparer.Ordinal);

    public ConcurrentDictionary<string, int> Calls { get; } = new(StringComparer.Ordinal);

    public List<SendRequest> For(Guid contactId) => Sends.Values.Where(s => s.ContactId == contactId).OrderBy(s => s.SendKey, StringComparer.Ordinal).ToList();
}

/// <summary>The delivery layer as the grain tests see it: records every send request by its key.</summary>
public sealed class RecordingDeliveryGrain(SendRecorder recorder) : Grain, IDeliveryGrain
{
    public Task<SendReceipt> SendAsync(SendRequest request)
    {
        var duplicate = !recorder.Sends.TryAdd(request.SendKey, request);
        recorder.Calls.AddOrUpdate(request.SendKey, 1, (_, n) => n + 1);
        return Task.FromResult(new SendReceipt { SendKey = request.SendKey, SendId = Guid.NewGuid(), Status = SendStatus.Queued, Provider = "test", Duplicate = duplicate });
    }
}

/// <summary>
/// Sends through <see cref="RecordingDeliveryGrain"/> by class name, so the tests keep using it once the real delivery
/// grain (another implementation of <see cref="IDeliveryGrain"/>) is in the same silo.
/// </summary>
public sealed class RecordingSendStep(IGrainFactory grains) : Automator.Journeys.ISendStep
{
    public Task<SendReceipt> SendAsync(SendRequest request) =>
        grains.GetGrain<IDeliveryGrain>(0, typeof(RecordingDeliveryGrain).FullName).SendAsync(request);
}
