using System.Text.Json;
using Automator.Infrastructure.Protection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Automator.UnitTests.Contacts;

public sealed class ContactFieldCipherTests
{
    private const string KeyOne = "kCc6tCoSS4SR0+2TSy7x34EFp0RVcnaznFc3XGpuJlY=";
    private const string KeyTwo = "8/4zK0UobPraHIxIRMb1594CIgkqKNUdAIcwjvjYcKQ=";

    private static ContactFieldCipher Cipher(string active = "k1", params string[] sensitive)
    {
        var options = new EncryptionOptions { ActiveKey = active, SensitiveProperties = sensitive };
        options.Keys["k1"] = KeyOne;
        if (active == "k2")
        {
            options.Keys["k2"] = KeyTwo;
        }

        return new ContactFieldCipher(options);
    }

    private static readonly ContactFieldCipher NoKeys = new(new EncryptionOptions());

    [Theory]
    [InlineData("Ada")]
    [InlineData("")]
    [InlineData("Zoë Ñúñez 李")]
    public void Round_trip_gives_back_the_clear_value_which_the_stored_form_does_not_show(string clear)
    {
        var cipher = Cipher();

        var stored = cipher.Protect(clear)!;

        Assert.StartsWith("enc:v1:k1:", stored, StringComparison.Ordinal);
        Assert.True(clear.Length == 0 || !stored.Contains(clear, StringComparison.Ordinal));
        Assert.Equal(clear, cipher.Reveal(stored));
    }

    [Fact]
    public void The_same_value_encrypts_differently_each_time()
    {
        var cipher = Cipher();

        Assert.NotEqual(cipher.Protect("Ada"), cipher.Protect("Ada"));
    }

    [Fact]
    public void Null_stays_null()
    {
        Assert.Null(Cipher().Protect(null));
        Assert.Null(Cipher().Reveal(null));
    }

    [Fact]
    public void Plain_values_written_before_encryption_read_as_they_are()
    {
        Assert.Equal("Ada", Cipher().Reveal("Ada"));
        Assert.Equal("{\"plan\":\"pro\"}", Cipher(sensitive: "phone").RevealProperties("{\"plan\":\"pro\"}"));
    }

    [Fact]
    public void After_rotation_old_values_still_read_and_new_ones_use_the_active_key()
    {
        var old = Cipher("k1").Protect("Ada")!;
        var rotated = Cipher("k2");

        var fresh = rotated.Protect("Grace")!;

        Assert.Equal("Ada", rotated.Reveal(old));
        Assert.StartsWith("enc:v1:k2:", fresh, StringComparison.Ordinal);
        Assert.Equal("Grace", rotated.Reveal(fresh));
    }

    [Fact]
    public void An_altered_value_fails_loudly()
    {
        var cipher = Cipher();
        var stored = cipher.Protect("Ada Lovelace")!;
        var bytes = Convert.FromBase64String(stored["enc:v1:k1:".Length..]);
        bytes[^1] ^= 0x01;
        var altered = "enc:v1:k1:" + Convert.ToBase64String(bytes);

        var error = Assert.Throws<ContactFieldDecryptionException>(() => cipher.Reveal(altered));

        Assert.Contains("altered", error.Message, StringComparison.Ordinal);
        Assert.Throws<ContactFieldDecryptionException>(() => cipher.Reveal("enc:v1:k1:not base64!"));
        Assert.Throws<ContactFieldDecryptionException>(() => cipher.Reveal("enc:v1:k1:AAAA"));
    }

