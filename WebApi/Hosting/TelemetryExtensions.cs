using Automator.Infrastructure.Telemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Automator.WebApi.Hosting;

/// <summary>Telemetry of every Automator process: the silo and the standalone API and dashboard.</summary>
public static class TelemetryExtensions
{
    /// <summary>The OTLP exporter's standard setting: spans and metrics are pushed only when it is set.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Collect spans even without an OTLP endpoint (tests, a local listener); default: only with one.</summary>
    public const string TracingEnabledKey = "Automator:Tracing:Enabled";

    /// <summary>
    /// Metrics (scraped at /metrics, and pushed over OTLP when configured) and traces: the HTTP request, the grain calls
    /// it makes (Orleans activity propagation), the product's own spans and the outgoing HTTP calls, providers included,
    /// exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Log lines carry the trace and span ids.
    /// </summary>
    public static WebApplicationBuilder AddAutomatorTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointVariable]);
        // Spans for every grain call cost CPU on the hot paths: collected only when they go somewhere (or when asked).
        var collectSpans = builder.Configuration.GetValue<bool?>(TracingEnabledKey) ?? otlp;
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics
                    .AddAspNetCoreInstrumentation()
                    .AddMeter("Microsoft.Orleans")
                    .AddMeter(AutomatorMeters.Name)
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (!collectSpans)
        {
            return builder;
        }

        telemetry.WithTracing(tracing =>
        {
            tracing
                .AddSource(AutomatorTracing.Name, "Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation();
            if (otlp)
            {
                tracing.AddOtlpExporter();
            }
        });
        return builder;
    }
}
