using Automator.Live;
using Automator.Contacts;
using Automator.Journeys;
using Automator.Workflows;
using Automator.Delivery;
using Automator.Infrastructure.Protection;
using Automator.Infrastructure.Telemetry;
using Automator.Infrastructure.Time;
using Automator.Wakeups;
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
        services.TryAddSingleton(sp => new ProductClock(sp.GetRequiredService<TimeProvider>()));
        services.Configure<AutomatorOptions>(configuration.GetSection(AutomatorOptions.Section));
        var connectionString = configuration.GetConnectionString("Postgres");
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        }

        services.AddContactFieldCipher(configuration, durable: !string.IsNullOrWhiteSpace(connectionString));
        AddSuppressionHashing(services, configuration, durable: !string.IsNullOrWhiteSpace(connectionString));
        services.AddLive(configuration);
        services.AddMeasurements(configuration);
        AddJourneyEngine(services, configuration, durable: !string.IsNullOrWhiteSpace(connectionString));
        services.AddDelivery(configuration);
        return services;
    }

    private static void AddSuppressionHashing(IServiceCollection services, IConfiguration configuration, bool durable)
    {
        if (services.Any(d => d.ServiceType == typeof(SuppressionHasher)))
        {
            return;
        }

        var hasher = SuppressionHasher.FromConfiguration(configuration);
        SuppressionHasher.Current = hasher;
        services.AddSingleton(hasher);
        if (durable)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SuppressionRekeying>());
        }
    }

    private static void AddJourneyEngine(IServiceCollection services, IConfiguration configuration, bool durable)
    {
        services.Configure<JourneyOptions>(configuration.GetSection(JourneyOptions.Section));
        services.TryAddSingleton<TriggerIndex>();
        services.TryAddSingleton<WorkflowDefinitionCache>();
        services.TryAddSingleton<WorkflowWinners>();
        if (!services.Any(d => d.ServiceType == typeof(CounterBuffer)))
        {
            // Flushed when the silo or the client stops, while grain calls still go through.
            services.TryAddSingleton<ICounterSink, WorkflowCounterSink>();
            services.AddSingleton<CounterBuffer>();
            services.AddSingleton<Orleans.ILifecycleParticipant<Orleans.Runtime.ISiloLifecycle>>(sp => sp.GetRequiredService<CounterBuffer>());
            services.AddSingleton<Orleans.ILifecycleParticipant<Orleans.IClusterClientLifecycle>>(sp => sp.GetRequiredService<CounterBuffer>());
        }

        services.TryAddSingleton<JourneyServices>();
        services.TryAddSingleton<WorkflowValidator>();
        services.TryAddSingleton<IJourneyWebhooks, JourneyWebhooks>();
        services.AddOptions<Orleans.Configuration.GrainCollectionOptions>().Configure<Microsoft.Extensions.Options.IOptions<JourneyOptions>>((collection, journeys) =>
            collection.ClassSpecificCollectionAge[typeof(ContactGrain).FullName!] = journeys.Value.ContactCollectionAge);
        if (durable)
        {
            services.TryAddSingleton<IJourneyStore, PostgresJourneyStore>();
            services.TryAddSingleton<IWakeups, PostgresWakeups>();
            services.TryAddSingleton<IWorkflowCatalog, PostgresWorkflowCatalog>();
            services.TryAddSingleton<IContactPropertyWriter, PostgresContactPropertyWriter>();
            services.TryAddSingleton<IWebhookSigningSecrets, PostgresWebhookSigningSecrets>();
            services.TryAddSingleton<IOpenHistory, PostgresOpenHistory>();
        }
        else
        {
            services.TryAddSingleton<IJourneyStore, InMemoryJourneyStore>();
            services.TryAddSingleton<IWakeups, InMemoryWakeups>();
            services.TryAddSingleton<IWorkflowCatalog, NoWorkflowCatalog>();
            services.TryAddSingleton<IContactPropertyWriter, NoContactPropertyWriter>();
            services.TryAddSingleton<IWebhookSigningSecrets, InMemoryWebhookSigningSecrets>();
            services.TryAddSingleton<InMemoryOpenHistory>();
            services.TryAddSingleton<IOpenHistory>(sp => sp.GetRequiredService<InMemoryOpenHistory>());
        }

        services.TryAddSingleton<LoggingSendStep>();
        services.TryAddSingleton<DeliverySendStep>();
        services.TryAddSingleton<ISendStep>(sp =>
            string.Equals(configuration[$"{JourneyOptions.Section}:SendStep"], "log", StringComparison.OrdinalIgnoreCase)
                ? sp.GetRequiredService<LoggingSendStep>()
                : sp.GetRequiredService<DeliverySendStep>());
    }
}
