using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The canvas's editors and keys, each change checked in what the real server then holds.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CanvasEditingTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Send_variants_with_weights_and_the_goal_and_exit_events_are_edited_on_the_canvas_and_saved()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var welcome = await session.CreateTemplateAsync("Welcome");
        var welcomeB = await session.CreateTemplateAsync("Welcome B");
        var page = session.Page;
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "send", "welcome", 40, 20);
        await page.GetByTestId("step-template").SelectOptionAsync(welcome);

        // The first "Add variant" makes an A/B test of two; a third can be added and removed again.
        await page.GetByTestId("add-variant").ClickAsync();
        await Expect(page.GetByTestId("variant-1-id")).ToHaveValueAsync("B");
        await page.GetByTestId("add-variant").ClickAsync();
        await Expect(page.GetByTestId("variant-2-id")).ToHaveValueAsync("C");
        await page.GetByTestId("variant-2-remove").ClickAsync();
        await Expect(page.GetByTestId("variant-2")).ToHaveCountAsync(0);
        await page.GetByTestId("variant-0-subject").FillAsync("Hello from A");
        await page.GetByTestId("variant-1-template").SelectOptionAsync(welcomeB);
        await page.GetByTestId("variant-0-weight").FillAsync("70");
        await page.GetByTestId("variant-1-weight").FillAsync("0");

        // A weight of 0 is named under the variant, and nothing is sent while it stands.
        await Expect(page.GetByTestId("variant-1-errors")).ToContainTextAsync("greater than 0");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("workflow-errors")).ToContainTextAsync("steps.welcome.variants[1]");
        Assert.EndsWith("/workflows/new", page.Url, StringComparison.Ordinal);
        Assert.Empty((await session.GetAsync("/v1/workflows"))["items"]!.AsArray());

        await page.GetByTestId("variant-1-weight").FillAsync("30");
        await Expect(page.GetByTestId("variant-0-share")).ToHaveTextAsync("70%");
        await Expect(page.GetByTestId("variant-1-share")).ToHaveTextAsync("30%");
        await Expect(page.GetByTestId("variant-1-errors")).ToHaveCountAsync(0);

        await page.GetByTestId("open-settings").ClickAsync();
        foreach (var name in new[] { "unsubscribed", "churned" })
        {
            await page.GetByTestId("settings-exit-new").FillAsync(name);
            await page.GetByTestId("settings-exit-add").ClickAsync();
        }

        await page.GetByRole(AriaRole.Button, new() { Name = "Remove exit events churned" }).ClickAsync();
        await page.GetByTestId("settings-goal").FillAsync("purchased");
        await page.GetByTestId("settings-reentry").SelectOptionAsync("always");
        await BrowserFixture.ScreenshotAsync(page, "canvas-settings");

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var saved = await session.GetAsync($"/v1/workflows/{await session.SavedWorkflowIdAsync()}");
        Assert.Equal(
            new JsonArray(
                new JsonObject { ["id"] = "A", ["weight"] = 70, ["subject"] = "Hello from A" },
                new JsonObject { ["id"] = "B", ["weight"] = 30, ["templateId"] = welcomeB }).ToJsonString(),
            saved["steps"]![0]!["variants"]!.ToJsonString());
        Assert.Equal("""["unsubscribed"]""", saved["settings"]!["exitEvents"]!.ToJsonString());
        Assert.Equal("purchased", saved["settings"]!["goalEvent"]!.GetValue<string>());
        Assert.Equal("always", saved["settings"]!["reentry"]!.GetValue<string>());

        // Read back into the editors.
        await page.ReloadAsync();
        await page.GetByTestId("step-welcome").ClickAsync();
        await Expect(page.GetByTestId("variant-1-template")).ToHaveValueAsync(welcomeB);
        await Expect(page.GetByTestId("variant-0-share")).ToHaveTextAsync("70%");
        await page.GetByTestId("open-settings").ClickAsync();
        await Expect(page.GetByTestId("settings-exit-item-unsubscribed")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("settings-goal")).ToHaveValueAsync("purchased");
        await BrowserFixture.ScreenshotAsync(page, "canvas-variants");
    }

    [Fact]
    public async Task Arrow_keys_move_the_selected_step_delete_removes_it_and_undo_and_redo_step_through_the_edits()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "delay", "first", 40, 20);
        await CanvasDriver.AddStepAsync(page, "delay", "second", 40, 200);
        await CanvasDriver.ConnectAsync(page, "first", "next", "second");

        await page.GetByTestId("step-second").ClickAsync();
        var start = await CanvasContractTests.PositionAsync(page, "second");
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(page.Locator(".react-flow__node[data-id='second']")).ToHaveAttributeAsync("style", new System.Text.RegularExpressions.Regex($@"translate\({start.X + 10}px,\s*{start.Y}px\)"));
        await page.Keyboard.PressAsync("Shift+ArrowDown");
        await Expect(page.Locator(".react-flow__node[data-id='second']")).ToHaveAttributeAsync("style", new System.Text.RegularExpressions.Regex($@"translate\({start.X + 10}px,\s*{start.Y + 50}px\)"));
        var moved = (start.X + 10, start.Y + 50);

        // Delete removes the step and its connection; undo brings both back; redo removes them again.
        await page.Keyboard.PressAsync("Delete");
        await Expect(page.GetByTestId("step-second")).ToHaveCountAsync(0);
        await Expect(page.Locator(".react-flow__edge")).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("Control+z");
        await Expect(page.GetByTestId("step-second")).ToBeVisibleAsync();
        await Expect(page.Locator(".react-flow__edge")).ToHaveCountAsync(1);
        Assert.Equal(moved, await CanvasContractTests.PositionAsync(page, "second"));
        await page.Keyboard.PressAsync("Control+Shift+z");
        await Expect(page.GetByTestId("step-second")).ToHaveCountAsync(0);
        await page.Keyboard.PressAsync("Control+z");
        await Expect(page.GetByTestId("step-second")).ToBeVisibleAsync();

        // Undo in a text field is the field's own; the toolbar's buttons do what the keys do.
        await page.GetByTestId("workflow-name").FillAsync("Keyboard flow");
        await page.GetByTestId("workflow-name").PressAsync("Control+z");
        await Expect(page.GetByTestId("step-second")).ToBeVisibleAsync();
        await page.GetByTestId("step-second").ClickAsync();
        await page.Keyboard.PressAsync("Delete");
        await Expect(page.GetByTestId("step-second")).ToHaveCountAsync(0);
        await page.GetByTestId("undo").ClickAsync();
        await Expect(page.GetByTestId("step-second")).ToBeVisibleAsync();

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var saved = await session.GetAsync($"/v1/workflows/{await session.SavedWorkflowIdAsync()}");
        Assert.Equal(["first", "second"], saved["steps"]!.AsArray().Select(s => s!["id"]!.GetValue<string>()));
        Assert.Equal("second", saved["steps"]![0]!["next"]!.GetValue<string>());
        Assert.Equal(moved, (saved["layout"]!["second"]!["x"]!.GetValue<double>(), saved["layout"]!["second"]!["y"]!.GetValue<double>()));
    }
}
