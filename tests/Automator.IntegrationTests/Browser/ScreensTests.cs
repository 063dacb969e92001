using System.Text.Json.Nodes;
using Automator.Live;
using Automator.WebApi.Identity;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>The workflows list and the template editor, with REST answered by <see cref="ApiStub"/> and the hub real.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ScreensTests(BrowserFixture fixture)
{
    [Fact]
    public async Task Workflows_list_shows_status_and_active_counts_that_move_live()
    {
        var organizationId = Guid.NewGuid();
        var workflowId = Guid.NewGuid();
        var page = await OpenSignedInAsync(organizationId, stub => stub
            .On("GET", "/v1/workflows", new JsonObject
            {
                ["items"] = new JsonArray(new JsonObject { ["id"] = workflowId, ["name"] = "Welcome series", ["status"] = "active", ["version"] = 3 }),
                ["nextCursor"] = null,
            })
            .On("GET", $"/v1/workflows/{workflowId}/stats", new JsonObject { ["entered"] = 10, ["active"] = 4, ["completed"] = 6, ["steps"] = new JsonObject() }));

        await page.GotoAsync("/workflows");
        await Expect(page.GetByTestId($"workflow-active-{workflowId}")).ToHaveTextAsync("4");
        await Expect(page.GetByTestId($"workflow-row-{workflowId}")).ToContainTextAsync("active");

        var live = fixture.System.GetRequiredService<ILiveEvents>();
        live.JourneyMoved(organizationId, workflowId, "j-1", Guid.NewGuid(), null, "welcome", DateTimeOffset.UtcNow);
        live.JourneyMoved(organizationId, workflowId, "j-2", Guid.NewGuid(), null, "welcome", DateTimeOffset.UtcNow);
        await Expect(page.GetByTestId($"workflow-active-{workflowId}")).ToHaveTextAsync("6", new() { Timeout = 5000 });
        await BrowserFixture.ScreenshotAsync(page, "workflows-list");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Template_editor_saves_and_renders_a_liquid_preview_for_a_chosen_contact()
    {
        var contactId = Guid.NewGuid();
        ApiStub? api = null;
        var page = await OpenSignedInAsync(Guid.NewGuid(), stub => (api = stub)
            .On("POST", "/v1/templates", new JsonObject { ["id"] = "tpl_new", ["name"] = "Welcome", ["subject"] = "Hi", ["html"] = "<p>Hi</p>" }, status: 201)
            .On("GET", "/v1/templates/tpl_new", new JsonObject { ["id"] = "tpl_new", ["name"] = "Welcome", ["subject"] = "Welcome, {{ contact.firstName }}", ["html"] = "<p>Hi {{ contact.firstName }}</p>" })
            .On("POST", "/v1/templates/tpl_new/preview", new JsonObject { ["subject"] = "Welcome, Ada", ["html"] = "<p>Hi Ada</p>", ["text"] = "Hi Ada" }));

        await page.GotoAsync("/templates/new");
        await page.GetByLabel("Name").FillAsync("Welcome");
        await page.GetByLabel("Subject (Liquid)").FillAsync("Welcome, {{ contact.firstName }}");
        await page.GetByLabel("HTML body (Liquid)").FillAsync("<p>Hi {{ contact.firstName }}</p>");
        await page.GetByTestId("template-save").ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/templates/tpl_new$"));
        await page.GetByLabel("Contact (email or id)").FillAsync(contactId.ToString());
        await page.GetByTestId("preview-run").ClickAsync();

        await Expect(page.GetByTestId("preview-subject")).ToHaveTextAsync("Welcome, Ada");
        var preview = api!.Requests.Last(r => r.Path == "/v1/templates/tpl_new/preview").Body!;
        Assert.Equal(contactId.ToString(), preview["contactId"]!.ToString());
        var created = api.Requests.Single(r => r.Method == "POST" && r.Path == "/v1/templates").Body!;
        Assert.Equal("Welcome, {{ contact.firstName }}", created["subject"]!.ToString());
        await BrowserFixture.ScreenshotAsync(page, "template-preview");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Template_editor_suggests_subject_lines_for_the_saved_template_and_uses_the_chosen_one()
    {
        ApiStub? api = null;
        var page = await OpenSignedInAsync(Guid.NewGuid(), stub => (api = stub)
            .On("GET", "/v1/templates/tpl_ai", new JsonObject { ["id"] = "tpl_ai", ["name"] = "Sale", ["subject"] = "Spring sale", ["html"] = "<p>Hi {{ contact.firstName }}</p>" })
            .On("POST", "/v1/ai/subject-lines", new JsonObject
            {
                ["variants"] = new JsonArray(
                    new JsonObject { ["subject"] = "Spring boots, 20% off", ["rationale"] = "Leads with the offer." },
                    new JsonObject { ["subject"] = "{{ contact.firstName }}, your spring pick", ["rationale"] = "Personal." }),
                ["provider"] = "local",
            }));

        await page.GotoAsync("/templates/tpl_ai");
        await Expect(page.GetByTestId("template-subject")).ToHaveValueAsync("Spring sale");
        await page.GetByTestId("ai-brief").FillAsync("Boots for spring walks");
        await page.GetByTestId("ai-subject-lines").ClickAsync();
        await Expect(page.GetByTestId("ai-subject-results")).ToContainTextAsync("Leads with the offer.");
        await page.GetByTestId("ai-subject-results").GetByRole(AriaRole.Button, new() { Name = "Use" }).Nth(1).ClickAsync();

        await Expect(page.GetByTestId("template-subject")).ToHaveValueAsync("{{ contact.firstName }}, your spring pick");
        var asked = api!.Requests.Single(r => r.Path == "/v1/ai/subject-lines").Body!;
        Assert.Equal("tpl_ai", asked["templateId"]!.ToString());
        Assert.Equal("Boots for spring walks", asked["brief"]!.ToString());
        Assert.Equal(3, (int)asked["count"]!);
        await page.Context.CloseAsync();
    }

    private async Task<IPage> OpenSignedInAsync(Guid organizationId, Action<ApiStub> configure)
    {
        var token = fixture.System.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), organizationId, Roles.Marketer).Token;
        var stub = new ApiStub()
            .On("POST", "/v1/auth/refresh", new JsonObject { ["accessToken"] = token, ["expiresIn"] = 900 })
            .On("GET", "/v1/templates*", new JsonObject { ["items"] = new JsonArray(), ["nextCursor"] = null });
        configure(stub);
        var page = await fixture.NewPageAsync();
        await stub.AttachAsync(page);
        return page;
    }
}
