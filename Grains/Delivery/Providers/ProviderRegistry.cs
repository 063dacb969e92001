namespace Automator.Delivery.Providers;

/// <summary>The configured providers by name: the primary, the failover, and how to reach each.</summary>
public sealed class ProviderRegistry
{
    private readonly Dictionary<string, IEmailProvider> _providers;

    public ProviderRegistry(DeliveryOptions options, IEnumerable<IEmailProvider> providers)
    {
        Options = options;
        var available = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        _providers = new Dictionary<string, IEmailProvider>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in options.Providers)
        {
            if (available.TryGetValue(name, out var provider))
            {
                _providers[name] = provider;
            }
        }

        Names = options.Providers.Where(_providers.ContainsKey).ToArray();
        Primary = Names[0];
        Secondary = Names.Skip(1).FirstOrDefault(n => n != DeliveryOptions.Outbox);
    }

    public DeliveryOptions Options { get; }

    public IReadOnlyList<string> Names { get; }

    public string Primary { get; }

    /// <summary>The other real provider to fail over to, if two are configured.</summary>
    public string? Secondary { get; }

    public bool Contains(string name) => _providers.ContainsKey(name);

    public IEmailProvider Get(string name) => _providers.TryGetValue(name, out var provider)
        ? provider
        : throw new KeyNotFoundException($"No provider named '{name}' is configured.");
}
