using System.Text;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The suppression list: add, import (pasted and uploaded) and remove, checked against what the server holds.</summary>
[Collection(BrowserCollection.Name)]
public sealed class SuppressionsPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Addresses_are_added_imported_from_text_and_a_file_and_removed()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;

        await page.GetByTestId("nav-suppressions").ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No address is suppressed.");

        // Add one, submitting with the keyboard.
        await page.GetByLabel("Email").FillAsync("bounce@example.test");
        await page.GetByTestId("suppression-reason").SelectOptionAsync("bounced");
        await page.GetByLabel("Email").PressAsync("Enter");
        await Expect(page.GetByTestId("suppression-row-bounce@example.test")).ToContainTextAsync("bounced");

        // Import pasted addresses: the bad one is named, the good ones are kept.
        await page.GetByLabel("Addresses (one per line, or separated by commas)").FillAsync("email\npasted1@example.test\nnot-an-address, pasted2@example.test");
        await page.GetByTestId("suppression-import").ClickAsync();
        await Expect(page.GetByTestId("suppression-import-result")).ToContainTextAsync("Added 2, already listed 0, rejected 1.");
        await Expect(page.GetByTestId("suppression-import-result")).ToContainTextAsync("not-an-address");

        // Import an uploaded CSV with one address already on the list.
        await page.GetByLabel("Or a file (CSV or text)").SetInputFilesAsync(new FilePayload
        {
            Name = "unsubscribes.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes("email\nfile1@example.test\npasted1@example.test\n"),
        });
        await Expect(page.GetByTestId("suppression-import-text")).ToHaveValueAsync(new System.Text.RegularExpressions.Regex("file1@example.test"));
        await page.GetByTestId("suppression-import-reason").SelectOptionAsync("unsubscribed");
        await page.GetByTestId("suppression-import").ClickAsync();
        await Expect(page.GetByTestId("suppression-import-result")).ToContainTextAsync("Added 1, already listed 1, rejected 0.");
        await Expect(page.GetByTestId("suppressions-table").Locator("tbody tr")).ToHaveCountAsync(4);

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove pasted2@example.test" }).ClickAsync();
        await Expect(page.GetByTestId("suppression-row-pasted2@example.test")).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(page, "suppressions");

        var held = (await session.GetAsync("/v1/suppressions"))["items"]!.AsArray()
            .Select(s => (s!["email"]!.GetValue<string>(), s["reason"]!.GetValue<string>())).OrderBy(s => s.Item1).ToList();
        // The second import gave pasted1 its reason; pasted2 was removed.
        Assert.Equal([("bounce@example.test", "bounced"), ("file1@example.test", "unsubscribed"), ("pasted1@example.test", "unsubscribed")], held);
    }
}
