using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The dashboard's whole flow against the real system on real PostgreSQL: nothing stubbed.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FullFlowTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Sign_up_build_publish_activate_send_an_event_see_the_count_move_and_pause_a_provider()
    {
        // Pausing a provider is a platform operator's act: the owner signing up here is one.
        var email = fixture.System.OperatorEmail;
        const string password = "correct horse battery staple";
        var page = await fixture.NewPageAsync();
        await page.SetViewportSizeAsync(1600, 1200);

        await page.GotoAsync("/signup");
        await page.GetByLabel("Organization name").FillAsync("Full Flow Org");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByTestId("auth-submit").ClickAsync();
        await Expect(page.GetByTestId("nav-workflows")).ToBeVisibleAsync();

        using var http = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        var login = await (await http.PostAsJsonAsync("/v1/auth/login", new { email, password })).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login!["accessToken"]!.GetValue<string>());
        var templateIds = new List<string>();
        foreach (var templateName in new[] { "Welcome", "Nudge", "Offer A", "Offer B" })
        {
            var created = await (await http.PostAsJsonAsync("/v1/templates", new { name = templateName, subject = templateName, html = "<p>{{ contact.firstName | default: \"there\" }}</p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a>" }))
                .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
            templateIds.Add(created!["id"]!.ToString());
        }

        await page.GetByTestId("new-workflow").ClickAsync();
        await CanvasDriver.BuildApiExampleAsync(page, templateIds);

        // The example's weekday 09:00-18:00 window would hold the first send outside office hours: the live count
        // must not depend on when the suite runs.
        await page.GetByLabel("Only send inside a window").UncheckAsync();
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        await page.GetByTestId("publish").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToContainTextAsync("Published");
        await page.GetByTestId("activate").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("active");
        await Expect(page.GetByTestId("live-state")).ToContainTextAsync("Connected");
        await BrowserFixture.ScreenshotAsync(page, "full-flow-active");

        var clock = Stopwatch.StartNew();
        (await http.PostAsJsonAsync("/v1/events", new { email = "ada@example.test", name = "signed_up" })).EnsureSuccessStatusCode();
        await Expect(page.GetByTestId("passed-welcome")).ToHaveTextAsync("1", new() { Timeout = 2000 });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"the count moved after {clock.Elapsed}");
        await BrowserFixture.ScreenshotAsync(page, "full-flow-live-count");

        // Operator rights wait for a verified address: verify it, then reload so the page's session is refreshed.
        await using (var db = new NpgsqlConnection(fixture.System.ConnectionString))
        {
            await db.OpenAsync();
            await using var verify = new NpgsqlCommand("UPDATE users SET email_verified_at = now() WHERE lower(email) = lower(@email)", db);
            verify.Parameters.AddWithValue("email", email);
            await verify.ExecuteNonQueryAsync();
        }

        await page.ReloadAsync();
        await page.GetByTestId("nav-providers").ClickAsync();
        var firstToggle = page.Locator("[data-testid^=provider-toggle-]").First;
        var name = (await firstToggle.GetAttributeAsync("data-testid"))!["provider-toggle-".Length..];
        await firstToggle.ClickAsync();
        await Expect(page.GetByTestId($"provider-state-{name}")).ToHaveTextAsync("paused");
        await BrowserFixture.ScreenshotAsync(page, "full-flow-provider-paused");
        var providers = await http.GetFromJsonAsync<JsonObject>("/v1/providers");
        Assert.Equal("paused", providers!["items"]!.AsArray().Single(p => p!["name"]!.ToString() == name)!["state"]!.ToString());
        await page.Locator($"[data-testid=provider-toggle-{name}]").ClickAsync();
        await Expect(page.GetByTestId($"provider-state-{name}")).Not.ToHaveTextAsync("paused");
    }
}
