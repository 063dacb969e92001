using Automator.Dashboard.Live;

namespace Automator.Dashboard;

public static class LiveDashboardExtensions
{
    /// <summary>Registers the live hub and the web UI's static files.</summary>
    public static WebApplicationBuilder AddLiveDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddSignalR();
        return builder;
    }

    public static WebApplication MapLiveDashboard(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.MapHub<LiveHub>("/hubs/live");
        return app;
    }
}