    [Fact]
    public void A_value_under_a_wrong_or_unknown_key_fails_naming_the_key()
    {
        var stored = Cipher().Protect("Ada")!;
        var wrong = new EncryptionOptions { ActiveKey = "k1" };
        wrong.Keys["k1"] = KeyTwo;

        Assert.Throws<ContactFieldDecryptionException>(() => new ContactFieldCipher(wrong).Reveal(stored));
        var unknown = Assert.Throws<ContactFieldDecryptionException>(() => Cipher().Reveal("enc:v1:k9:" + stored["enc:v1:k1:".Length..]));
        Assert.Contains("'k9'", unknown.Message, StringComparison.Ordinal);
        var none = Assert.Throws<ContactFieldDecryptionException>(() => NoKeys.Reveal(stored));
        Assert.Contains("Automator:Encryption:Keys", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sensitive_properties_are_encrypted_inside_the_properties_object_and_read_back_unchanged()
    {
        var cipher = Cipher("k1", "phone", "birthday");
        const string clear = """{"phone":"+1 555 0100","plan":"pro","Birthday":{"day":10,"month":12},"gone":null,"seats":3}""";

        var stored = cipher.ProtectProperties(clear)!;
        var storedJson = JsonDocument.Parse(stored).RootElement;

        Assert.DoesNotContain("555 0100", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("month", stored, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:k1:", storedJson.GetProperty("phone").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:k1:", storedJson.GetProperty("Birthday").GetString(), StringComparison.Ordinal);
        Assert.Equal("pro", storedJson.GetProperty("plan").GetString());
        Assert.Equal(JsonValueKind.Null, storedJson.GetProperty("gone").ValueKind);
        Assert.True(JsonElement.DeepEquals(JsonDocument.Parse(clear).RootElement, JsonDocument.Parse(cipher.RevealProperties(stored)).RootElement));
    }

    [Fact]
    public void Properties_without_sensitive_keys_are_stored_as_given()
    {
        const string clear = """{"plan":"pro"}""";

        Assert.Same(clear, Cipher("k1", "phone").ProtectProperties(clear));
        Assert.Same(clear, Cipher().ProtectProperties(clear));
    }

    [Fact]
    public void A_plain_property_that_looks_encrypted_reads_back_as_written()
    {
        var cipher = Cipher();
        const string clear = """{"note":"enc:v1:k1:hello"}""";

        var stored = cipher.ProtectProperties(clear)!;

        Assert.NotEqual(clear, stored);
        Assert.Equal("enc:v1:k1:hello", JsonDocument.Parse(cipher.RevealProperties(stored)).RootElement.GetProperty("note").GetString());
    }

    [Fact]
    public void Without_keys_values_are_stored_as_given()
    {
        Assert.False(NoKeys.Enabled);
        Assert.Equal("Ada", NoKeys.Protect("Ada"));
        Assert.Equal("""{"phone":"1"}""", new ContactFieldCipher(new EncryptionOptions { SensitiveProperties = ["phone"] }).ProtectProperties("""{"phone":"1"}"""));
    }

    [Theory]
    [InlineData("k1", "c2hvcnQ=", "Automator:Encryption:Keys:k1 must be 32 bytes")]
    [InlineData("k1", "not base64!", "Automator:Encryption:Keys:k1 must be base64")]
    [InlineData("k:1", KeyOne, "key id 'k:1'")]
    public void A_malformed_key_ring_is_reported_with_the_setting_name(string id, string key, string expected)
    {
        var options = new EncryptionOptions { ActiveKey = id };
        options.Keys[id] = key;

        Assert.Contains(ContactFieldCipher.Check(options), m => m.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void An_active_key_missing_from_the_ring_is_reported()
    {
        var options = new EncryptionOptions { ActiveKey = "k2" };
        options.Keys["k1"] = KeyOne;

        Assert.Contains(ContactFieldCipher.Check(options), m => m.Contains("Automator:Encryption:ActiveKey", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Production", true, true)]
    [InlineData("Staging", true, true)]
    [InlineData("Development", true, false)]
    [InlineData("Production", false, false)]
    public void Start_up_without_a_key_fails_only_for_a_durable_host_outside_development(string environment, bool durable, bool fails)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new Environment(environment));
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddContactFieldCipher(new ConfigurationBuilder().Build(), durable);
        using var provider = services.BuildServiceProvider();

        var start = () => provider.GetRequiredService<IStartupValidator>().Validate();

        if (fails)
        {
            var error = Assert.Throws<OptionsValidationException>(start);
            Assert.Contains("Automator:Encryption:Keys", error.Message, StringComparison.Ordinal);
        }
        else
        {
            start();
            Assert.False(provider.GetRequiredService<ContactFieldCipher>().Enabled);
        }
    }

    [Fact]
    public void Configured_keys_and_sensitive_properties_bind_from_settings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Automator:Encryption:Keys:k1"] = KeyOne,
            ["Automator:Encryption:Keys:k2"] = KeyTwo,
            ["Automator:Encryption:ActiveKey"] = "k2",
            ["Automator:Encryption:SensitiveProperties:0"] = "phone",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IHostEnvironment>(new Environment("Production"));
        services.AddContactFieldCipher(configuration, durable: true);
        using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
        var cipher = provider.GetRequiredService<ContactFieldCipher>();

        Assert.Equal("k2", cipher.ActiveKeyId);
        Assert.Contains("PHONE", cipher.SensitiveProperties);
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "Automator";
        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
