using Microsoft.Playwright;

namespace Automator.IntegrationTests.Browser;

[Collection(BrowserCollection.Name)]
public sealed class SignUpPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task The_web_UI_loads_and_the_sign_up_form_is_labelled_and_usable_from_the_keyboard()
    {
        var page = await fixture.NewPageAsync();

        var response = await page.GotoAsync("/signup");
        await page.GetByTestId("signup-form").WaitForAsync();

        Assert.Equal(200, response!.Status);
        Assert.Equal("Automator", await page.TitleAsync());
        var organization = page.GetByLabel("Organization name");
        var email = page.GetByLabel("Email");
        var password = page.GetByLabel("Password");
        await organization.FocusAsync();
        await page.Keyboard.TypeAsync("Browser Test Org");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("owner@example.test");
        await page.Keyboard.PressAsync("Tab");
        await page.Keyboard.TypeAsync("correct horse battery staple");
        Assert.Equal("Browser Test Org", await organization.InputValueAsync());
        Assert.Equal("owner@example.test", await email.InputValueAsync());
        Assert.Equal("correct horse battery staple", await password.InputValueAsync());
        Assert.Equal("email", await email.GetAttributeAsync("type"));
        Assert.Equal("password", await password.GetAttributeAsync("type"));
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("auth-submit", await page.EvaluateAsync<string>("document.activeElement?.dataset.testid ?? ''"));
        await BrowserFixture.ScreenshotAsync(page, "signup-filled");

        await page.Keyboard.PressAsync("Enter");

        // Submitting reaches the API: either the account exists and the app opens, or the API's answer is shown.
        await page.Locator("[data-testid=nav-workflows], [data-testid=auth-error]").First.WaitForAsync();
        await BrowserFixture.ScreenshotAsync(page, "signup-submitted");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Client_routes_serve_the_app_and_server_routes_stay_server_routes()
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };

        var root = await http.GetStringAsync("/");
        var deepLink = await http.GetStringAsync("/workflows/some-id");
        var unknownApi = await http.GetAsync("/v1/no-such-route");
        var health = await http.GetAsync("/health/live");
        var openApi = await http.GetAsync("/openapi/v1.json");
        var hub = await http.PostAsync("/hubs/live/negotiate?negotiateVersion=1", null);
        var metrics = await http.GetAsync("/metrics");
        var orleans = await http.GetStringAsync("/orleans");

        Assert.Contains("<div id=\"root\">", root, StringComparison.Ordinal);
        Assert.Contains("<div id=\"root\">", deepLink, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknownApi.StatusCode);
        Assert.DoesNotContain("text/html", unknownApi.Content.Headers.ContentType?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, openApi.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, hub.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, metrics.StatusCode);
        Assert.DoesNotContain("/assets/index-", orleans, StringComparison.Ordinal);
    }
}
