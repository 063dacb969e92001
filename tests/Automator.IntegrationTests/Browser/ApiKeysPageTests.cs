using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>API keys: created with scopes from the server's list, the secret shown once and working, then revoked.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ApiKeysPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task A_key_is_created_with_chosen_scopes_shown_once_works_and_stops_working_once_revoked()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;

        await page.GetByTestId("nav-api-keys").ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No API keys.");
        await Expect(page.GetByTestId("api-key-scopes").GetByRole(AriaRole.Checkbox)).ToHaveCountAsync(21);
        await page.GetByLabel("Name").FillAsync("CRM sync");
        await page.GetByLabel("contacts:read").CheckAsync();
        await page.GetByLabel("sends:read").FocusAsync();
        await page.Keyboard.PressAsync("Space");
        await page.GetByTestId("api-key-create").ClickAsync();

        var secret = (await page.GetByTestId("api-key-secret").TextContentAsync())!;
        Assert.StartsWith("ak_", secret, StringComparison.Ordinal);
        var row = page.GetByTestId("api-keys-table").Locator("tbody tr");
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row).ToContainTextAsync("contacts:read, sends:read");
        await BrowserFixture.ScreenshotAsync(page, "api-keys");

        var keys = (await session.GetAsync("/v1/api-keys"))["items"]!.AsArray();
        var key = Assert.Single(keys)!;
        Assert.Equal("CRM sync", key["name"]!.GetValue<string>());
        Assert.Equal(["contacts:read", "sends:read"], key["scopes"]!.AsArray().Select(s => s!.GetValue<string>()));
        using var withKey = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        withKey.DefaultRequestHeaders.Add("X-Api-Key", secret);
        Assert.Equal(HttpStatusCode.OK, (await withKey.GetAsync("/v1/contacts")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await withKey.GetAsync("/v1/templates")).StatusCode);

        // Shown once: opening the page again shows the prefix only.
        await page.ReloadAsync();
        await Expect(row).ToHaveCountAsync(1);
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke CRM sync" }).ClickAsync();
        await page.GetByTestId("revoke-confirm-button").ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No API keys.");
        Assert.Empty((await session.GetAsync("/v1/api-keys"))["items"]!.AsArray());
        Assert.Equal(HttpStatusCode.Unauthorized, (await withKey.GetAsync("/v1/contacts")).StatusCode);
        await Expect(page).ToHaveURLAsync(new Regex("/api-keys$"));
    }
}
