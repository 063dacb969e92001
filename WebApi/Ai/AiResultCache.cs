using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Automator.WebApi.Ai;

/// <summary>
/// Answers kept per organization and input (kind, count, brief, tone, the template's source, provider and model), so
/// asking the same thing again costs neither a provider call nor budget. Editing the template changes the input.
/// </summary>
public sealed class AiResultCache(IOptions<AiOptions> options) : IDisposable
{
    private const int MaxEntries = 10_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxEntries });

    public static string Key(Guid organizationId, string provider, string model, VariantBrief brief)
    {
        var input = string.Join('\u001f', provider, model, brief.Kind, brief.Count, brief.Brief, brief.Tone,
            brief.Template?.Name, brief.Template?.Subject, brief.Template?.Html);
        return $"{organizationId:N}:{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(input)))}";
    }

    public bool TryGet(string key, out IReadOnlyList<Variant> variants)
    {
        if (_cache.TryGetValue(key, out IReadOnlyList<Variant>? found) && found is not null)
        {
            variants = found;
            return true;
        }

        variants = [];
        return false;
    }

    public void Set(string key, IReadOnlyList<Variant> variants)
    {
        if (options.Value.CacheDuration > TimeSpan.Zero)
        {
            _cache.Set(key, variants, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = options.Value.CacheDuration });
        }
    }

    public void Dispose() => _cache.Dispose();
}
