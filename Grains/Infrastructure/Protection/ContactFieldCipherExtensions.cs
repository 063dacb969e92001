using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.Infrastructure.Protection;

public static class ContactFieldCipherExtensions
{
    /// <summary>
    /// The contact field cipher from <c>Automator:Encryption</c>. A malformed key ring fails start-up everywhere; a
    /// missing one fails start-up of a durable host outside Development, and in Development logs that contact
    /// fields are stored in clear.
    /// </summary>
    public static IServiceCollection AddContactFieldCipher(this IServiceCollection services, IConfiguration configuration, bool durable)
    {
        if (services.Any(d => d.ServiceType == typeof(ContactFieldCipher)))
        {
            return services;
        }

        services.AddOptions<EncryptionOptions>().Bind(configuration.GetSection(EncryptionOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EncryptionOptions>>(sp => new EncryptionOptionsValidator(durable, sp.GetService<IHostEnvironment>()));
        services.AddSingleton(sp =>
        {
            var cipher = new ContactFieldCipher(sp.GetRequiredService<IOptions<EncryptionOptions>>().Value);
            if (!cipher.Enabled && durable)
            {
                sp.GetRequiredService<ILoggerFactory>().CreateLogger<ContactFieldCipher>().LogWarning(
                    "*** {Setting} is not set: contact names and sensitive properties are stored in clear. ***", EncryptionOptions.Section + ":Keys");
            }

            return cipher;
        });
        return services;
    }

    private sealed class EncryptionOptionsValidator(bool durable, IHostEnvironment? environment) : IValidateOptions<EncryptionOptions>
    {
        public ValidateOptionsResult Validate(string? name, EncryptionOptions options)
        {
            var problems = ContactFieldCipher.Check(options);
            if (options.Keys.Count == 0 && durable && environment?.IsDevelopment() != true)
            {
                problems.Add($"{EncryptionOptions.Section}:Keys must hold at least one base64 32-byte key (and {EncryptionOptions.Section}:ActiveKey its id): " +
                    "contact fields are encrypted at rest outside Development.");
            }

            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
