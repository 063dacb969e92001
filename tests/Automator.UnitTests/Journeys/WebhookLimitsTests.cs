using Automator.Journeys;

namespace Automator.UnitTests.Journeys;

public sealed class WebhookLimitsTests
{
    [Fact]
    public void A_signature_verifies_with_the_secret_and_fails_on_another_body_or_secret()
    {
        var secret = WebhookSignature.NewSecret();
        var header = WebhookSignature.Header(secret, DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), "{\"a\":1}");

        Assert.StartsWith("t=1800000000,v1=", header, StringComparison.Ordinal);
        Assert.True(WebhookSignature.Verify(secret, header, "{\"a\":1}"));
        Assert.False(WebhookSignature.Verify(secret, header, "{\"a\":2}"));
        Assert.False(WebhookSignature.Verify(WebhookSignature.NewSecret(), header, "{\"a\":1}"));
        Assert.StartsWith(WebhookSignature.SecretPrefix, secret, StringComparison.Ordinal);
    }

    [Fact]
    public void The_signature_is_hmac_sha256_of_timestamp_dot_body()
    {
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("whsec_k"u8, "42.body"u8));

        Assert.Equal($"t=42,v1={expected}", WebhookSignature.Header("whsec_k", DateTimeOffset.FromUnixTimeSeconds(42), "body"));
    }

    [Fact]
    public async Task An_organization_gets_at_most_its_limit_of_slots_and_others_are_unaffected()
    {
        var gate = new OrganizationGate(8);
        var busy = Guid.NewGuid();
        var other = Guid.NewGuid();
        var leases = new List<IDisposable>();
        for (var i = 0; i < 8; i++)
        {
            leases.Add((await gate.EnterAsync(busy, TimeSpan.Zero))!);
        }

        var ninth = await gate.EnterAsync(busy, TimeSpan.Zero);
        var elsewhere = await gate.EnterAsync(other, TimeSpan.Zero);
        var waiting = gate.EnterAsync(busy, TimeSpan.FromMinutes(1));
        Assert.False(waiting.IsCompleted);
        leases[0].Dispose();
        leases[0].Dispose();
        var afterRelease = await waiting;

        Assert.Null(ninth);
        Assert.NotNull(elsewhere);
        Assert.NotNull(afterRelease);
        Assert.Equal(8, gate.InUse(busy));
        Assert.Equal(1, gate.InUse(other));
    }
}
