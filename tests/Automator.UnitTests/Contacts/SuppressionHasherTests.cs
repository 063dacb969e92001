using System.Security.Cryptography;
using System.Text;
using Automator.Contacts;
using Microsoft.Extensions.Configuration;

namespace Automator.UnitTests.Contacts;

public sealed class SuppressionHasherTests
{
    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());

    private static SuppressionHasher FromSettings(params (string Key, string Value)[] settings) =>
        SuppressionHasher.FromConfiguration(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    [Fact]
    public void The_stored_hash_is_keyed_and_not_the_plain_sha256_of_the_address()
    {
        var hasher = FromSettings(("Automator:Suppression:HashKeys:a", KeyA));

        var hash = hasher.Hash(" Ada@Example.com ");

        Assert.Equal("a", hasher.ActiveKeyId);
        Assert.Equal(HMACSHA256.HashData(Convert.FromBase64String(KeyA), Encoding.UTF8.GetBytes("ada@example.com")), hash);
        Assert.NotEqual(SHA256.HashData("ada@example.com"u8), hash);
        Assert.NotEqual(hash, FromSettings(("Automator:Suppression:HashKeys:a", KeyB)).Hash("ada@example.com"));
    }

    [Fact]
    public void After_a_rotation_look_ups_try_the_active_key_then_older_keys_then_the_plain_hash()
    {
        var before = FromSettings(("Automator:Suppression:HashKeys:a", KeyA));
        var after = FromSettings(("Automator:Suppression:HashKeys:a", KeyA), ("Automator:Suppression:HashKeys:b", KeyB), ("Automator:Suppression:ActiveKey", "b"));

        var candidates = after.Candidates("ada@example.com");

        Assert.Equal(after.Hash("ada@example.com"), candidates[0]);
        Assert.Contains(candidates, c => c.AsSpan().SequenceEqual(before.Hash("ada@example.com")));
        Assert.Equal(SuppressionHasher.Legacy("ada@example.com"), candidates[^1]);
    }

    [Fact]
    public void Without_hash_keys_the_key_is_derived_from_the_active_encryption_key()
    {
        var hasher = FromSettings(("Automator:Encryption:Keys:k1", KeyA), ("Automator:Encryption:Keys:k2", KeyB), ("Automator:Encryption:ActiveKey", "k2"));
        var other = FromSettings(("Automator:Encryption:Keys:k1", KeyA));

        Assert.Equal("enc.k2", hasher.ActiveKeyId);
        Assert.Equal("enc.k1", other.ActiveKeyId);
        Assert.NotEqual(hasher.Hash("ada@example.com"), other.Hash("ada@example.com"));
        Assert.Contains(hasher.Candidates("ada@example.com"), c => c.AsSpan().SequenceEqual(other.Hash("ada@example.com")));
        Assert.NotEqual(Convert.FromBase64String(KeyA), other.Hash("x"));
    }

    [Fact]
    public void Explicit_hash_keys_win_over_derived_ones_which_stay_looked_up()
    {
        var hasher = FromSettings(("Automator:Encryption:Keys:k1", KeyA), ("Automator:Suppression:HashKeys:h1", KeyB));
        var derived = FromSettings(("Automator:Encryption:Keys:k1", KeyA));

        Assert.Equal("h1", hasher.ActiveKeyId);
        Assert.Contains(hasher.Candidates("ada@example.com"), c => c.AsSpan().SequenceEqual(derived.Hash("ada@example.com")));
    }

    [Theory]
    [InlineData("Automator:Suppression:HashKeys:a", "not base64!")]
    [InlineData("Automator:Suppression:HashKeys:a", "c2hvcnQ=")]
    public void A_bad_key_fails_naming_its_setting(string setting, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FromSettings((setting, value)));

        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_active_key_fails_naming_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => FromSettings(("Automator:Suppression:HashKeys:a", KeyA), ("Automator:Suppression:ActiveKey", "zz")));

        Assert.Contains("Automator:Suppression:ActiveKey", error.Message, StringComparison.Ordinal);
    }
}
