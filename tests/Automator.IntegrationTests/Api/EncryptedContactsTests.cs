using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Automator.Contacts;
using Automator.Delivery;
using Automator.Infrastructure.Protection;
using Automator.Infrastructure.Storage;
using Automator.IntegrationTests.Delivery;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Contacts;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;

namespace Automator.IntegrationTests.Api;

/// <summary>One silo with the API, SendGrid played locally, and <c>phone</c> configured as a sensitive property.</summary>
public sealed class EncryptedContactsFixture : IAsyncLifetime
{
    public static readonly Dictionary<string, string?> Settings = new() { ["Automator:Encryption:SensitiveProperties:0"] = "phone" };

    public DeliveryHarness Harness { get; private set; } = null!;

    public async Task InitializeAsync() => Harness = await DeliveryHarness.StartAsync(withSes: false, settings: Settings);

    public async Task DisposeAsync() => await Harness.DisposeAsync();
}

public sealed class EncryptedContactsTests(EncryptedContactsFixture fixture) : IClassFixture<EncryptedContactsFixture>
{
    private const string Phone = "+1 555 0100";

    // The part of the phone number JSON never escapes, with a space no email, hex id or base64 ciphertext contains.
    private const string PhoneDigits = "555 0100";
    private DeliveryHarness Harness => fixture.Harness;

    private static string NewEmail() => $"grace-{Guid.NewGuid():N}@example.test";

    private static async Task<JsonElement> CreateGraceAsync(HttpClient client, string email)
    {
        var response = await client.PostAsJsonAsync("/v1/contacts", new { email, firstName = "Grace", lastName = "Hopper", properties = new { phone = Phone, plan = "pro" } });
        return await HttpAssert.JsonAsync(response, HttpStatusCode.Created);
    }

