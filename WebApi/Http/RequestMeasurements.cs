using System.Diagnostics;
using Automator.Infrastructure.Telemetry;

namespace Automator.WebApi.Http;

/// <summary>Tells the measurements about every API request: method, route template (never the raw path), status, duration.</summary>
internal static class RequestMeasurements
{
    public static IApplicationBuilder UseRequestMeasurements(this WebApplication app)
    {
        var measurements = app.Services.GetRequiredService<IMeasurements>();
        if (measurements is NoMeasurements)
        {
            return app;
        }

        return app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                measurements.ApiRequest(context.Request.Method, route, context.Response.StatusCode, Stopwatch.GetElapsedTime(started));
            }
        });
    }
}
