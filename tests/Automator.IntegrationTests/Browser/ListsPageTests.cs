using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>Lists: created on screen, members added from pasted text and a CSV file and removed, checked against the server.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ListsPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task A_list_is_created_filled_from_text_and_a_csv_and_a_member_removed()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var known = (await session.PostAsync("/v1/contacts", new JsonObject { ["email"] = "known@example.test" }))["id"]!.GetValue<Guid>();
        var page = session.Page;

        await page.GetByTestId("nav-lists").ClickAsync();
        await Expect(page.GetByTestId("empty")).ToHaveTextAsync("No lists yet.");
        await page.GetByLabel("Name").FillAsync("Newsletter");
        await page.GetByLabel("Description").FillAsync("Weekly news");
        await page.GetByLabel("Description").PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex("/lists/[0-9a-f-]{36}$"));
        var listId = Guid.Parse(page.Url[^36..]);
        await Expect(page.GetByText("No members yet.")).ToBeVisibleAsync();

        await page.GetByLabel("Addresses (one per line, or separated by commas)").FillAsync("known@example.test, new1@example.test");
        await page.GetByTestId("list-add").ClickAsync();
        await Expect(page.GetByTestId("list-add-result")).ToHaveTextAsync("Added 2 (1 new contacts), already members 0.");
        await page.GetByLabel("Or a file (CSV or text)").SetInputFilesAsync(new FilePayload
        {
            Name = "members.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes("email\nnew2@example.test\nknown@example.test\n"),
        });
        await Expect(page.GetByTestId("list-members-text")).ToHaveValueAsync(new Regex("new2@example.test"));
        await page.GetByTestId("list-add").ClickAsync();
        await Expect(page.GetByTestId("list-add-result")).ToHaveTextAsync("Added 1 (1 new contacts), already members 1.");
        await Expect(page.GetByTestId("list-members-table").Locator("tbody tr")).ToHaveCountAsync(3);
        await Expect(page.GetByTestId("list-count")).ToHaveTextAsync("3 members");

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove new1@example.test from the list" }).ClickAsync();
        await Expect(page.GetByTestId("member-row-new1@example.test")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("list-count")).ToHaveTextAsync("2 members");
        await BrowserFixture.ScreenshotAsync(page, "list-members");

        var members = (await session.GetAsync($"/v1/contacts?listId={listId}"))["items"]!.AsArray().Select(c => c!["email"]!.GetValue<string>()).Order().ToList();
        Assert.Equal(["known@example.test", "new2@example.test"], members);
        var list = await session.GetAsync($"/v1/lists/{listId}");
        Assert.Equal("Newsletter", list["name"]!.GetValue<string>());
        Assert.Equal("Weekly news", list["description"]!.GetValue<string>());
        Assert.Equal(known, (await session.GetAsync($"/v1/contacts?email=known@example.test"))["items"]![0]!["id"]!.GetValue<Guid>());

        await page.GetByRole(AriaRole.Link, new() { Name = "All lists" }).ClickAsync();
        await Expect(page.GetByTestId($"list-row-{listId}")).ToContainTextAsync("2");
        await BrowserFixture.ScreenshotAsync(page, "lists");
    }
}
