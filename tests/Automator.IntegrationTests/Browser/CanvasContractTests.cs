using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Workflows;
using Microsoft.Playwright;
using Npgsql;
using static Microsoft.Playwright.Assertions;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// What the canvas sends is what the server accepts and keeps: each test uses a control of the canvas against the real
/// API on real PostgreSQL and reads back what the server then holds.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class CanvasContractTests(BrowserFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Reentry_after_a_period_is_saved_in_the_servers_shape_and_read_back_into_the_form()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        await OpenNewCanvasWithOneDelayAsync(page);
        await page.GetByTestId("open-settings").ClickAsync();
        await page.GetByLabel("Re-entry", new() { Exact = true }).SelectOptionAsync("after");
        await page.GetByTestId("settings-reentry-after-amount").FillAsync("7");

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var id = await session.SavedWorkflowIdAsync();
        var saved = await session.GetAsync($"/v1/workflows/{id}");
        Assert.Equal("""{"after":"P7D"}""", saved["settings"]!["reentry"]!.ToJsonString());

        await page.ReloadAsync();
        await page.GetByTestId("open-settings").ClickAsync();
        await Expect(page.GetByLabel("Re-entry", new() { Exact = true })).ToHaveValueAsync("after");
        await Expect(page.GetByTestId("settings-reentry-after-amount")).ToHaveValueAsync("7");
        await Expect(page.GetByTestId("settings-reentry-after-unit")).ToHaveValueAsync("D");
    }

    [Fact]
    public async Task Webhook_trigger_shows_its_secret_once_and_a_request_signed_with_it_enrolls_the_contact()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        await OpenNewCanvasWithOneDelayAsync(page);
        await page.GetByTestId("open-trigger").ClickAsync();
        await page.GetByLabel("Start a journey when").SelectOptionAsync("webhook");

        // A secret of its own must be long enough: the server's refusal is shown on the trigger's field.
        await page.GetByTestId("trigger-secret").FillAsync("too-short");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("trigger-secret-error")).ToContainTextAsync("16 characters");

        // Left empty, the server makes one and answers it once.
        await page.GetByTestId("trigger-secret").FillAsync("");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var secret = (await page.GetByTestId("webhook-secret-value").TextContentAsync())!.Trim();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        var id = await session.SavedWorkflowIdAsync();
        await Expect(page.GetByTestId("webhook-url")).ToHaveTextAsync($"{fixture.System.BaseUrl}/hooks/workflows/{session.OrganizationId}/{id}");
        await BrowserFixture.ScreenshotAsync(page, "canvas-webhook-secret");

        // Saved again (as the canvas always saves what it read), the trigger keeps its secret.
        await page.GetByTestId("workflow-name").FillAsync("Inbound leads");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        Assert.Null((await session.GetAsync($"/v1/workflows/{id}"))["trigger"]!["secret"]);
        await page.GetByTestId("publish").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToContainTextAsync("Published version 1");
        await page.GetByTestId("activate").ClickAsync();
        await Expect(page.GetByTestId("workflow-status")).ToHaveTextAsync("active");

        using var hooks = new HttpClient { BaseAddress = new Uri(fixture.System.BaseUrl) };
        Assert.Equal(HttpStatusCode.Accepted, (await PostHookAsync(hooks, session.OrganizationId, id, secret, "lead@example.test")).StatusCode);
        await Eventually.WaitAsync(async () => (long)(await session.GetAsync($"/v1/workflows/{id}/stats"))["entered"]!, n => n == 1, Wait, "the signed request's contact entering");

        // After a reload the secret is not shown again; rotating shows a new one and the old one stops verifying.
        await page.ReloadAsync();
        await page.GetByTestId("open-trigger").ClickAsync();
        await Expect(page.GetByTestId("webhook-secret-value")).ToHaveCountAsync(0);
        await page.GetByTestId("webhook-secret-rotate").ClickAsync();
        await Expect(page.GetByTestId("webhook-secret-value")).ToHaveTextAsync(new Regex("^whsec_"));
        var rotated = (await page.GetByTestId("webhook-secret-value").TextContentAsync())!.Trim();
        Assert.NotEqual(secret, rotated);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostHookAsync(hooks, session.OrganizationId, id, secret, "late@example.test")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await PostHookAsync(hooks, session.OrganizationId, id, rotated, "late@example.test")).StatusCode);
    }

    [Fact]
    public async Task Webhook_step_body_is_saved_as_a_json_object_and_invalid_json_is_refused_inline()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "webhook", "notify", 40, 20);
        await page.GetByLabel("URL").FillAsync("https://crm.example.test/hooks/lead");
        var body = page.GetByLabel("Body");
        await body.FillAsync("""{ "email": "{{ contact.email }}", "score": 3, "tags": ["lead"] }""");
        await body.BlurAsync();
        await Expect(page.GetByTestId("webhook-body-error")).ToHaveCountAsync(0);

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var id = await session.SavedWorkflowIdAsync();
        var step = (await session.GetAsync($"/v1/workflows/{id}"))["steps"]![0]!;
        Assert.Equal("""{"email":"{{ contact.email }}","score":3,"tags":["lead"]}""", step["body"]!.ToJsonString());

        // Broken JSON is named under the field and never leaves the browser: the server keeps the last good body.
        await body.FillAsync("""{ "email": """);
        await body.BlurAsync();
        await Expect(page.GetByTestId("webhook-body-error")).ToContainTextAsync("JSON");
        await Expect(body).ToHaveAttributeAsync("aria-invalid", "true");
        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("workflow-errors")).ToContainTextAsync("notify");
        step = (await session.GetAsync($"/v1/workflows/{id}"))["steps"]![0]!;
        Assert.Equal("{{ contact.email }}", step["body"]!["email"]!.GetValue<string>());
    }

    [Fact]
    public async Task Node_positions_are_stored_with_the_draft_and_its_versions_and_restored_on_load()
    {
        await using var session = await DashboardSession.SignInAsync(fixture);
        var page = session.Page;
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "delay", "first", 40, 20);
        await CanvasDriver.AddStepAsync(page, "delay", "second", 420, 260);
        await CanvasDriver.ConnectAsync(page, "first", "next", "second");

        // Moved by hand away from where any automatic layout would put it.
        var node = page.Locator(".react-flow__node[data-id='second']");
        var box = (await node.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + 30, box.Y + 20);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(box.X + 90, box.Y + 70, new() { Steps = 8 });
        await page.Mouse.MoveAsync(box.X + 130, box.Y + 120, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        var moved = await PositionAsync(page, "second");

        await page.GetByTestId("save-draft").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToHaveTextAsync("Draft saved");
        var id = await session.SavedWorkflowIdAsync();
        var layout = (await session.GetAsync($"/v1/workflows/{id}"))["layout"]!.AsObject();
        Assert.Equal(["first", "second"], layout.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(moved, (layout["second"]!["x"]!.GetValue<double>(), layout["second"]!["y"]!.GetValue<double>()));
        Assert.Equal(await PositionAsync(page, "first"), (layout["first"]!["x"]!.GetValue<double>(), layout["first"]!["y"]!.GetValue<double>()));

        await page.ReloadAsync();
        await Expect(page.Locator(".react-flow__node[data-id='second']")).ToBeVisibleAsync();
        Assert.Equal(moved, await PositionAsync(page, "second"));

        await page.GetByTestId("publish").ClickAsync();
        await Expect(page.GetByTestId("canvas-message")).ToContainTextAsync("Published version 1");
        await using var db = new NpgsqlConnection(fixture.System.ConnectionString);
        await db.OpenAsync();
        await using var read = new NpgsqlCommand("SELECT definition->'layout'->'second'->>'x', definition->'layout'->'second'->>'y' FROM workflow_versions WHERE workflow_id = @id AND version = 1", db);
        read.Parameters.AddWithValue("id", id);
        await using var row = await read.ExecuteReaderAsync();
        Assert.True(await row.ReadAsync(), "version 1 is stored");
        Assert.Equal(moved, (double.Parse(row.GetString(0), CultureInfo.InvariantCulture), double.Parse(row.GetString(1), CultureInfo.InvariantCulture)));

        // The API's document describes the field.
        var document = JsonNode.Parse(await session.Api.GetStringAsync("/openapi/v1.json"))!;
        foreach (var (path, method) in new[] { ("/v1/workflows", "post"), ("/v1/workflows/{id}", "put") })
        {
            var schema = Resolve(document, document["paths"]![path]![method]!["requestBody"]!["content"]!["application/json"]!["schema"]!);
            var field = schema["properties"]?["layout"];
            Assert.True(field?["description"]?.GetValue<string>().Contains("finite", StringComparison.Ordinal) == true, $"{method} {path}: {schema.ToJsonString()[..Math.Min(3000, schema.ToJsonString().Length)]}");
        }
    }

    private static JsonNode Resolve(JsonNode document, JsonNode schema) =>
        schema["$ref"] is { } reference ? document["components"]!["schemas"]![reference.GetValue<string>().Split('/')[^1]]! : schema;

    /// <summary>A node's position on the canvas, read from the transform React Flow gives it.</summary>
    public static async Task<(double X, double Y)> PositionAsync(IPage page, string stepId)
    {
        var transform = await page.Locator($".react-flow__node[data-id='{stepId}']").EvaluateAsync<string>("n => n.style.transform");
        var m = Translate().Match(transform);
        Assert.True(m.Success, transform);
        return (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    private static async Task OpenNewCanvasWithOneDelayAsync(IPage page)
    {
        await CanvasDriver.OpenNewWorkflowAsync(page);
        await CanvasDriver.AddStepAsync(page, "delay", "wait", 40, 20);
    }

    private static Task<HttpResponseMessage> PostHookAsync(HttpClient client, Guid organizationId, Guid workflowId, string secret, string email)
    {
        var body = new JsonObject { ["email"] = email }.ToJsonString();
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, $"/hooks/workflows/{organizationId}/{workflowId}")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(WorkflowWebhookEndpoints.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WorkflowWebhookEndpoints.SignatureHeader, WorkflowWebhookEndpoints.Sign(secret, timestamp, body));
        return client.SendAsync(request);
    }

    [GeneratedRegex(@"translate\((-?[\d.]+)px,\s*(-?[\d.]+)px\)")]
    private static partial Regex Translate();
}
