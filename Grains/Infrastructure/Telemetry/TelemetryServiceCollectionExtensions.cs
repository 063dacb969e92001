using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Automator.Infrastructure.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The InfluxDB sink when <c>Automator:InfluxDb:Url</c> is set; otherwise measurements are not kept.</summary>
    public static IServiceCollection AddMeasurements(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(IMeasurements)))
        {
            return services;
        }

        var section = configuration.GetSection(InfluxOptions.Section);
        var options = section.Get<InfluxOptions>() ?? new InfluxOptions();
        if (!options.Enabled)
        {
            services.AddSingleton<IMeasurements>(NoMeasurements.Instance);
            return services;
        }

        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"{InfluxOptions.Section}:Url must be an absolute http or https URL (was '{options.Url}').");
        }

        if (options.Capacity < 1 || options.BatchSize < 1 || options.FlushInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{InfluxOptions.Section}: Capacity and BatchSize must be at least 1 and FlushInterval positive.");
        }

        services.Configure<InfluxOptions>(section);
        services.AddSingleton(sp => new InfluxMeasurements(options.Capacity, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IMeasurements>(sp => sp.GetRequiredService<InfluxMeasurements>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InfluxWriter>());
        return services;
    }
}
