using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The workflows list and the template editor against the running system on real PostgreSQL.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ScreensTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Workflows_list_shows_status_and_active_counts_that_move_live()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var workflowId = await session.CreateWorkflowAsync("""
            {
              "name": "Welcome series", "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "reentry": "never", "timeZone": "UTC" }, "start": "wait",
              "steps": [ { "id": "wait", "type": "delay", "duration": "P1D", "next": null } ]
            }
            """);
        await session.PostAsync($"/v1/workflows/{workflowId}/activate");
        var page = session.Page;

        // The list is read when the page opens: open it again now that the workflow exists.
        await page.ReloadAsync();
        await Expect(page.GetByTestId($"workflow-row-{workflowId}")).ToContainTextAsync("active");
        await Expect(page.GetByTestId($"workflow-active-{workflowId}")).ToHaveTextAsync("0");
        await Expect(page.GetByTestId("live-state").Or(page.GetByTestId("workflows-table"))).Not.ToHaveCountAsync(0);

        // Two contacts enter over the API; the list counts them as the hub reports them.
        foreach (var email in new[] { "ada@example.test", "grace@example.test" })
        {
            await session.PostAsync("/v1/events", new JsonObject { ["email"] = email, ["name"] = "signed_up" });
        }

        await Expect(page.GetByTestId($"workflow-active-{workflowId}")).ToHaveTextAsync("2", new() { Timeout = 10_000 });
        Assert.Equal(2, (long)(await session.GetAsync($"/v1/workflows/{workflowId}/stats"))["active"]!);
        await BrowserFixture.ScreenshotAsync(page, "workflows-list");
    }

    [Fact]
    public async Task Template_editor_saves_and_renders_a_liquid_preview_for_a_chosen_contact()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var contactId = (await session.PostAsync("/v1/contacts", new JsonObject { ["email"] = "ada@example.test", ["firstName"] = "Ada" }))["id"]!.GetValue<Guid>();
        var page = session.Page;

        await page.GotoAsync("/templates/new");
        await page.GetByLabel("Name").FillAsync("Welcome");
        await page.GetByLabel("Subject (Liquid)").FillAsync("Welcome, {{ contact.firstName }}");
        await page.GetByLabel("HTML body (Liquid)").FillAsync("<p>Hi {{ contact.firstName }}</p>");
        await page.GetByTestId("template-save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/templates/[0-9a-f-]{36}$"));
        var templateId = page.Url[^36..];
        await page.GetByLabel("Contact (email or id)").FillAsync(contactId.ToString());
        await page.GetByTestId("preview-run").ClickAsync();

        await Expect(page.GetByTestId("preview-subject")).ToHaveTextAsync("Welcome, Ada");
        var saved = await session.GetAsync($"/v1/templates/{templateId}");
        Assert.Equal("Welcome, {{ contact.firstName }}", saved["subject"]!.GetValue<string>());
        Assert.Equal("<p>Hi {{ contact.firstName }}</p>", saved["html"]!.GetValue<string>());
        await BrowserFixture.ScreenshotAsync(page, "template-preview");
    }

    [Fact]
    public async Task Template_editor_suggests_subject_lines_for_the_saved_template_and_uses_the_chosen_one()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var templateId = await session.CreateTemplateAsync("Sale", "Spring sale", "<p>Hi {{ contact.firstName }}, boots for spring walks are 20% off.</p>");
        var page = session.Page;

        await page.GotoAsync($"/templates/{templateId}");
        await Expect(page.GetByTestId("template-subject")).ToHaveValueAsync("Spring sale");
        await page.GetByTestId("ai-brief").FillAsync("Boots for spring walks");
        await page.GetByTestId("ai-subject-lines").ClickAsync();
        var results = page.GetByTestId("ai-subject-results");
        await Expect(results.GetByRole(AriaRole.Button, new() { Name = "Use" })).Not.ToHaveCountAsync(0);
        var chosen = (await results.Locator("li").Last.Locator("b").TextContentAsync())!;
        await results.GetByRole(AriaRole.Button, new() { Name = "Use" }).Last.ClickAsync();

        await Expect(page.GetByTestId("template-subject")).ToHaveValueAsync(chosen);
        await page.GetByTestId("template-save").ClickAsync();
        await Eventually.WaitAsync(async () => (await session.GetAsync($"/v1/templates/{templateId}"))["subject"]!.GetValue<string>(),
            subject => subject == chosen, Wait, "the chosen subject saved");
        await BrowserFixture.ScreenshotAsync(page, "template-ai-subjects");
    }
}
