using System.Net;
using System.Net.Http.Json;

namespace Automator.IntegrationTests.Api;

/// <summary>A consent time given with any UTC offset is stored as the same instant.</summary>
[Collection(ApiCollection.Name)]
public sealed class ContactConsentTimeTests(ApiFixture fixture)
{
    [Theory]
    [InlineData("/v1/contacts/batch")]
    [InlineData("/v1/contacts")]
    public async Task A_consent_time_with_an_offset_is_kept_as_its_instant(string path)
    {
        var tenant = await fixture.CreateTenantAsync();
        using var client = tenant.Client();
        var contact = new { email = $"c-{Guid.NewGuid():N}@example.test", consent = new { source = "signup form", at = "2025-01-01T22:42:00+12:42" } };
        using var response = path.EndsWith("batch", StringComparison.Ordinal)
            ? await client.PostAsJsonAsync(path, new { contacts = new[] { contact } })
            : await client.PostAsJsonAsync(path, contact);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created, await response.Content.ReadAsStringAsync());

        Assert.Equal(1, await fixture.ScalarAsync(
            "SELECT count(*) FROM contacts WHERE organization_id = @org AND consent_at = '2025-01-01T10:00:00Z'", ("org", tenant.OrganizationId)));
    }
}
