using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Automator.Live;

public static class LiveServiceCollectionExtensions
{
    /// <summary>The live event coalescer and its flusher; safe to call more than once.</summary>
    public static IServiceCollection AddLive(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<LiveOptions>(configuration.GetSection(LiveOptions.Section));
        services.TryAddSingleton<LiveEvents>();
        services.TryAddSingleton<ILiveEvents>(sp => sp.GetRequiredService<LiveEvents>());
        services.TryAddSingleton<LiveEventsFlusher>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LiveEventsFlusherHost>());
        return services;
    }
}

/// <summary>Runs the singleton flusher as a hosted service (so tests and the benchmark can also flush it by hand).</summary>
internal sealed class LiveEventsFlusherHost(LiveEventsFlusher flusher) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => flusher.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => flusher.StopAsync(cancellationToken);
}
