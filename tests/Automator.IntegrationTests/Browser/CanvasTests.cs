using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Automator.Live;
using Automator.Testing;
using Automator.Workflows;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// The canvas and the providers page driven as a marketer and an operator would, in real Chromium against the running
/// system on real PostgreSQL: every answer is the server's, and each test reads back what the server then holds.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class CanvasTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Marketer_builds_the_api_example_by_drag_and_drop_sees_validation_errors_on_the_node_and_live_counts_within_two_seconds()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        var templates = new List<string>();
        foreach (var name in new[] { "Welcome", "Nudge", "Offer A", "Offer B" })
        {
            templates.Add(await session.CreateTemplateAsync(name));
        }

        await page.GetByTestId("nav-workflows").ClickAsync();
        await page.GetByTestId("new-workflow").ClickAsync();
        await CanvasDriver.BuildApiExampleAsync(page, templates);
        // The weekday 09:00-18:00 window would hold the first send outside office hours: the live count must not
        // depend on when the suite runs.
        await page.GetByLabel("Only send inside a window").UncheckAsync();
        await BrowserFixture.ScreenshotAsync(page, "canvas-built");

        // The template of offerB is deleted meanwhile: the server's refusal is shown on that node.
        (await session.Api.DeleteAsync($"/v1/templates/{templates[3]}")).EnsureSuccessStatusCode();
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("errors-offerB")).ToContainTextAsync("does not exist");
        await BrowserFixture.ScreenshotAsync(page, "canvas-validation-error");
        Assert.Empty((await session.GetAsync("/v1/workflows"))["items"]!.AsArray());

        await page.GetByTestId("step-template").SelectOptionAsync(templates[2]);
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        await Expect(page.GetByTestId("errors-offerB")).ToHaveCountAsync(0);

        // The server holds the api.md example, with this organization's templates and no send window.
        var workflowId = await session.SavedWorkflowIdAsync();
        var expected = WorkflowJson.ParseValid(ApiExamples.WelcomeWorkflow
            .Replace("tpl_1", templates[0], StringComparison.Ordinal).Replace("tpl_2", templates[1], StringComparison.Ordinal)
            .Replace("tpl_3", templates[2], StringComparison.Ordinal).Replace("tpl_4", templates[2], StringComparison.Ordinal));
        expected.Settings.SendWindow = null;
        var saved = WorkflowJson.ParseValid((await session.GetAsync($"/v1/workflows/{workflowId}")).ToJsonString());
        Assert.Equal(["welcome", "wait", "opened?", "nudge", "buy", "offer", "offerA", "offerB"], saved.Layout!.Keys);
        saved.Layout = null;
        Assert.Equal(WorkflowJson.Serialize(expected), WorkflowJson.Serialize(saved));

        await page.GetByTestId("publish").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToContainTextAsync("Published version 1");
        await page.GetByTestId("activate").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("active");
        await Expect(page.GetByTestId("live-state")).ToContainTextAsync("Connected");

        var clock = Stopwatch.StartNew();
        var contactId = await TrackAsync(session, "ada@example.test", "signed_up");
        await Expect(page.GetByTestId("passed-welcome")).ToHaveTextAsync("1", new() { Timeout = 2000 });
        await Expect(page.GetByTestId("waiting-wait")).ToHaveTextAsync("1", new() { Timeout = 2000 - (float)clock.Elapsed.TotalMilliseconds });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"live counts took {clock.Elapsed}");
        await BrowserFixture.ScreenshotAsync(page, "canvas-live");

        // While live counts arrive the canvas re-measures its nodes and briefly hides them: deliver the click to the
        // node itself rather than waiting for it to be painted.
        await page.GetByTestId("step-wait").DispatchEventAsync("click");
        await page.GetByTestId("tab-journeys").ClickAsync();
        await page.GetByTestId($"journey-{contactId}").ClickAsync();
        await Expect(page.GetByTestId("timeline")).ToContainTextAsync("signed_up");
        await BrowserFixture.ScreenshotAsync(page, "canvas-journeys");
        Assert.Equal(1, (long)(await session.GetAsync($"/v1/workflows/{workflowId}/stats"))["steps"]!["wait"]!["waiting"]!);
    }

    [Fact]
    public async Task Operator_pauses_a_provider_and_sees_live_state_and_send_rate()
    {
        // Provider accounts are shared: pausing one is a platform operator's act, and operator rights wait for a
        // verified address.
        await using var session = await DashboardSession.SignInAsync(fixture, fixture.System.SecondOperatorEmail, "Operator Org");
        await using (var db = new NpgsqlConnection(fixture.System.ConnectionString))
        {
            await db.OpenAsync();
            await using var verify = new NpgsqlCommand("UPDATE users SET email_verified_at = now() WHERE lower(email) = lower(@email)", db);
            verify.Parameters.AddWithValue("email", session.Email);
            await verify.ExecuteNonQueryAsync();
        }

        var page = session.Page;
        await page.ReloadAsync();
        await page.GetByTestId("nav-providers").ClickAsync();
        var toggle = page.Locator("[data-testid^=provider-toggle-]").First;
        var name = (await toggle.GetAttributeAsync("data-testid"))!["provider-toggle-".Length..];
        await Expect(page.GetByTestId($"provider-state-{name}")).Not.ToHaveTextAsync("paused");
        await toggle.ClickAsync();
        await Expect(page.GetByTestId($"provider-state-{name}")).ToHaveTextAsync("paused");
        Assert.Equal("paused", await ProviderStateAsync(session, name));
        await BrowserFixture.ScreenshotAsync(page, "providers-paused");
        await toggle.ClickAsync();
        await Expect(page.GetByTestId($"provider-state-{name}")).Not.ToHaveTextAsync("paused");
        Assert.NotEqual("paused", await ProviderStateAsync(session, name));

        // Pushed over the hub: a state change, and sends and events per second.
        var live = fixture.System.GetRequiredService<ILiveEvents>();
        await Eventually.WaitAsync(async () =>
        {
            live.ProviderStateChanged(session.OrganizationId, name, "degraded");
            for (var i = 0; i < 50; i++)
            {
                live.SendRecorded(session.OrganizationId, name);
                live.EventsIngested(session.OrganizationId, 3);
            }

            return await page.GetByTestId($"provider-state-{name}").TextContentAsync();
        }, state => state == "degraded", TimeSpan.FromSeconds(10), "the provider state pushed over the hub");
        await Expect(page.GetByTestId("send-rate")).Not.ToHaveTextAsync("0.0");
        await Expect(page.GetByTestId("event-rate")).Not.ToHaveTextAsync("0.0");
        await BrowserFixture.ScreenshotAsync(page, "providers-live");
    }

    private static async Task<string> ProviderStateAsync(DashboardSession session, string name)
    {
        // Operator rights are read at sign-in: a fresh token for the verified address.
        var login = await (await session.Api.PostAsJsonAsync("/v1/auth/login", new { email = session.Email, password = DashboardSession.Password }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/providers");
        request.Headers.Authorization = new("Bearer", login!["accessToken"]!.GetValue<string>());
        var providers = await (await session.Api.SendAsync(request)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        return providers!["items"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == name)!["state"]!.GetValue<string>();
    }

    private static async Task<Guid> TrackAsync(DashboardSession session, string email, string name) =>
        (await session.PostAsync("/v1/events", new JsonObject { ["email"] = email, ["name"] = name }))["contactId"]!.GetValue<Guid>();
}
