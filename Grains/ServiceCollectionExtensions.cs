using Automator.Delivery;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace Automator;

public static class ServiceCollectionExtensions
{
    /// <summary>Services the grains and front ends need, wherever they are hosted (silo, client, tests, benchmark).</summary>
    public static IServiceCollection AddAutomatorGrains(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<AutomatorOptions>(configuration.GetSection(AutomatorOptions.Section));
        var connectionString = configuration.GetConnectionString("Postgres");
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        }

        services.AddDelivery(configuration);
        return services;
    }
}
