using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// A new organization on the running system, its owner signed in on the sign-in page of a fresh browser context, and
/// an HTTP client signed in as the same user to set up data and to read what the server holds afterwards.
/// </summary>
public sealed class DashboardSession : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";

    private DashboardSession(IPage page, HttpClient api, Guid organizationId, string email)
    {
        Page = page;
        Api = api;
        OrganizationId = organizationId;
        Email = email;
    }

    public IPage Page { get; }

    /// <summary>The API as the signed-in user.</summary>
    public HttpClient Api { get; }

    public Guid OrganizationId { get; }

    public string Email { get; }

    /// <summary>Signs up an organization over the API, then signs in on the sign-in page.</summary>
    public static async Task<DashboardSession> SignInAsync(BrowserFixture fixture, string? email = null, string organizationName = "Browser Org")
    {
        email ??= $"owner-{Guid.NewGuid():N}@example.test";
        var api = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        var signup = await api.PostAsJsonAsync("/v1/auth/signup", new { organizationName, email, password = Password });
        var created = JsonNode.Parse(await signup.Content.ReadAsStringAsync())!.AsObject();
        Assert.True(signup.IsSuccessStatusCode, created.ToJsonString());
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created["accessToken"]!.GetValue<string>());

        var page = await fixture.NewPageAsync();
        await SignInOnPageAsync(page, email);
        return new DashboardSession(page, api, created["organization"]!["id"]!.GetValue<Guid>(), email);
    }

    /// <summary>Signs a user with <see cref="Password"/> in on the sign-in page and waits for the navigation.</summary>
    public static async Task SignInOnPageAsync(IPage page, string email)
    {
        await page.GotoAsync("/login");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByTestId("auth-submit").ClickAsync();
        await Expect(page.GetByTestId("nav-workflows")).ToBeVisibleAsync();
    }

    public async Task<string> CreateTemplateAsync(string name, string? subject = null, string html = "<p>Hi {{ contact.firstName | default: \"there\" }}</p>")
    {
        var created = await PostAsync("/v1/templates", new JsonObject { ["name"] = name, ["subject"] = subject ?? name, ["html"] = html });
        return created["id"]!.GetValue<string>();
    }

    public async Task<JsonObject> GetAsync(string path)
    {
        var response = await Api.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    public async Task<JsonObject> PostAsync(string path, JsonNode? body = null)
    {
        var response = await Api.PostAsync(path, new StringContent(body?.ToJsonString() ?? "{}", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Creates a draft workflow over the API; returns its id.</summary>
    public async Task<Guid> CreateWorkflowAsync(string definitionJson) =>
        (await PostAsync("/v1/workflows", JsonNode.Parse(definitionJson)))["id"]!.GetValue<Guid>();

    /// <summary>The id in the canvas address once the draft is saved (<c>/workflows/{id}</c>).</summary>
    public async Task<Guid> SavedWorkflowIdAsync()
    {
        await Expect(Page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/workflows/[0-9a-f-]{36}$"));
        return Guid.Parse(Page.Url[^36..]);
    }

    public async ValueTask DisposeAsync()
    {
        await Page.Context.CloseAsync();
        Api.Dispose();
    }
}
