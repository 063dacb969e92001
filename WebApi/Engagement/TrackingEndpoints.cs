using Automator.Delivery;
using Automator.Delivery.Intake;

namespace Automator.WebApi.Engagement;

/// <summary>
/// The open pixel and click redirect that every tracked email links to. Anonymous: the HMAC-signed token is the only
/// credential, and a token that does not verify, or is of another kind, is a plain 404 that records nothing and never
/// redirects.
/// </summary>
public static class TrackingEndpoints
{
    /// <summary>The smallest transparent GIF.</summary>
    internal static readonly byte[] Pixel = Convert.FromBase64String("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7");

    public static IEndpointRouteBuilder MapTrackingRoutes(this IEndpointRouteBuilder app)
    {
        var tracking = app.MapGroup("/t").WithTags("Tracking").AllowAnonymous().ExcludeFromDescription();
        tracking.MapMethods("/o/{token}.gif", [HttpMethods.Get, HttpMethods.Head], OpenAsync);
        tracking.MapMethods("/c/{token}", [HttpMethods.Get, HttpMethods.Head], ClickAsync);
        return app;
    }

    private static async Task<IResult> OpenAsync(string token, HttpContext context, TrackingTokens tokens, EngagementIntake intake, TimeProvider time)
    {
        if (!tokens.TryRead(token, out var claim) || claim is not { Kind: TrackingKind.Open })
        {
            return NotFoundPage();
        }

        await intake.RecordAsync(Signal(EngagementKinds.Opened, claim, context, intake, time));
        context.Response.Headers.CacheControl = "no-store, no-cache, must-revalidate, private";
        context.Response.Headers.Pragma = "no-cache";
        return Results.Bytes(Pixel, "image/gif");
    }

    private static async Task<IResult> ClickAsync(string token, HttpContext context, TrackingTokens tokens, EngagementIntake intake, TimeProvider time)
    {
        if (!tokens.TryRead(token, out var claim) || claim is not { Kind: TrackingKind.Click, Url: { } url } || !IsWebUrl(url))
        {
            return NotFoundPage();
        }

        await intake.RecordAsync(Signal(EngagementKinds.Clicked, claim, context, intake, time) with { Url = url });
        context.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(url, permanent: false);
    }

    private static EngagementSignal Signal(string kind, TrackingClaim claim, HttpContext context, EngagementIntake intake, TimeProvider time)
    {
        var userAgent = context.Request.Headers.UserAgent.ToString();
        return new EngagementSignal
        {
            Kind = kind,
            SendId = claim.SendId,
            At = time.GetUtcNow(),
            Source = "tracking",
            Machine = intake.Machines.IsMachine(context.Request.Method, userAgent),
            UserAgent = userAgent.Length == 0 ? null : userAgent,
        };
    }

    internal static bool IsWebUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https";

    internal static IResult NotFoundPage() => Results.Content(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>" +
        "<body><p>This link is not valid.</p></body></html>",
        "text/html; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>
/// Where the pixel and click routes hand their signals: concurrent hits share one recording transaction
/// (<see cref="Coalescer{TRequest,TAnswer}"/>), and each request returns once its own hit is committed. A recording
/// failure is logged and the recipient still gets the image or the redirect.
/// </summary>
public sealed class EngagementIntake : IAsyncDisposable
{
    private const int MaxBatch = 500;
    private readonly Coalescer<EngagementSignal, bool> _coalescer;
    private readonly ILogger<EngagementIntake> _logger;

    public EngagementIntake(IEngagementRecorder recorder, MachineTraffic machines, ILogger<EngagementIntake> logger)
    {
        Machines = machines;
        _logger = logger;
        _coalescer = new Coalescer<EngagementSignal, bool>(
            async batch =>
            {
                await recorder.RecordAsync(batch, CancellationToken.None);
                return batch.Select(_ => true).ToList();
            },
            MaxBatch,
            logger);
    }

    public MachineTraffic Machines { get; }

    public async Task RecordAsync(EngagementSignal signal)
    {
        try
        {
            await _coalescer.SubmitAsync(signal);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "A {Kind} of send {SendId} could not be recorded.", signal.Kind, signal.SendId);
        }
    }

    public ValueTask DisposeAsync() => _coalescer.DisposeAsync();
}
