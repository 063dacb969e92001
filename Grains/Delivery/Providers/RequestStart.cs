namespace Automator.Delivery.Providers;

/// <summary>Where a provider request got to before its answer: what the worker may conclude about the sends in it.</summary>
public enum RequestStartState
{
    /// <summary>The request never started (refused connection, nothing written): the sends are still only queued.</summary>
    NotStarted,

    /// <summary>The sends were marked <c>sending</c> and the body left: the provider may have them.</summary>
    InFlight,

    /// <summary>The send log did not move the sends (already sent, taken over, or their organization paused): never sent.</summary>
    Refused,

    /// <summary>Marking the sends failed (the database): the request was abandoned before its body, the sends stay queued.</summary>
    MarkFailed,

    /// <summary>Marked, but the slot was missed by more than the tolerance: abandoned before the body, to be put back to queued.</summary>
    Late,
}

/// <summary>
/// The start of one provider request, as the sending worker sees it. The worker makes one per request and sets it as
/// <see cref="Current"/> around the provider call; <see cref="RequestStartHandler"/> calls <see cref="BeforeBodyAsync"/>
/// once the request's headers are on the wire and before its body, so the sends it carries are marked <c>sending</c>
/// exactly when the request has started: a send is never in flight in the send log before its request exists, and no
/// provider can accept a request before the mark is durable (it never gets the body).
/// </summary>
public sealed class RequestStart(Func<CancellationToken, Task<bool>> mark, DateTimeOffset bodyAt, TimeSpan lateTolerance, TimeProvider time)
{
    private static readonly AsyncLocal<RequestStart?> Ambient = new();

    public static RequestStart? Current => Ambient.Value;

    public RequestStartState State { get; private set; }

    /// <summary>Makes <paramref name="start"/> the request start of the calls made in this flow until disposed.</summary>
    public static IDisposable Begin(RequestStart start)
    {
        var previous = Ambient.Value;
        Ambient.Value = start;
        return new Restore(previous);
    }

    /// <summary>
    /// Marks the sends (once, however often the client writes the body) and waits for their slot. Throws
    /// <see cref="RequestAbandonedException"/> when the body must not leave.
    /// </summary>
    public async Task BeforeBodyAsync(CancellationToken cancellationToken)
    {
        if (State == RequestStartState.InFlight)
        {
            return;
        }

        if (State != RequestStartState.NotStarted)
        {
            throw new RequestAbandonedException(State);
        }

        bool moved;
        try
        {
            moved = await mark(cancellationToken);
        }
        catch (Exception ex)
        {
            State = RequestStartState.MarkFailed;
            throw new RequestAbandonedException(State, ex);
        }

        if (!moved)
        {
            State = RequestStartState.Refused;
            throw new RequestAbandonedException(State);
        }

        var wait = bodyAt - time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, time, cancellationToken);
        }

        // Checked last, after the wait too: a timer that fires late (a busy thread pool) must not send the body late.
        if (time.GetUtcNow() - bodyAt > lateTolerance)
        {
            State = RequestStartState.Late;
            throw new RequestAbandonedException(State);
        }

        State = RequestStartState.InFlight;
    }

    private sealed class Restore(RequestStart? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}

/// <summary>A provider request given up after its headers and before its body: the provider cannot have accepted it.</summary>
public sealed class RequestAbandonedException(RequestStartState state, Exception? inner = null)
    : IOException($"The request was abandoned before its body ({state}).", inner)
{
    public RequestStartState State { get; } = state;
}
