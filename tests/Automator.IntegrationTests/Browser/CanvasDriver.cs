using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>Drives the workflow canvas the way a marketer does: palette drags, handle-to-handle connections, side-panel forms.</summary>
public static class CanvasDriver
{
    /// <summary>
    /// Builds the example workflow of shared/api.md on an open, empty canvas. Templates are picked by id, so the
    /// template list must hold <paramref name="templateIds"/> (tpl_1..tpl_4 by default).
    /// </summary>
    public static async Task BuildApiExampleAsync(IPage page, IReadOnlyList<string>? templateIds = null)
    {
        var templates = templateIds ?? ["tpl_1", "tpl_2", "tpl_3", "tpl_4"];
        await page.GetByTestId("canvas").WaitForAsync();
        await page.GetByTestId("workflow-name").FillAsync("Welcome series");
        await AddStepAsync(page, "send", "welcome", 40, 20);
        await page.GetByTestId("step-template").SelectOptionAsync(templates[0]);
        await AddStepAsync(page, "delay", "wait", 40, 160);
        await page.GetByTestId("step-duration-amount").FillAsync("2");
        await AddStepAsync(page, "branch", "opened?", 40, 300);
        await page.GetByTestId("condition-0-step").SelectOptionAsync("welcome");
        await AddStepAsync(page, "send", "nudge", 20, 460);
        await page.GetByTestId("step-template").SelectOptionAsync(templates[1]);
        await AddStepAsync(page, "waitForEvent", "buy", 330, 460);
        await page.GetByTestId("step-event").FillAsync("purchased");
        await AddStepAsync(page, "split", "offer", 330, 620);
        await AddStepAsync(page, "send", "offerA", 200, 780);
        await page.GetByTestId("step-template").SelectOptionAsync(templates[2]);
        await AddStepAsync(page, "send", "offerB", 460, 780);
        await page.GetByTestId("step-template").SelectOptionAsync(templates[3]);

        await ConnectAsync(page, "welcome", "next", "wait");
        await ConnectAsync(page, "wait", "next", "opened?");
        await ConnectAsync(page, "opened?", "c0", "buy");
        await ConnectAsync(page, "opened?", "else", "nudge");
        await ConnectAsync(page, "buy", "onTimeout", "offer");
        await ConnectAsync(page, "offer", "b0", "offerA");
        await ConnectAsync(page, "offer", "b1", "offerB");

        await page.GetByTestId("open-trigger").ClickAsync();
        await page.GetByLabel("Event name").FillAsync("signed_up");
        await page.GetByTestId("open-settings").ClickAsync();
        await page.GetByTestId("settings-exit-new").FillAsync("unsubscribed");
        await page.GetByTestId("settings-exit-new").PressAsync("Enter");
        await page.GetByLabel("Goal event").FillAsync("purchased");
        await page.GetByLabel("Only send inside a window").CheckAsync();
        await page.GetByLabel("Limit sends per contact").CheckAsync();
    }

    /// <summary>Opens a new workflow from the workflows list, triggered by <paramref name="triggerEvent"/>.</summary>
    public static async Task OpenNewWorkflowAsync(IPage page, string triggerEvent = "signed_up")
    {
        await page.GetByTestId("nav-workflows").ClickAsync();
        await page.GetByTestId("new-workflow").ClickAsync();
        await page.GetByTestId("canvas").WaitForAsync();
        await page.GetByTestId("open-trigger").ClickAsync();
        await page.GetByLabel("Event name").FillAsync(triggerEvent);
    }

    /// <summary>Drags a palette item onto the canvas at (x, y) and names the new step.</summary>
    public static async Task AddStepAsync(IPage page, string type, string id, float x, float y)
    {
        await page.GetByTestId($"palette-{type}").DragToAsync(page.GetByTestId("canvas"), new LocatorDragToOptions
        {
            TargetPosition = new TargetPosition { X = x + 90, Y = y + 30 },
        });
        var stepId = page.GetByTestId("step-id");
        await stepId.FillAsync(id);
        await stepId.PressAsync("Enter");
        await Expect(page.GetByTestId($"step-{id}")).ToBeVisibleAsync();
    }

    /// <summary>Drags from a step's outlet handle to another step's input handle.</summary>
    public static async Task ConnectAsync(IPage page, string from, string handle, string to)
    {
        await page.GetByTestId($"handle-{from}-{handle}").DragToAsync(page.GetByTestId($"handle-{to}-in"));
        await Expect(page.Locator($".react-flow__edge[data-id='{from}:{handle}']").Or(page.Locator($"[data-testid='rf__edge-{from}:{handle}']"))).ToHaveCountAsync(1);
    }
}
