using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Automator.Analytics;
using Automator.IntegrationTests.Engagement;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Engagement;
using Automator.WebApi.Identity;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// The analytics page and the canvas funnel against the real system on real PostgreSQL: a journey sends real emails,
/// a recipient opens and clicks them over HTTP, a provider reports deliveries, the rollup runs, and every figure the
/// page shows is the API's.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class AnalyticsPageTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly string[] Kinds = ["sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "goals"];

    [Fact]
    public async Task Analytics_page_shows_the_api_figures_and_the_canvas_funnel_shows_a_send_steps_counts()
    {
        var email = $"analytics-{Guid.NewGuid():N}@example.test";
        const string password = "correct horse battery staple";
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/signup");
        await page.GetByLabel("Organization name").FillAsync("Analytics Org");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByTestId("auth-submit").ClickAsync();
        await Expect(page.GetByTestId("nav-analytics")).ToBeVisibleAsync();

        // Nothing sent yet: the page says so rather than showing a blank.
        await page.GetByTestId("nav-analytics").ClickAsync();
        await Expect(page.GetByTestId("overview-empty")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("providers-empty")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("workflows-empty")).ToBeVisibleAsync();

        using var http = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        var login = await (await http.PostAsJsonAsync("/v1/auth/login", new { email, password })).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login!["accessToken"]!.GetValue<string>());
        var template = await (await http.PostAsJsonAsync("/v1/templates", new { name = "Welcome", subject = "Welcome", html = "<p>Hi</p><p><a href=\"https://shop.example.test/start\">Start</a></p>" }))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonObject>();
        var workflowId = await EngagementSystem.ActivateAsync(http, $$"""
            {
              "name": "Welcome analytics",
              "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "reentry": "never", "timeZone": "UTC" },
              "start": "welcome",
              "steps": [
                { "id": "welcome", "type": "send", "templateId": "{{template!["id"]}}", "next": "wait",
                  "variants": [ { "id": "a", "weight": 1, "subject": "Hello A" }, { "id": "b", "weight": 1, "subject": "Hello B" } ] },
                { "id": "wait", "type": "delay", "duration": "P1D", "next": null }
              ]
            }
            """);

        // Five contacts enter and are sent the welcome; three are delivered, two open (one of them by clicking).
        var addresses = Enumerable.Range(0, 5).Select(_ => $"c-{Guid.NewGuid():N}@example.test").ToList();
        foreach (var address in addresses)
        {
            await EngagementSystem.TrackAsync(http, address, "signed_up");
        }

        var emails = new List<OutboxMessage>();
        foreach (var address in addresses)
        {
            emails.Add(await Eventually.WaitAsync(() => Task.FromResult(Outbox(address)), m => m is not null, Wait, $"the email to {address}") ?? throw new InvalidOperationException());
        }

        using var recipient = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        recipient.DefaultRequestHeaders.UserAgent.ParseAdd("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15");
        (await recipient.GetAsync(emails[0].PixelUrl)).Dispose();
        (await recipient.GetAsync(emails[1].ClickUrls[0])).Dispose();
        var recorder = fixture.System.GetRequiredService<IEngagementRecorder>();
        await recorder.RecordAsync(
            emails.Take(3).Select(e => new EngagementSignal { Kind = EngagementKinds.Delivered, SendId = e.SendId, At = DateTimeOffset.UtcNow, Source = "test" }).ToList(),
            CancellationToken.None);

        // The rollup counts a send under its journey's version once the journey has recorded it.
        await Eventually.WaitAsync(() => JourneySendsAsync(workflowId), n => n == addresses.Count, Wait, "every send in the journey history");
        await Eventually.WaitAsync(() => OpenedAsync(workflowId), n => n == 2, Wait, "both opens recorded on the sends");
        await fixture.System.GetRequiredService<AnalyticsRollup>().CatchUpAsync();

        // The page's "last 7 days": up to the start of the next hour.
        var to = new DateTimeOffset(DateTimeOffset.UtcNow.Ticks / TimeSpan.TicksPerHour * TimeSpan.TicksPerHour, TimeSpan.Zero).AddHours(1);
        var query = $"from={Uri.EscapeDataString(to.AddDays(-7).ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}";
        var overview = (await http.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}"))!;
        var providers = (await http.GetFromJsonAsync<JsonObject>($"/v1/analytics/providers?{query}"))!["providers"]!.AsArray();
        var workflow = (await http.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflowId}?{query}&granularity=hour"))!;
        Assert.Equal(5, (long)overview["counts"]!["sent"]!);
        Assert.Equal(3, (long)overview["counts"]!["delivered"]!);
        Assert.Equal(2, (long)overview["counts"]!["opened"]!);
        Assert.Equal(1, (long)overview["counts"]!["clicked"]!);

        await page.GetByTestId("range-24h").ClickAsync();
        await page.GetByTestId("range-7d").ClickAsync();
        foreach (var kind in Kinds)
        {
            await Expect(page.GetByTestId($"overview-{kind}-count")).ToHaveTextAsync(Count(overview["counts"]![kind]!));
            if (kind != "sent")
            {
                await Expect(page.GetByTestId($"overview-{kind}-rate")).ToHaveTextAsync($"{Rate(overview["rates"]![kind]!)} of sent");
            }
        }

        Assert.NotEmpty(providers);
        foreach (var provider in providers)
        {
            var row = $"provider-{provider!["provider"]}";
            await Expect(page.GetByTestId($"{row}-sent")).ToHaveTextAsync(Count(provider["counts"]!["sent"]!));
            await Expect(page.GetByTestId($"{row}-opened")).ToHaveTextAsync($"{Count(provider["counts"]!["opened"]!)} ({Rate(provider["rates"]!["opened"]!)})");
        }

        await Expect(page.GetByTestId($"workflow-{workflowId}-sent")).ToHaveTextAsync(Count(workflow["counts"]!["sent"]!));
        await Expect(page.GetByTestId($"workflow-{workflowId}-clicked")).ToHaveTextAsync($"{Count(workflow["counts"]!["clicked"]!)} ({Rate(workflow["rates"]!["clicked"]!)})");
        await Expect(page.GetByTestId("overview-chart").Locator(".recharts-line")).ToHaveCountAsync(4);
        await BrowserFixture.ScreenshotAsync(page, "analytics-overview");

        // The workflow's report: each step and each variant of its send.
        await page.GetByTestId($"workflow-analytics-{workflowId}").ClickAsync();
        await Expect(page.GetByTestId("workflow-analytics-name")).ToHaveTextAsync("Welcome analytics");
        var welcome = workflow["steps"]!.AsArray().Single(s => (string)s!["stepId"]! == "welcome")!;
        foreach (var kind in new[] { "delivered", "opened", "clicked" })
        {
            await Expect(page.GetByTestId($"step-welcome-{kind}")).ToHaveTextAsync($"{Count(welcome["counts"]![kind]!)} ({Rate(welcome["rates"]![kind]!)})");
        }

        await Expect(page.GetByTestId("step-welcome-sent")).ToHaveTextAsync(Count(welcome["counts"]!["sent"]!));
        foreach (var variant in welcome["variants"]!.AsArray())
        {
            await Expect(page.GetByTestId($"variant-welcome-{variant!["variant"]}-sent")).ToHaveTextAsync(Count(variant["counts"]!["sent"]!));
        }

        await Expect(page.GetByTestId("workflow-chart").Locator(".recharts-line")).ToHaveCountAsync(4);
        await BrowserFixture.ScreenshotAsync(page, "analytics-workflow");
        await page.GetByTestId("range-granularity").SelectOptionAsync("day");
        await Expect(page.GetByTestId("workflow-chart")).ToHaveAttributeAsync("aria-label", "Sent, delivered, opened and clicked per day (UTC)");
        await Expect(page.GetByTestId("step-welcome-sent")).ToHaveTextAsync(Count(welcome["counts"]!["sent"]!));

        // The funnel on the canvas: the send step's sent, delivered, opened and clicked, beside the live counts.
        await page.GotoAsync($"/workflows/{workflowId}");
        await Expect(page.GetByTestId("passed-welcome")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("funnel-welcome")).Not.ToBeVisibleAsync();
        await page.GetByTestId("funnel-toggle").ClickAsync();
        foreach (var kind in new[] { "sent", "delivered", "opened", "clicked" })
        {
            await Expect(page.GetByTestId($"funnel-welcome-{kind}")).ToHaveTextAsync(welcome["counts"]![kind]!.ToString());
        }

        await Expect(page.GetByTestId("funnel-wait")).Not.ToBeVisibleAsync();
        await Expect(page.GetByTestId("funnel-message")).ToHaveTextAsync("Funnel: last 30 days");

        // A shorter window still holds these sends, which were made just now.
        await page.GetByTestId("funnel-window").SelectOptionAsync("24h");
        await Expect(page.GetByTestId("funnel-message")).ToHaveTextAsync("Funnel: last 24 hours");
        await Expect(page.GetByTestId("funnel-welcome-sent")).ToHaveTextAsync(welcome["counts"]!["sent"]!.ToString());
        await BrowserFixture.ScreenshotAsync(page, "canvas-funnel");
        await page.GetByTestId("funnel-toggle").ClickAsync();
        await Expect(page.GetByTestId("funnel-welcome")).Not.ToBeVisibleAsync();

        // A range with nothing in it, and a network that fails: both said in words.
        await page.GotoAsync("/analytics?from=2020-01-01&to=2020-01-02");
        await Expect(page.GetByTestId("overview-empty")).ToBeVisibleAsync();
        await Expect(page.GetByTestId($"workflow-{workflowId}-sent")).ToHaveTextAsync("0");
        await page.Context.RouteAsync("**/v1/analytics/**", route => route.AbortAsync());
        await page.ReloadAsync();
        await Expect(page.GetByTestId("overview-error")).ToContainTextAsync("could not be reached");
        await Expect(page.GetByTestId("providers-error")).ToContainTextAsync("could not be reached");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_session_without_analytics_read_is_told_so_and_a_viewer_sees_the_report()
    {
        var tokens = fixture.System.GetRequiredService<AccessTokens>();
        var organizationId = Guid.NewGuid();

        // The session comes from the refresh cookie; here its answer is a token the real API then checks on every call.
        async Task<IPage> SignedInAsync(string role)
        {
            var token = tokens.Issue(Guid.NewGuid(), organizationId, role).Token;
            var page = await fixture.NewPageAsync();
            await page.RouteAsync("**/v1/auth/refresh", route => route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 200, ContentType = "application/json", Body = new JsonObject { ["accessToken"] = token, ["expiresIn"] = 900 }.ToJsonString(),
            }));
            return page;
        }

        var stranger = await SignedInAsync("guest");
        await stranger.GotoAsync("/analytics");
        await Expect(stranger.GetByTestId("overview-error")).ToContainTextAsync("analytics:read");
        await Expect(stranger.GetByTestId("providers-error")).ToContainTextAsync("analytics:read");
        await BrowserFixture.ScreenshotAsync(stranger, "analytics-forbidden");
        await stranger.Context.CloseAsync();

        var viewer = await SignedInAsync(Roles.Viewer);
        await viewer.GotoAsync("/analytics?range=30d");
        await Expect(viewer.GetByTestId("overview-sent-count")).ToHaveTextAsync("0");
        await Expect(viewer.GetByTestId("overview-empty")).ToBeVisibleAsync();
        await Expect(viewer.GetByTestId("range-30d")).ToHaveAttributeAsync("aria-pressed", "true");
        await viewer.Context.CloseAsync();
    }

    private static string Count(JsonNode value) => ((long)value).ToString("N0", System.Globalization.CultureInfo.GetCultureInfo("en-US"));

    private static string Rate(JsonNode value) => ((double)value * 100).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "%";

    private OutboxMessage? Outbox(string to)
    {
        if (!Directory.Exists(fixture.System.OutboxPath))
        {
            return null;
        }

        foreach (var file in Directory.GetFiles(fixture.System.OutboxPath, "*.eml"))
        {
            var text = File.ReadAllText(file, Encoding.UTF8);
            if (text.Contains($"To: {to}\r\n", StringComparison.Ordinal))
            {
                // A message still being written is read again on the next look.
                try
                {
                    return OutboxMessage.Parse(text);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    return null;
                }
            }
        }

        return null;
    }

    private Task<long> JourneySendsAsync(Guid workflowId) =>
        ScalarAsync("SELECT count(*) FROM journey_events WHERE workflow_id = $1 AND kind = 'send'", workflowId);

    private Task<long> OpenedAsync(Guid workflowId) =>
        ScalarAsync("SELECT count(*) FROM email_sends WHERE workflow_id = $1 AND opened_at IS NOT NULL", workflowId);

    private async Task<long> ScalarAsync(string sql, Guid id)
    {
        await using var connection = new NpgsqlConnection(fixture.System.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = id });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