    private async Task<(string? FirstName, string? LastName, string Properties)> RawRowAsync(Guid contactId)
    {
        await using var connection = new NpgsqlConnection(Harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT first_name, last_name, properties::text FROM contacts WHERE id = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = contactId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2));
    }

    private async Task<string?> RawGrainStateAsync(Guid organizationId, Guid contactId)
    {
        await using var connection = new NpgsqlConnection(Harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT convert_from(payload, 'UTF8') FROM journey_grain_state WHERE grain_id LIKE '%/' || $1 AND state_name = 'contact'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = ContactKey.Of(organizationId, contactId) });
        return (string?)await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task Names_and_sensitive_properties_are_stored_encrypted_in_the_row_and_the_grain_state_and_read_clear_everywhere()
    {
        var organizationId = await Harness.SeedOrganizationAsync();
        using var client = Harness.Web.CreateClientFor(organizationId, "contacts:write");
        var email = NewEmail();

        var created = await CreateGraceAsync(client, email);
        var id = created.GetProperty("id").GetGuid();

        var (firstName, lastName, properties) = await RawRowAsync(id);
        Assert.StartsWith("enc:v1:test1:", firstName, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test1:", lastName, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test1:", JsonDocument.Parse(properties).RootElement.GetProperty("phone").GetString(), StringComparison.Ordinal);
        Assert.Equal("pro", JsonDocument.Parse(properties).RootElement.GetProperty("plan").GetString());
        Assert.DoesNotContain("Grace", firstName + lastName + properties, StringComparison.Ordinal);
        Assert.DoesNotContain("Hopper", firstName + lastName + properties, StringComparison.Ordinal);
        Assert.DoesNotContain(PhoneDigits, properties, StringComparison.Ordinal);

        var state = await Eventually.WaitAsync(() => RawGrainStateAsync(organizationId, id), s => s is not null, TimeSpan.FromSeconds(30), "the contact grain to store its profile");
        Assert.Contains(email, state, StringComparison.Ordinal);
        Assert.Contains("enc:v1:test1:", state, StringComparison.Ordinal);
        Assert.DoesNotContain("Grace", state, StringComparison.Ordinal);
        Assert.DoesNotContain("Hopper", state, StringComparison.Ordinal);
        Assert.DoesNotContain(PhoneDigits, state, StringComparison.Ordinal);

        // Every reader answers the clear values: the API, the stored grain state read back, and a rendered email.
        AssertGrace(created);
        AssertGrace(await Harness.GetJsonAsync(client, $"/v1/contacts/{id}"));
        AssertGrace((await Harness.GetJsonAsync(client, $"/v1/contacts?email={Uri.EscapeDataString(email)}")).GetProperty("items")[0]);
        var export = await Harness.GetJsonAsync(client, $"/v1/contacts/{id}/export");
        AssertGrace(export.GetProperty("profile"));
        Assert.DoesNotContain("enc:v1:", export.GetRawText(), StringComparison.Ordinal);

        var storage = Harness.Web.Services.GetRequiredKeyedService<IGrainStorage>(BatchedGrainStorage.Name);
        var stored = new GrainState<ContactState>();
        await storage.ReadStateAsync("contact", GrainId.Create("contact", ContactKey.Of(organizationId, id)), stored);
        var profile = stored.State?.Profile;
        Assert.NotNull(profile);
        Assert.Equal("Grace", profile.FirstName);
        Assert.Equal("Hopper", profile.LastName);
        Assert.Equal(Phone, JsonDocument.Parse(profile.PropertiesJson).RootElement.GetProperty("phone").GetString());

        var templateId = await Harness.SeedTemplateAsync(organizationId, subject: "Hello {{ contact.firstName }} {{ contact.lastName }}",
            html: "<html><body><p>We will call you on {{ contact.properties.phone }}.</p></body></html>");
        var receipt = await Harness.SendAsync(organizationId, id, email, templateId);
        var sent = await Harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the send to finish");
        Assert.Equal(SendStatus.Sent, sent.Status);
        var body = DeliveryHarness.Requests(Harness.SendGrid, DeliveryHarness.SendGridPath).Select(r => r.RequestMessage.Body ?? "").Single(b => b.Contains(email, StringComparison.Ordinal));
        Assert.Contains("Hello Grace Hopper", body, StringComparison.Ordinal);
        Assert.Contains("call you on " + Phone, body, StringComparison.Ordinal);
        Assert.DoesNotContain("enc:v1:", body, StringComparison.Ordinal);
    }

    private static void AssertGrace(JsonElement contact)
    {
        Assert.Equal("Grace", contact.GetProperty("firstName").GetString());
        Assert.Equal("Hopper", contact.GetProperty("lastName").GetString());
        Assert.Equal(Phone, contact.GetProperty("properties").GetProperty("phone").GetString());
        Assert.Equal("pro", contact.GetProperty("properties").GetProperty("plan").GetString());
    }

    [Fact]
    public async Task A_segment_cannot_filter_on_a_sensitive_property_only_ask_whether_it_exists()
    {
        var organizationId = await Harness.SeedOrganizationAsync();
        using var client = Harness.Web.CreateClientFor(organizationId, "segments:write");

        var refused = await client.PostAsJsonAsync("/v1/segments", new
        {
            name = "Callable", filter = new { all = new object[] { new { property = "plan", op = "eq", value = "pro" }, new { property = "Phone", op = "contains", value = "555" } } },
        });
        var problem = await HttpAssert.ProblemAsync(refused, HttpStatusCode.BadRequest, "filter.all[1].property");
        Assert.Contains("sensitive", problem.GetProperty("errors").GetProperty("filter.all[1].property")[0].GetString(), StringComparison.Ordinal);
        Assert.False(problem.GetProperty("errors").TryGetProperty("filter.all[0].property", out _));

        var accepted = await client.PostAsJsonAsync("/v1/segments", new { name = "Has a phone", filter = new { all = new[] { new { property = "phone", op = "exists" } } } });
        await HttpAssert.JsonAsync(accepted, HttpStatusCode.Created);
    }

    [Fact]
    public async Task After_key_rotation_old_values_still_read_and_new_writes_use_the_new_key()
    {
        var organizationId = await Harness.SeedOrganizationAsync();
        var oldEmail = NewEmail();
        Guid oldId;
        using (var before = Harness.Web.CreateClientFor(organizationId, "contacts:write"))
        {
            oldId = (await CreateGraceAsync(before, oldEmail)).GetProperty("id").GetGuid();
        }

        var settings = new Dictionary<string, string?>(EncryptedContactsFixture.Settings)
        {
            ["Automator:Encryption:Keys:test2"] = "8/4zK0UobPraHIxIRMb1594CIgkqKNUdAIcwjvjYcKQ=",
            ["Automator:Encryption:ActiveKey"] = "test2",
        };
        await using var rotated = new AutomatorApp(Harness.ConnectionString, "rot-" + Guid.NewGuid().ToString("N")[..6], settings);
        using var client = rotated.CreateClientFor(organizationId, "contacts:write");

        AssertGrace(await Harness.GetJsonAsync(client, $"/v1/contacts/{oldId}"));
        var fresh = await CreateGraceAsync(client, NewEmail());
        AssertGrace(fresh);
        var (firstName, lastName, properties) = await RawRowAsync(fresh.GetProperty("id").GetGuid());
        Assert.StartsWith("enc:v1:test2:", firstName, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test2:", lastName, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test2:", JsonDocument.Parse(properties).RootElement.GetProperty("phone").GetString(), StringComparison.Ordinal);

        var patched = await client.PatchAsJsonAsync($"/v1/contacts/{oldId}", new { lastName = "Murray Hopper" });
        Assert.Equal("Murray Hopper", (await HttpAssert.JsonAsync(patched, HttpStatusCode.OK)).GetProperty("lastName").GetString());
        var old = await RawRowAsync(oldId);
        Assert.StartsWith("enc:v1:test1:", old.FirstName, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test2:", old.LastName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patches_and_journey_property_updates_store_sensitive_values_encrypted()
    {
        var organizationId = await Harness.SeedOrganizationAsync();
        using var client = Harness.Web.CreateClientFor(organizationId, "contacts:write");
        var id = (await CreateGraceAsync(client, NewEmail())).GetProperty("id").GetGuid();

        var patched = await client.PatchAsJsonAsync($"/v1/contacts/{id}", new { firstName = "Amazing Grace", properties = new { phone = "+44 20 7946 0000", plan = (string?)null } });
        var answer = await HttpAssert.JsonAsync(patched, HttpStatusCode.OK);
        Assert.Equal("Amazing Grace", answer.GetProperty("firstName").GetString());
        Assert.Equal("+44 20 7946 0000", answer.GetProperty("properties").GetProperty("phone").GetString());
        Assert.False(answer.GetProperty("properties").TryGetProperty("plan", out _));
        var (firstName, _, properties) = await RawRowAsync(id);
        Assert.StartsWith("enc:v1:test1:", firstName, StringComparison.Ordinal);
        Assert.DoesNotContain("20 7946", properties, StringComparison.Ordinal);

        await Harness.Web.Services.GetRequiredService<IContactPropertyWriter>().MergeAsync(organizationId, id, """{"phone":"+33 1 70 36 00 00","tier":"gold"}""");

        (_, _, properties) = await RawRowAsync(id);
        Assert.DoesNotContain("70 36", properties, StringComparison.Ordinal);
        Assert.StartsWith("enc:v1:test1:", JsonDocument.Parse(properties).RootElement.GetProperty("phone").GetString(), StringComparison.Ordinal);
        var read = await Harness.GetJsonAsync(client, $"/v1/contacts/{id}");
        Assert.Equal("+33 1 70 36 00 00", read.GetProperty("properties").GetProperty("phone").GetString());
        Assert.Equal("gold", read.GetProperty("properties").GetProperty("tier").GetString());
    }

    [Fact]
    public async Task An_altered_stored_name_fails_loudly_instead_of_answering_garbage()
    {
        var organizationId = await Harness.SeedOrganizationAsync();
        using var client = Harness.Web.CreateClientFor(organizationId, "contacts:write");
        var id = (await CreateGraceAsync(client, NewEmail())).GetProperty("id").GetGuid();
        var (firstName, _, _) = await RawRowAsync(id);
        var sealedBytes = Convert.FromBase64String(firstName!["enc:v1:test1:".Length..]);
        sealedBytes[^1] ^= 0x20;
        await Harness.ExecuteAsync("UPDATE contacts SET first_name = $1 WHERE id = $2", "enc:v1:test1:" + Convert.ToBase64String(sealedBytes), id);

        var response = await client.GetAsync($"/v1/contacts/{id}");

        await HttpAssert.ProblemAsync(response, HttpStatusCode.InternalServerError);
        var store = Harness.Web.Services.GetRequiredService<ContactStore>();
        var error = await Assert.ThrowsAsync<ContactFieldDecryptionException>(() => store.GetAsync(organizationId, id, CancellationToken.None));
        Assert.Contains("'test1'", error.Message, StringComparison.Ordinal);
    }
}
