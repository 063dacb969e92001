using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>A/B winners on the canvas: the editor's settings reach the server, and a decided test is shown with its figures.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AutoWinnerTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Picking_a_winner_automatically_is_set_on_a_send_step_and_the_running_test_shows_on_the_canvas()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var template = await session.CreateTemplateAsync("Offer");
        var page = session.Page;
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "send", "offer", 40, 20);
        await page.GetByTestId("step-template").SelectOptionAsync(template);

        // Suggested subject lines (the local writer: no OpenAI key here) become variants B and C beside the template's own.
        await page.GetByTestId("suggest-subjects").ClickAsync();
        await Expect(page.GetByTestId("variant-2-id")).ToHaveValueAsync("C");
        await Expect(page.GetByTestId("variant-1-subject")).Not.ToHaveValueAsync("");
        var suggested = new[] { await page.GetByTestId("variant-1-subject").InputValueAsync(), await page.GetByTestId("variant-2-subject").InputValueAsync() };
        Assert.All(suggested, subject => Assert.False(string.IsNullOrWhiteSpace(subject)));

        await page.GetByTestId("auto-winner-on").CheckAsync();
        await page.GetByTestId("auto-winner-metric").SelectOptionAsync("goal");
        await Expect(page.GetByTestId("auto-winner-error")).ToContainTextAsync("goal event");
        await page.GetByTestId("auto-winner-metric").SelectOptionAsync("clicked");
        await Expect(page.GetByTestId("auto-winner-error")).ToHaveCountAsync(0);
        await page.GetByTestId("auto-winner-samples").FillAsync("500");
        await page.GetByTestId("auto-winner-confidence").SelectOptionAsync("0.99");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");

        var id = await session.SavedWorkflowIdAsync();
        var saved = await session.GetAsync($"/v1/workflows/{id}");
        Assert.Equal(
            new JsonObject { ["metric"] = "clicked", ["minSamples"] = 500, ["confidence"] = 0.99 }.ToJsonString(),
            saved["steps"]![0]!["autoWinner"]!.ToJsonString());
        var variants = saved["steps"]![0]!["variants"]!.AsArray();
        Assert.Equal(["A", "B", "C"], variants.Select(v => v!["id"]!.GetValue<string>()));
        Assert.Equal(suggested, variants.Skip(1).Select(v => v!["subject"]!.GetValue<string>()));
        Assert.All(variants, v => Assert.Equal(33, v!["weight"]!.GetValue<double>()));

        // The test is shown as running, with the figures the server reports for it.
        var stats = await session.GetAsync($"/v1/workflows/{id}/stats");
        Assert.Equal("testing", stats["autoWinners"]!["offer"]!["status"]!.GetValue<string>());
        await Expect(page.GetByTestId("test-offer-status")).ToHaveTextAsync("Testing on clicked");
        await Expect(page.GetByTestId("test-offer-B")).ToHaveTextAsync("B: 0.0% of 0");
        await BrowserFixture.ScreenshotAsync(page, "canvas-ab-testing");
    }

    [Fact]
    public async Task A_split_whose_left_path_converts_five_times_as_often_is_decided_shown_and_then_takes_every_contact()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var id = await session.CreateWorkflowAsync("""
            { "name": "Split test", "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "goalEvent": "purchased" }, "start": "s",
              "steps": [ { "id": "s", "type": "split", "autoWinner": { "metric": "goal", "minSamples": 100, "confidence": 0.95 },
                           "branches": [ { "id": "L", "weight": 1, "next": "left" }, { "id": "R", "weight": 1, "next": "right" } ] },
                         { "id": "left", "type": "delay", "duration": "P7D" },
                         { "id": "right", "type": "delay", "duration": "P7D" } ] }
            """);
        await session.PostAsync($"/v1/workflows/{id}/activate");

        // Contacts sign up until each path holds 100; then half of the left path buys, and a tenth of the right.
        var signedUp = 0;
        var onPath = new Dictionary<string, List<Guid>>();
        while (signedUp < 2000 && (onPath.Count < 2 || onPath.Values.Min(c => c.Count) < 100))
        {
            var events = new JsonArray();
            for (var i = 0; i < 100; i++, signedUp++)
            {
                events.Add(new JsonObject { ["email"] = $"buyer{signedUp}-{id:N}@example.test", ["name"] = "signed_up" });
            }

            await session.PostAsync("/v1/events/batch", new JsonObject { ["events"] = events });
            var expected = signedUp;
            onPath = await Eventually.WaitAsync(
                () => PathsAsync(session, id), p => p.Values.Sum(c => c.Count) == expected, TimeSpan.FromSeconds(60), $"{expected} journeys on the two paths");
        }

        var purchases = new JsonArray();
        foreach (var (path, every) in new[] { ("left", 2), ("right", 10) })
        {
            foreach (var contactId in onPath[path].Where((_, i) => i % every == 0))
            {
                purchases.Add(new JsonObject { ["contactId"] = contactId, ["name"] = "purchased" });
            }
        }

        await session.PostAsync("/v1/events/batch", new JsonObject { ["events"] = purchases });
        var stats = await Eventually.WaitAsync(
            () => session.GetAsync($"/v1/workflows/{id}/stats"), s => s["autoWinners"]?["s"]?["status"]?.GetValue<string>() == "decided",
            TimeSpan.FromSeconds(60), "the split's test to be decided");
        var test = stats["autoWinners"]!["s"]!;
        Assert.Equal("L", test["winner"]!.GetValue<string>());
        Assert.Equal("R", test["runnerUp"]!.GetValue<string>());
        Assert.True(test["statistic"]!.GetValue<double>() >= test["threshold"]!.GetValue<double>());
        var left = test["tallies"]!.AsArray().Single(t => t!["variant"]!.GetValue<string>() == "L")!;
        Assert.Equal(onPath["left"].Count, left["samples"]!.GetValue<long>());
        Assert.Equal((onPath["left"].Count + 1) / 2, left["successes"]!.GetValue<long>());

        var page = session.Page;
        await page.GotoAsync($"/workflows/{id}");
        await Expect(page.GetByTestId("test-s-status")).ToHaveTextAsync("Winner L on goal");
        await Expect(page.GetByTestId("test-s-L")).ToContainTextAsync($"of {onPath["left"].Count}");
        await BrowserFixture.ScreenshotAsync(page, "canvas-ab-decided");

        // Every silo reads the winner within its refresh interval; from then on a whole batch of contacts takes the left path
        // (by chance alone 20 contacts would all go left once in a million).
        var later = 0;
        await Eventually.WaitAsync(
            async () =>
            {
                var rightBefore = await EnteredAsync(session, id, "R");
                var events = new JsonArray();
                for (var i = 0; i < 20; i++, later++)
                {
                    events.Add(new JsonObject { ["email"] = $"later{later}-{id:N}@example.test", ["name"] = "signed_up" });
                }

                await session.PostAsync("/v1/events/batch", new JsonObject { ["events"] = events });
                var expected = signedUp + later;
                await Eventually.WaitAsync(
                    async () => await EnteredAsync(session, id, "L") + await EnteredAsync(session, id, "R"), n => n == expected, TimeSpan.FromSeconds(60), $"{expected} journeys");
                return await EnteredAsync(session, id, "R") == rightBefore;
            },
            allLeft => allLeft, TimeSpan.FromSeconds(120), "a batch of contacts to all take the winning path");
    }

    private static async Task<long> EnteredAsync(DashboardSession session, Guid workflowId, string path) =>
        (await session.GetAsync($"/v1/workflows/{workflowId}/stats"))["variants"]?[$"s/{path}"]?["entered"]?.GetValue<long>() ?? 0;

    private static async Task<Dictionary<string, List<Guid>>> PathsAsync(DashboardSession session, Guid workflowId)
    {
        var paths = new Dictionary<string, List<Guid>>();
        foreach (var step in new[] { "left", "right" })
        {
            var page = await session.GetAsync($"/v1/workflows/{workflowId}/journeys?stepId={step}&limit=500");
            paths[step] = page["items"]!.AsArray().Select(j => j!["contactId"]!.GetValue<Guid>()).ToList();
        }

        return paths;
    }
}
