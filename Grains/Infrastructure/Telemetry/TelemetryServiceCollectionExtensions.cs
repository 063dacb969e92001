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

        services.Configure<InfluxOptions>(section);
        services.AddSingleton(sp => new InfluxMeasurements(options.Capacity, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IMeasurements>(sp => sp.GetRequiredService<InfluxMeasurements>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, InfluxWriter>());
        return services;
    }
}
