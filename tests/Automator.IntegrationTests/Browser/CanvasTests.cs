using System.Diagnostics;
using System.Text.Json.Nodes;
using Automator.Live;
using Automator.WebApi.Identity;
using Automator.IntegrationTests.Infrastructure;
using Automator.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// The canvas driven as a marketer would, in real Chromium against the running system: REST answers come from
/// <see cref="ApiStub"/> (the api.md contract), the live hub and the path from <see cref="ILiveEvents"/> to the
/// browser are real.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CanvasTests(BrowserFixture fixture)
{
    private const string ApiExample = ApiExamples.WelcomeWorkflow;

    [Fact]
    public async Task Marketer_builds_the_api_example_by_drag_and_drop_sees_validation_errors_on_the_node_and_live_counts_within_two_seconds()
    {
        var organizationId = Guid.NewGuid();
        var workflowId = Guid.NewGuid();
        var page = await SignedInPageAsync(organizationId, out var stub);
        stub.On("POST", "/v1/workflows", (request, call) => call == 1
                ? new JsonObject { ["title"] = "The workflow is invalid", ["status"] = 400, ["errors"] = new JsonObject { ["steps[offerB].templateId"] = new JsonArray("Template tpl_9 does not exist") } }
                : Saved(workflowId, "draft", JsonNode.Parse(request.PostData!)!), status: 201)
            .On("POST", $"/v1/workflows/{workflowId}/publish", new JsonObject { ["id"] = workflowId, ["version"] = 1, ["status"] = "draft" })
            .On("POST", $"/v1/workflows/{workflowId}/activate", new JsonObject { ["id"] = workflowId, ["version"] = 1, ["status"] = "active" })
            .On("GET", $"/v1/workflows/{workflowId}/stats", new JsonObject { ["steps"] = new JsonObject() })
            .On("GET", $"/v1/workflows/{workflowId}/journeys*", new JsonObject
            {
                ["items"] = new JsonArray(new JsonObject { ["journeyId"] = "j-1", ["contactId"] = "c-1", ["email"] = "ada@example.test", ["status"] = "waiting" }),
                ["nextCursor"] = null,
            })
            .On("GET", "/v1/contacts/c-1/timeline", new JsonObject
            {
                ["items"] = new JsonArray(new JsonObject { ["type"] = "journey.step", ["at"] = "2026-11-25T10:00:00Z", ["stepId"] = "wait" }),
                ["nextCursor"] = null,
            });
        await page.GotoAsync("/workflows/new");
        var canvas = page.GetByTestId("canvas");
        await canvas.WaitForAsync();

        await CanvasDriver.BuildApiExampleAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "canvas-built");

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("errors-offerB")).ToContainTextAsync("tpl_9");
        await BrowserFixture.ScreenshotAsync(page, "canvas-validation-error");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        await Expect(page.GetByTestId("errors-offerB")).ToHaveCountAsync(0);

        var saved = stub.Requests.Last(r => r.Method == "POST" && r.Path == "/v1/workflows").Body!.AsObject();
        saved.Remove("layout");
        Assert.Equal(ApiStub.Canonical(JsonNode.Parse(ApiExample)), ApiStub.Canonical(saved));

        await page.GetByTestId("publish").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToContainTextAsync("Published version 1");
        await page.GetByTestId("activate").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("active");
        await Expect(page.GetByTestId("live-state")).ToContainTextAsync("Connected");

        var live = fixture.System.GetRequiredService<ILiveEvents>();
        var clock = Stopwatch.StartNew();
        live.JourneyMoved(organizationId, workflowId, "j-1", Guid.NewGuid(), null, "welcome", DateTimeOffset.UtcNow);
        live.JourneyMoved(organizationId, workflowId, "j-1", Guid.NewGuid(), "welcome", "wait", DateTimeOffset.UtcNow);
        await Expect(page.GetByTestId("waiting-wait")).ToHaveTextAsync("1", new() { Timeout = 2000 });
        await Expect(page.GetByTestId("passed-welcome")).ToHaveTextAsync("1", new() { Timeout = 2000 - (float)clock.Elapsed.TotalMilliseconds });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"live counts took {clock.Elapsed}");
        await BrowserFixture.ScreenshotAsync(page, "canvas-live");

        // While live counts arrive the canvas re-measures its nodes and briefly hides them: deliver the click to the
        // node itself rather than waiting for it to be painted.
        await page.GetByTestId("step-wait").DispatchEventAsync("click");
        await page.GetByTestId("tab-journeys").ClickAsync();
        await page.GetByTestId("journey-c-1").ClickAsync();
        await Expect(page.GetByTestId("timeline")).ToContainTextAsync("journey.step");
        await BrowserFixture.ScreenshotAsync(page, "canvas-journeys");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Operator_pauses_a_provider_and_sees_live_state_and_send_rate()
    {
        var organizationId = Guid.NewGuid();
        var page = await SignedInPageAsync(organizationId, out var stub);
        stub.On("GET", "/v1/providers", new JsonArray(
                new JsonObject { ["name"] = "sendgrid", ["state"] = "healthy", ["ratePerSecond"] = 100, ["sentLastMinute"] = 0, ["errorsLastMinute"] = 0 },
                new JsonObject { ["name"] = "ses", ["state"] = "healthy", ["ratePerSecond"] = 14, ["sentLastMinute"] = 0, ["errorsLastMinute"] = 0 }))
            .On("POST", "/v1/providers/sendgrid/pause", new JsonObject { ["name"] = "sendgrid", ["state"] = "paused" });
        await page.GotoAsync("/providers");
        await Expect(page.GetByTestId("provider-state-sendgrid")).ToHaveTextAsync("healthy");
        await Expect(page.GetByTestId("live-state").Or(page.GetByTestId("providers-table"))).Not.ToHaveCountAsync(0);

        await page.GetByRole(AriaRole.Button, new() { Name = "Pause sendgrid" }).ClickAsync();
        await Expect(page.GetByTestId("provider-state-sendgrid")).ToHaveTextAsync("paused");

        var live = fixture.System.GetRequiredService<ILiveEvents>();
        await Eventually.WaitAsync(async () =>
        {
            live.ProviderStateChanged(organizationId, "ses", "open");
            for (var i = 0; i < 50; i++)
            {
                live.SendRecorded(organizationId, "sendgrid");
                live.EventsIngested(organizationId, 3);
            }

            return await page.GetByTestId("provider-state-ses").TextContentAsync();
        }, state => state == "open", TimeSpan.FromSeconds(10), "the provider state pushed over the hub");
        await Expect(page.GetByTestId("send-rate")).Not.ToHaveTextAsync("0.0");
        await Expect(page.GetByTestId("event-rate")).Not.ToHaveTextAsync("0.0");
        await BrowserFixture.ScreenshotAsync(page, "providers-live");
        await page.Context.CloseAsync();
    }

    private Task<IPage> SignedInPageAsync(Guid organizationId, out ApiStub stub)
    {
        var token = fixture.System.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), organizationId, Roles.Owner).Token;
        var api = new ApiStub()
            .On("POST", "/v1/auth/refresh", new JsonObject { ["accessToken"] = token, ["expiresIn"] = 900 })
            .On("GET", "/v1/templates*", new JsonObject
            {
                ["items"] = new JsonArray(
                    Template("tpl_1", "Welcome"), Template("tpl_2", "Nudge"), Template("tpl_3", "Offer A"), Template("tpl_4", "Offer B")),
                ["nextCursor"] = null,
            });
        stub = api;
        return OpenAsync(api);
    }

    private async Task<IPage> OpenAsync(ApiStub stub)
    {
        var page = await fixture.NewPageAsync();
        await page.SetViewportSizeAsync(1600, 1200);
        await stub.AttachAsync(page);
        return page;
    }

    private static JsonObject Template(string id, string name) =>
        new() { ["id"] = id, ["name"] = name, ["subject"] = name, ["html"] = "<p>" + name + "</p>" };

    private static JsonObject Saved(Guid id, string status, JsonNode body)
    {
        var saved = body.AsObject();
        saved["id"] = id;
        saved["version"] = 1;
        saved["status"] = status;
        return saved;
    }
}
