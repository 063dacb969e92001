using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Automator.Delivery.Intake;

/// <summary>
/// Coalesces concurrent requests into batches: callers submit one item and await their own answer, while a single loop
/// hands everything that arrived since the last batch (up to <c>maxBatch</c>) to one batched operation. Whatever arrives
/// while a batch runs forms the next one, so batches grow with load and a lone request waits for no timer.
/// </summary>
public sealed class Coalescer<TRequest, TAnswer> : IAsyncDisposable
{
    private readonly Channel<(TRequest Request, TaskCompletionSource<TAnswer> Answer)> _channel =
        Channel.CreateUnbounded<(TRequest, TaskCompletionSource<TAnswer>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Func<IReadOnlyList<TRequest>, Task<IReadOnlyList<TAnswer>>> _run;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public Coalescer(Func<IReadOnlyList<TRequest>, Task<IReadOnlyList<TAnswer>>> run, int maxBatch, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        _run = run;
        _maxBatch = maxBatch;
        _logger = logger;
        _loop = Task.Run(LoopAsync);
    }

    public Task<TAnswer> SubmitAsync(TRequest request)
    {
        var answer = new TaskCompletionSource<TAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite((request, answer)))
        {
            answer.SetException(new ObjectDisposedException(nameof(Coalescer<TRequest, TAnswer>)));
        }

        return answer.Task;
    }

    private async Task LoopAsync()
    {
        var reader = _channel.Reader;
        var requests = new List<TRequest>(_maxBatch);
        var answers = new List<TaskCompletionSource<TAnswer>>(_maxBatch);
        while (await reader.WaitToReadAsync())
        {
            requests.Clear();
            answers.Clear();
            while (requests.Count < _maxBatch && reader.TryRead(out var item))
            {
                requests.Add(item.Request);
                answers.Add(item.Answer);
            }

            try
            {
                var results = await _run(requests);
                for (var i = 0; i < answers.Count; i++)
                {
                    answers[i].TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                // Every caller of the batch sees the failure, exactly as a single call would have.
                _logger.LogWarning(ex, "A batch of {Count} failed.", requests.Count);
                foreach (var answer in answers)
                {
                    answer.TrySetException(ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _loop;
    }
}
