using Automator.WebApi.Delivery;
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
        return builder;
    }

    public static WebApplication MapWebApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapScalarApiReference("/scalar");
        app.MapDeliveryApi();
        return app;
    }
}
