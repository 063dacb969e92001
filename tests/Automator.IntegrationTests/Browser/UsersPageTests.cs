using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>Users and roles: invite, change role, disable; and what a role without the scope is told.</summary>
[Collection(BrowserCollection.Name)]
public sealed class UsersPageTests(BrowserFixture fixture)
{
    [Fact]
    public async Task A_user_is_invited_given_another_role_and_disabled()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        var email = $"kim-{Guid.NewGuid():N}@example.test";

        await page.GetByTestId("nav-users").ClickAsync();
        await Expect(page.GetByTestId($"user-row-{session.Email}")).ToContainTextAsync("owner");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByTestId("invite-role").SelectOptionAsync("viewer");
        await page.GetByTestId("invite-submit").ClickAsync();
        await Expect(page.GetByTestId("invite-created")).ToContainTextAsync($"{email} is invited as viewer");
        await Expect(page.GetByTestId($"user-status-{email}")).ToHaveTextAsync("invited");

        await page.GetByLabel($"Role of {email}").SelectOptionAsync("marketer");
        await Expect(page.GetByLabel($"Role of {email}")).ToHaveValueAsync("marketer");
        await page.GetByRole(AriaRole.Button, new() { Name = $"Disable {email}" }).ClickAsync();
        await Expect(page.GetByTestId($"user-status-{email}")).ToHaveTextAsync("disabled");
        await BrowserFixture.ScreenshotAsync(page, "users");

        var user = (await session.GetAsync("/v1/users"))["items"]!.AsArray().Single(u => u!["email"]!.GetValue<string>() == email)!;
        Assert.Equal("marketer", user["role"]!.GetValue<string>());
        Assert.Equal("disabled", user["status"]!.GetValue<string>());

        // The last owner cannot be demoted: the server's refusal is shown in words.
        await page.GetByLabel($"Role of {session.Email}").SelectOptionAsync("admin");
        await Expect(page.GetByTestId("users-error")).ToContainTextAsync("at least one owner");
        Assert.Equal("owner", (await session.GetAsync("/v1/users"))["items"]!.AsArray().Single(u => u!["email"]!.GetValue<string>() == session.Email)!["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_viewer_is_told_in_words_that_keys_and_invitations_are_not_for_their_role()
    {
        await using var owner = await DashboardSession.SignInAsync(fixture);
        var email = $"viewer-{Guid.NewGuid():N}@example.test";
        var invited = await owner.PostAsync("/v1/users", new JsonObject { ["email"] = email, ["role"] = "viewer" });
        using var anonymous = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        var accepted = await anonymous.PostAsJsonAsync("/v1/auth/accept-invite", new { token = invited["inviteToken"]!.GetValue<string>(), password = DashboardSession.Password });
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync());

        var page = await fixture.NewPageAsync();
        try
        {
            await DashboardSession.SignInOnPageAsync(page, email);

            await page.GetByTestId("nav-api-keys").ClickAsync();
            await Expect(page.GetByTestId("query-error").First).ToHaveTextAsync("Your role does not allow you to see the scopes.");
            await Expect(page.GetByTestId("query-error").Last).ToHaveTextAsync("Your role does not allow you to see API keys.");
            await page.GetByTestId("nav-users").ClickAsync();
            await Expect(page.GetByTestId($"user-row-{email}")).ToContainTextAsync("viewer");
            await page.GetByLabel("Email").FillAsync($"other-{Guid.NewGuid():N}@example.test");
            await page.GetByTestId("invite-submit").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Your role does not allow this.");
            await BrowserFixture.ScreenshotAsync(page, "users-viewer-refused");
            Assert.Equal(2, (await owner.GetAsync("/v1/users"))["items"]!.AsArray().Count);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }
}
