using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenAI;

namespace Automator.WebApi.Ai;

public static class AiServiceExtensions
{
    /// <summary>
    /// The AI writer: OpenAI through <see cref="IChatClient"/> when <c>Automator:OpenAI:ApiKey</c> is set, else the
    /// local generator.
    /// </summary>
    public static IServiceCollection AddAiWriting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AiOptions>().Bind(configuration.GetSection(AiOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AiOptions>, AiOptionsValidator>());
        var options = configuration.GetSection(AiOptions.Section).Get<AiOptions>() ?? new AiOptions();
        if (options.UsesProvider)
        {
            services.AddChatClient(_ =>
            {
                // Retries and timeouts are ours (ChatVariantGenerator); the SDK's own would multiply them.
                var client = new OpenAIClient(new ApiKeyCredential(options.ApiKey!), new OpenAIClientOptions
                {
                    Endpoint = string.IsNullOrWhiteSpace(options.BaseUrl) ? null : new Uri(options.BaseUrl),
                    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    NetworkTimeout = options.Timeout + TimeSpan.FromSeconds(5),
                });
                return client.GetChatClient(options.Model).AsIChatClient();
            }).UseLogging();
            services.AddSingleton<IVariantGenerator>(sp => new ChatVariantGenerator(
                sp.GetRequiredService<IChatClient>(), sp.GetRequiredService<IOptions<AiOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        }
        else
        {
            services.AddSingleton<IVariantGenerator, LocalVariantGenerator>();
        }

        services.AddSingleton<AiBudget>();
        services.AddSingleton<AiResultCache>();
        services.AddSingleton<VariantWriter>();
        return services;
    }
}
