using System.Diagnostics;

namespace Automator.Infrastructure.Telemetry;

/// <summary>
/// The product's own spans. Work that waits in an in-memory queue (the single-event batcher, the send worker's fair
/// queue) runs later on another flow, where the caller's activity is gone: the caller's context travels with the item
/// and the work resumes the trace under it, so one event stays one trace from the API request to the provider call.
/// </summary>
public static class AutomatorTracing
{
    public const string Name = "Automator";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>The current span as a W3C <c>traceparent</c>, to carry with queued work; null outside any trace.</summary>
    public static string? CurrentParent() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>
    /// Starts a span under <paramref name="parent"/> when it names a trace other than the current one; null when nothing
    /// listens or the work already runs in that trace.
    /// </summary>
    public static Activity? Resume(string name, ActivityContext parent, ActivityKind kind = ActivityKind.Internal)
    {
        if (parent == default || Activity.Current?.TraceId == parent.TraceId)
        {
            return null;
        }

        return Source.StartActivity(name, kind, parent);
    }

    /// <inheritdoc cref="Resume(string, ActivityContext, ActivityKind)"/>
    public static Activity? Resume(string name, string? traceParent, ActivityKind kind = ActivityKind.Internal) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var parent) ? Resume(name, parent, kind) : null;
}
