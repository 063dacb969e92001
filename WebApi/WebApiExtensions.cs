using System.Text.Json.Serialization;
using Automator.WebApi.Ai;
using Automator.WebApi.ApiKeys;
using Automator.WebApi.Auditing;
using Automator.WebApi.Auth;
using Automator.WebApi.Contacts;
using Automator.WebApi.Engagement;
using Automator.WebApi.Http;
using Automator.WebApi.Identity;
using Automator.WebApi.Lists;
using Automator.WebApi.Organization;
using Automator.WebApi.Segments;
using Automator.WebApi.Templates;
using Automator.WebApi.Users;
using Microsoft.AspNetCore.Http.Json;
using Automator.WebApi.Events;
using Automator.Workflows;
using Automator.WebApi.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Automator.WebApi.Delivery;
using Automator.WebApi.Webhooks;
using Automator.WebApi.Analytics;
using Scalar.AspNetCore;

namespace Automator.WebApi;

public static class WebApiExtensions
{
    /// <summary>Registers the HTTP API's services (works co-hosted in the silo or as an Orleans client).</summary>
    public static WebApplicationBuilder AddWebApi(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddProblemDetails(o => o.CustomizeProblemDetails = context =>
        {
            // Routing answers a body of the wrong content type with its own 415 before any handler runs: name the field.
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType && !context.ProblemDetails.Extensions.ContainsKey("errors"))
            {
                context.ProblemDetails.Extensions["errors"] = new Dictionary<string, string[]>
                {
                    ["contentType"] = [$"must be application/json (was '{context.HttpContext.Request.ContentType ?? "none"}')."],
                };
            }
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        // The document describes the product API; the Orleans operator dashboard's own routes stay out of it.
        services.AddOpenApi(o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("orleans", StringComparison.OrdinalIgnoreCase) != true;
            o.AddDocumentTransformer<SecuritySchemesTransformer>();
            o.AddOperationTransformer<Workflows.WorkflowDocumentTransformer>();
        });
        services.AddAutomatorGrains(builder.Configuration);
        if (string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Postgres")))
        {
            // In-memory development mode: the API's tables live in PostgreSQL only. A data source that is never
            // opened keeps the handlers' service parameters resolvable; /v1 answers 503 (UseApiStorageCheck).
            services.TryAddSingleton(_ => NpgsqlDataSource.Create("Host=postgres-not-configured"));
        }

        services.AddAutomatorIdentity(builder.Configuration);
        services.AddApiRateLimits(builder.Configuration);

        // Malformed bodies throw BadHttpRequestException in every environment, so ProblemExceptionHandler can
        // name the bad field instead of a bare 400.
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
            o.SerializerOptions.MaxDepth = 32;
        });

        services.AddSingleton<Passwords>();
        services.AddSingleton<RefreshTokens>();
        services.AddSingleton<EmailOwnership>();
        services.AddSingleton<AccountMail>();
        services.AddHostedService(sp => sp.GetRequiredService<AccountMail>());
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<ContactStore>();
        services.AddSingleton<ListStore>();
        services.AddSingleton<AnalyticsStore>();
        services.AddSingleton<SegmentStore>();
        services.AddSingleton<IContactSync, OrleansContactSync>();
        services.Configure<SegmentOptions>(builder.Configuration.GetSection(SegmentOptions.Section));
        if (!string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Postgres")))
        {
            services.AddHostedService<SegmentSweeper>();
            services.AddHostedService<LoginThrottleSweeper>();
            services.AddSingleton<IdempotencySweeper>();
            services.AddHostedService(sp => sp.GetRequiredService<IdempotencySweeper>());
        }

        services.Configure<IdempotencyOptions>(builder.Configuration.GetSection(IdempotencyOptions.Section));

        var durable = !string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString("Postgres"));
        services.TryAddSingleton<IContactDirectory>(sp => durable
            ? new PostgresContactDirectory(sp.GetRequiredService<NpgsqlDataSource>())
            : new InMemoryContactDirectory());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IEventLog>(sp => durable
            ? new PostgresEventLog(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<TimeProvider>())
            : new InMemoryEventLog(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<IJourneyPresence>(sp => durable
            ? new PostgresJourneyPresence(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IGrainFactory>())
            : new UnknownJourneyPresence());
        services.TryAddSingleton<TriggerIndex>();
        services.TryAddSingleton<IWebhookSecrets>(sp => durable
            ? new PostgresWebhookSecrets(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<Automator.Infrastructure.Protection.ContactFieldCipher>(), sp.GetRequiredService<TimeProvider>())
            : new InMemoryWebhookSecrets());
        services.AddSingleton<EventIngest>();
        services.AddSingleton<SingleEventBatcher>();

        var engagement = EngagementOptions.From(builder.Configuration);
        services.AddSingleton(engagement);
        services.AddSingleton(new MachineTraffic(engagement.MachineUserAgents ?? MachineTraffic.DefaultFragments));
        services.AddSingleton<IEngagementRecorder, EngagementRecorder>();
        services.AddSingleton<EngagementIntake>();
        services.AddSingleton<Unsubscriber>();
        services.AddProviderWebhooks(builder.Configuration);
        services.AddAiWriting(builder.Configuration);
        return builder;
    }

    public static WebApplication MapWebApi(this WebApplication app)
    {
        if (ForwardedHeadersSetup.From(app.Configuration) is { } forwarded)
        {
            app.UseForwardedHeaders(forwarded);
        }

        app.UseRequestMeasurements();
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseApiStorageCheck();
        app.UseRequestBodyLimits();
        app.UseAuthentication();
        app.UseRateLimitHeaders();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/scalar");

        app.MapAuthApi();
        app.MapUsersApi();
        app.MapApiKeysApi();
        app.MapContactsApi();
        app.MapSuppressionsApi();
        app.MapListsApi();
        app.MapSegmentsApi();
        app.MapTemplatesApi();
        app.MapAiApi();
        app.MapWorkflowsApi();
        app.MapEventsApi();
        app.MapWorkflowWebhooks();
        app.MapWebhookSigningApi();
        app.MapDeliveryApi();
        app.MapOrganizationApi();
        app.MapTrackingRoutes();
        app.MapUnsubscribeRoutes();
        app.MapProviderWebhooks();
        app.MapAnalyticsApi();
        return app;
    }

    /// <summary>Without PostgreSQL the HTTP API cannot serve: say so with a 503 ProblemDetails instead of failing later.</summary>
    private static IApplicationBuilder UseApiStorageCheck(this WebApplication app)
    {
        if (!string.IsNullOrWhiteSpace(app.Configuration.GetConnectionString("Postgres")))
        {
            return app;
        }

        return app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/v1"))
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "The HTTP API needs PostgreSQL.",
                    Detail = "This instance runs in in-memory development mode; set ConnectionStrings__Postgres.",
                },
            });
        });
    }
}
