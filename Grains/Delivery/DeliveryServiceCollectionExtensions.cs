using Automator.Delivery.Intake;
using Automator.Delivery.Providers;
using Automator.Delivery.Rendering;
using Automator.Delivery.SendLog;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Automator.Delivery;

public static class DeliveryServiceCollectionExtensions
{
    /// <summary>Delivery services: options, renderer, tracking tokens, providers, and the send log (PostgreSQL or in memory).</summary>
    public static IServiceCollection AddDelivery(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(ProviderRegistry)))
        {
            return services;
        }

        var options = DeliveryOptions.FromConfiguration(configuration);
        services.TryAddSingleton(options);
        services.TryAddSingleton(_ => TrackingTokens.FromConfiguration(configuration));
        services.AddOptions<PublicLinks>().Configure(o => o.PublicBaseUrl = configuration[PublicLinks.Setting]).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PublicLinks>>(sp => new PublicLinks.Validator(sp.GetService<IHostEnvironment>()));
        services.TryAddSingleton<EmailRenderer>();
        services.TryAddSingleton<MessageComposer>();
        services.TryAddSingleton<SendPreparation>();

        services.AddTransient<RequestStartHandler>();
        services.AddHttpClient(DeliveryOptions.SendGrid, c => c.Timeout = options.ProviderTimeout)
            .AddHttpMessageHandler<RequestStartHandler>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddHttpClient(DeliveryOptions.Ses, c => c.Timeout = options.ProviderTimeout)
            .AddHttpMessageHandler<RequestStartHandler>()
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        services.AddSingleton<IEmailProvider>(sp => new OutboxEmailProvider(options, sp.GetRequiredService<TimeProvider>()));
        if (options.SendGridConfigured)
        {
            services.AddSingleton<IEmailProvider>(sp => new SendGridEmailProvider(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(DeliveryOptions.SendGrid), options, sp.GetRequiredService<TimeProvider>()));
        }

        if (options.SesConfigured)
        {
            services.AddSingleton<IEmailProvider>(sp => new SesEmailProvider(
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(DeliveryOptions.Ses), options, sp.GetRequiredService<TimeProvider>()));
        }

        services.TryAddSingleton(sp => new ProviderRegistry(options, sp.GetServices<IEmailProvider>()));
        // Decided by the connection string: in-memory mode may still hold a placeholder data source that is never opened.
        var durable = !string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres"));
        services.TryAddSingleton<ISendLog>(sp => durable
            ? new PostgresSendLog(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetService<ILocalSiloDetails>()?.SiloAddress.ToParsableString(), sp.GetRequiredService<Automator.Infrastructure.Protection.ContactFieldCipher>(), sp.GetRequiredService<Automator.Contacts.SuppressionHasher>())
            : new InMemorySendLog());
        services.TryAddSingleton<IProviderUsage>(sp => durable
            ? new PostgresProviderUsage(sp.GetRequiredService<NpgsqlDataSource>())
            : sp.GetRequiredService<ISendLog>() as IProviderUsage ?? NoProviderUsage.Instance);
        services.TryAddSingleton<SendIntake>();
        services.AddHostedService<InterruptedSendSweeper>();
        return services;
    }
}
