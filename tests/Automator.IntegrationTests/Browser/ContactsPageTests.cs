using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The contacts page and a contact's profile against the running system on real PostgreSQL.</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class ContactsPageTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Contacts_are_searched_by_email_and_property_and_a_profile_is_exported_unsubscribed_and_erased()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var ada = (await session.PostAsync("/v1/contacts", new JsonObject { ["email"] = "ada@example.test", ["firstName"] = "Ada", ["properties"] = new JsonObject { ["plan"] = "pro" } }))["id"]!.GetValue<Guid>();
        var grace = (await session.PostAsync("/v1/contacts", new JsonObject { ["email"] = "grace@example.test", ["properties"] = new JsonObject { ["plan"] = "free" } }))["id"]!.GetValue<Guid>();
        var listId = (await session.PostAsync("/v1/lists", new JsonObject { ["name"] = "Newsletter" }))["id"]!.GetValue<Guid>();
        await session.PostAsync($"/v1/lists/{listId}/members", new JsonObject { ["contactIds"] = new JsonArray(ada.ToString()) });
        await session.PostAsync("/v1/events", new JsonObject { ["email"] = "ada@example.test", ["name"] = "watched_demo" });
        await Eventually.WaitAsync(async () => (await session.GetAsync($"/v1/contacts/{ada}/timeline"))["items"]!.AsArray().Count,
            count => count > 0, Wait, "the event on the contact's timeline");
        var page = session.Page;

        await page.GetByTestId("nav-contacts").ClickAsync();
        await Expect(page.GetByTestId("contacts-table").Locator("tbody tr")).ToHaveCountAsync(2);
        await page.GetByLabel("Property").FillAsync("plan");
        await page.GetByLabel("Value").FillAsync("pro");
        await page.GetByLabel("Value").PressAsync("Enter");
        await Expect(page.GetByTestId("contacts-table").Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId($"contact-row-{ada}")).ToBeVisibleAsync();
        await page.GetByLabel("Property").FillAsync("");
        await page.GetByLabel("Email").FillAsync("grace@example.test");
        await page.GetByTestId("contacts-search").ClickAsync();
        await Expect(page.GetByTestId("contacts-table").Locator("tbody tr")).ToHaveCountAsync(1);
        await Expect(page.GetByTestId($"contact-row-{grace}")).ToBeVisibleAsync();
        await page.GetByLabel("Email").FillAsync("nobody@example.test");
        await page.GetByTestId("contacts-search").ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No contact matches this search.");

        // The profile: properties, lists, journeys and the timeline.
        await page.GotoAsync($"/contacts?property=plan&value=pro");
        await page.GetByRole(AriaRole.Link, new() { Name = "ada@example.test" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/contacts/{ada}$"));
        await Expect(page.GetByTestId("contact-properties")).ToContainTextAsync("pro");
        await Expect(page.GetByTestId("contact-lists")).ToContainTextAsync("Newsletter");
        await Expect(page.GetByText("In no journey.")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("contact-timeline")).ToContainTextAsync("watched_demo");

        // Export: the downloaded file is the server's export of this contact, and the server recorded it.
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByTestId("contact-export").ClickAsync());
        var exported = JsonNode.Parse(await File.ReadAllTextAsync((await download.PathAsync())!))!;
        Assert.Equal("ada@example.test", exported["profile"]!["email"]!.GetValue<string>());
        Assert.Equal("Newsletter", exported["lists"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM audit_log WHERE organization_id = @org AND action = 'contact.exported'", session.OrganizationId));

        await page.GetByTestId("contact-unsubscribe").ClickAsync();
        await Expect(page.GetByTestId("contact-status")).ToHaveTextAsync("unsubscribed");
        Assert.Equal("unsubscribed", (await session.GetAsync($"/v1/contacts/{ada}"))["status"]!.GetValue<string>());
        await BrowserFixture.ScreenshotAsync(page, "contact-profile");

        // Erasure asks first; cancelling keeps the contact.
        await page.GetByTestId("contact-erase").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page.GetByTestId("erase-confirm")).ToHaveCountAsync(0);
        Assert.True((await session.Api.GetAsync($"/v1/contacts/{ada}")).IsSuccessStatusCode);
        await page.GetByTestId("contact-erase").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alertdialog)).ToContainTextAsync("cannot be undone");
        await BrowserFixture.ScreenshotAsync(page, "contact-erase-confirm");
        await page.GetByTestId("erase-confirm-button").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/contacts$"));
        await Expect(page.GetByTestId($"contact-row-{ada}")).ToHaveCountAsync(0);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await session.Api.GetAsync($"/v1/contacts/{ada}")).StatusCode);
        await BrowserFixture.ScreenshotAsync(page, "contacts");
    }

    private async Task<long> ScalarAsync(string sql, Guid organizationId)
    {
        await using var connection = new NpgsqlConnection(fixture.System.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("org", organizationId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
