using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>Versions with their differences, enrollment and archiving from the canvas, checked in what the real server holds.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CanvasVersionsTests(BrowserFixture fixture)
{
    private static string Definition(string name, string templateId, string wait, bool withReminder) => $$"""
        { "name": "{{name}}", "trigger": { "type": "event", "event": "signed_up" }, "start": "welcome",
          "steps": [ { "id": "welcome", "type": "send", "templateId": "{{templateId}}", "next": "wait" },
                     { "id": "wait", "type": "delay", "duration": "{{wait}}"{{(withReminder ? ", \"next\": \"reminder\"" : "")}} }
                     {{(withReminder ? $", {{ \"id\": \"reminder\", \"type\": \"send\", \"templateId\": \"{templateId}\" }}" : "")}} ] }
        """;

    [Fact]
    public async Task Versions_are_listed_and_compared_a_new_one_is_published_contacts_are_enrolled_and_the_workflow_is_archived()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var template = await session.CreateTemplateAsync("Hello");
        var id = await session.CreateWorkflowAsync(Definition("Onboarding", template, "P1D", withReminder: false));
        await session.PostAsync($"/v1/workflows/{id}/publish");
        var changed = await session.Api.PutAsync(
            $"/v1/workflows/{id}", new StringContent(Definition("Onboarding", template, "P2D", withReminder: true), Encoding.UTF8, "application/json"));
        Assert.True(changed.IsSuccessStatusCode, await changed.Content.ReadAsStringAsync());

        var page = session.Page;
        await page.GotoAsync($"/workflows/{id}");
        await page.GetByTestId("open-versions").ClickAsync();
        await Expect(page.GetByTestId("version-1")).ToContainTextAsync("v1 · 2 steps");
        await Expect(page.GetByTestId("diff-step-wait")).ToHaveTextAsync("wait: changed (duration, next)");
        await Expect(page.GetByTestId("diff-step-reminder")).ToHaveTextAsync("reminder: added");
        await Expect(page.GetByTestId("diff-step-welcome")).ToHaveCountAsync(0);

        // "Publish new version" freezes the draft as version 2: it then matches the draft, and differs from version 1 as above.
        await page.GetByTestId("publish-new-version").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Published version 2");
        await Expect(page.GetByTestId("version-2")).ToContainTextAsync("v2 · 3 steps");
        await page.GetByTestId("diff-from").SelectOptionAsync("2");
        await Expect(page.GetByTestId("diff-none")).ToBeVisibleAsync();
        await page.GetByTestId("diff-from").SelectOptionAsync("1");
        await page.GetByTestId("diff-to").SelectOptionAsync("2");
        await Expect(page.GetByTestId("diff-step-reminder")).ToHaveTextAsync("reminder: added");
        await BrowserFixture.ScreenshotAsync(page, "canvas-versions");
        var versions = await session.GetAsync($"/v1/workflows/{id}/versions");
        Assert.Equal([2, 1], versions["items"]!.AsArray().Select(v => v!["version"]!.GetValue<int>()));
        Assert.Equal("P2D", (await session.GetAsync($"/v1/workflows/{id}/versions/2"))["steps"]![1]!["duration"]!.GetValue<string>());

        // Enrolling two known contacts (and one unknown address) from pasted CSV into the activated workflow.
        foreach (var email in new[] { "ada@example.test", "grace@example.test" })
        {
            await session.PostAsync("/v1/contacts", new JsonObject { ["email"] = email });
        }

        await page.GetByTestId("activate").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("active");
        await page.GetByTestId("open-enroll").ClickAsync();
        await page.GetByTestId("enroll-emails").FillAsync("email,name\nada@example.test,Ada\n\"grace@example.test\",Grace\nnobody@example.test,No one\n");
        await Expect(page.GetByTestId("enroll-count")).ToHaveTextAsync("3 addresses found");
        await page.GetByTestId("enroll-submit").ClickAsync();
        await Expect(page.GetByTestId("enroll-result")).ToContainTextAsync("2 enrolled, 1 not");
        await Expect(page.GetByTestId("enroll-rejected")).ToContainTextAsync("nobody@example.test");
        var journeys = await session.GetAsync($"/v1/workflows/{id}/journeys");
        Assert.Equal(2, journeys["items"]!.AsArray().Count);
        Assert.All(journeys["items"]!.AsArray(), j => Assert.Equal(2, j!["version"]!.GetValue<int>()));

        // Archiving asks first; a dismissed question changes nothing.
        page.Dialog += DismissOnce;
        await page.GetByTestId("archive").ClickAsync();
        Assert.Equal("active", (await session.GetAsync($"/v1/workflows/{id}"))["status"]!.GetValue<string>());
        page.Dialog -= DismissOnce;
        page.Dialog += async (_, dialog) => await dialog.AcceptAsync();
        await page.GetByTestId("archive").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("archived");
        Assert.Equal("archived", (await session.GetAsync($"/v1/workflows/{id}"))["status"]!.GetValue<string>());
    }

    private static void DismissOnce(object? sender, IDialog dialog) => _ = dialog.DismissAsync();
}
