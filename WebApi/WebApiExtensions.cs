using Automator.WebApi.Events;
using Automator.WebApi.Identity;
using Automator.WebApi.Workflows;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Scalar.AspNetCore;

namespace Automator.WebApi;

public static class WebApiExtensions
{
    /// <summary>Registers the HTTP API's services (works co-hosted in the silo or as an Orleans client).</summary>
    public static WebApplicationBuilder AddWebApi(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddAutomatorGrains(builder.Configuration);
        builder.Services.AddAutomatorIdentity(builder.Configuration);
        builder.Services.TryAddSingleton<IContactDirectory>(sp => sp.GetService<NpgsqlDataSource>() is { } dataSource
            ? new PostgresContactDirectory(dataSource)
            : new InMemoryContactDirectory());
        return builder;
    }

    public static WebApplication MapWebApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/scalar");
        app.MapWorkflowsApi();
        app.MapEventsApi();
        app.MapWorkflowWebhooks();
        return app;
    }
}
