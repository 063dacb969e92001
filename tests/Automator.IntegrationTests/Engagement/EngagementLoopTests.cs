using System.Buffers.Text;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Engagement;

namespace Automator.IntegrationTests.Engagement;

/// <summary>
/// The engagement loop from the recipient's side, over real HTTP on real PostgreSQL: every URL is taken out of the
/// message the system wrote, never built by hand.
/// </summary>
public sealed class EngagementLoopTests(EngagementSystem system) : IClassFixture<EngagementSystem>
{
    private const string Landing = "https://shop.example.test/welcome?utm=mail";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string Welcome(Guid template, string extraSettings = "", string after = "null") => $$"""
        {
          "name": "Welcome",
          "trigger": { "type": "event", "event": "signed_up" },
          "settings": { "reentry": "never", "timeZone": "UTC"{{extraSettings}} },
          "start": "welcome",
          "steps": [
            { "id": "welcome", "type": "send", "templateId": "{{template}}", "next": {{after}} }{{(after == "null" ? "" : """, { "id": "wait", "type": "delay", "duration": "P1D", "next": null }""")}}
          ]
        }
        """;

    private async Task<(HttpClient Client, Guid Workflow, Guid Contact, OutboxMessage Email, string Address)> WelcomedAsync(string extraSettings = "", string after = "null")
    {
        var (_, client) = await system.TenantAsync();
        var template = await EngagementSystem.CreateTemplateAsync(client, "Welcome", $"<p>Hi {{{{ contact.firstName | default: \"there\" }}}}</p><p><a href=\"{Landing}\">Start</a></p>");
        var workflow = await EngagementSystem.ActivateAsync(client, Welcome(template, extraSettings, after));
        var address = $"r-{Guid.NewGuid():N}@example.test";
        var contact = await EngagementSystem.TrackAsync(client, address, "signed_up");
        var email = await system.EmailAsync(address);
        return (client, workflow, contact, email, address);
    }

    [Fact]
    public async Task The_pixel_records_the_open_on_its_send_emits_email_opened_and_counts_machine_fetches_apart()
    {
        var (client, workflow, contact, email, _) = await WelcomedAsync();

        using var pixel = await system.Recipient.GetAsync(email.PixelUrl);
        Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        Assert.Equal("image/gif", pixel.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-store", pixel.Headers.CacheControl?.ToString());
        Assert.Equal(TrackingEndpoints.Pixel, await pixel.Content.ReadAsByteArrayAsync());

        var send = await EngagementSystem.SendAsync(client, contact);
        Assert.NotNull(send["openedAt"]);
        Assert.Equal(1, (int)send["opens"]!);
        Assert.Equal(1, (int)send["uniqueOpens"]!);
        var timeline = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}/timeline"),
            t => t!["items"]!.AsArray().Any(i => i!.ToJsonString().Contains("email.opened", StringComparison.Ordinal)), Wait, "email.opened on the timeline");
        Assert.Contains(send["sendKey"]!.GetValue<string>(), timeline!.ToJsonString(), StringComparison.Ordinal);

        using (await system.Recipient.GetAsync(email.PixelUrl))
        {
        }

        using (var head = new HttpRequestMessage(HttpMethod.Head, email.PixelUrl))
        using (await system.Recipient.SendAsync(head))
        {
        }

        using (var scanner = new HttpRequestMessage(HttpMethod.Get, email.PixelUrl))
        {
            scanner.Headers.UserAgent.ParseAdd("Barracuda-LinkProtect/1.0");
            using var _ = await system.Recipient.SendAsync(scanner);
        }

        send = await EngagementSystem.SendAsync(client, contact);
        Assert.Equal(2, (int)send["opens"]!);
        Assert.Equal(1, (int)send["uniqueOpens"]!);
        Assert.Equal(2, (int)send["machineOpens"]!);

        var stats = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{workflow}/stats"), s => (long)s!["steps"]!["welcome"]!["opened"]! >= 1, Wait, "the step's open count");
        Assert.Equal(1, (long)stats!["steps"]!["welcome"]!["opened"]!);
    }

    [Fact]
    public async Task A_click_redirects_only_to_the_signed_url_records_it_and_raises_the_engagement_score()
    {
        var (client, workflow, contact, email, _) = await WelcomedAsync();
        var link = Assert.Single(email.ClickUrls);

        using var click = await system.Recipient.GetAsync(link);
        Assert.Equal(HttpStatusCode.Found, click.StatusCode);
        Assert.Equal(Landing, click.Headers.Location?.OriginalString);

        using (var scanner = new HttpRequestMessage(HttpMethod.Get, link))
        {
            scanner.Headers.UserAgent.ParseAdd("Mozilla/5.0 (compatible; proofpoint url defense)");
            using var scanned = await system.Recipient.SendAsync(scanner);
            Assert.Equal(HttpStatusCode.Found, scanned.StatusCode);
        }

        var send = await EngagementSystem.SendAsync(client, contact);
        Assert.Equal(1, (int)send["clicks"]!);
        Assert.Equal(1, (int)send["uniqueClicks"]!);
        Assert.Equal(1, (int)send["machineClicks"]!);
        Assert.NotNull(send["clickedAt"]);
        Assert.NotNull(send["openedAt"]);

        var timeline = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}/timeline"),
            t => t!["items"]!.AsArray().Any(i => i!.ToJsonString().Contains("email.clicked", StringComparison.Ordinal)), Wait, "email.clicked on the timeline");
        Assert.Contains("shop.example.test", timeline!.ToJsonString(), StringComparison.Ordinal);

        // A click is an open the pixel missed: one of each, once.
        var stats = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{workflow}/stats"), s => (long)s!["steps"]!["welcome"]!["clicked"]! >= 1, Wait, "the step's click count");
        Assert.Equal(1, (long)stats!["steps"]!["welcome"]!["opened"]!);

        var profile = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}");
        Assert.Equal(EngagementScore.Score(EngagementScore.ClickWeight, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow), (int)profile!["engagementScore"]!);
    }

    [Fact]
    public async Task A_tampered_or_misused_token_of_each_kind_is_a_404_that_records_nothing()
    {
        var (client, _, contact, email, _) = await WelcomedAsync();
        var link = Assert.Single(email.ClickUrls);
        var forged = Reclaim(link, "https://evil.example.test/phish");

        var attempts = new List<HttpRequestMessage>
        {
            new(HttpMethod.Get, Tamper(email.PixelUrl.Replace(".gif", "", StringComparison.Ordinal)) + ".gif"),
            new(HttpMethod.Get, Tamper(link)),
            new(HttpMethod.Get, forged),
            new(HttpMethod.Get, Tamper(email.UnsubscribeUrl)),
            new(HttpMethod.Post, Tamper(email.UnsubscribeUrl)) { Content = new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]) },
            // A valid token at the wrong door.
            new(HttpMethod.Get, link.Replace("/t/c/", "/t/o/", StringComparison.Ordinal) + ".gif"),
            new(HttpMethod.Get, email.UnsubscribeUrl.Replace("/u/", "/t/c/", StringComparison.Ordinal)),
            new(HttpMethod.Post, link.Replace("/t/c/", "/u/", StringComparison.Ordinal)) { Content = new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]) },
            new(HttpMethod.Get, "/t/c/not-a-token"),
            new(HttpMethod.Get, "/u/%E2%80%AE."),
        };
        foreach (var attempt in attempts)
        {
            using var response = await system.Recipient.SendAsync(attempt);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{attempt.Method} {attempt.RequestUri}: {response.StatusCode}");
            Assert.Null(response.Headers.Location);
        }

        var send = await EngagementSystem.SendAsync(client, contact);
        Assert.Equal(0, (int)send["opens"]!);
        Assert.Equal(0, (int)send["clicks"]!);
        Assert.Equal(0L, await system.EngagementRowsAsync(email.SendId));
        var profile = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}");
        Assert.Equal("active", (string?)profile!["status"]);
    }

    [Fact]
    public async Task The_unsubscribe_page_leaves_the_contact_subscribed_one_click_unsubscribes_and_the_next_send_is_suppressed()
    {
        var (client, _, contact, email, address) = await WelcomedAsync();
        Assert.Equal("List-Unsubscribe=One-Click", email.Header("List-Unsubscribe-Post"));

        using (var page = await system.Recipient.GetAsync(email.UnsubscribeUrl))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var html = await page.Content.ReadAsStringAsync();
            Assert.Contains("<form method=\"post\">", html, StringComparison.Ordinal);
            Assert.Contains("@example.test", html, StringComparison.Ordinal);
            Assert.DoesNotContain(address, html, StringComparison.Ordinal);
        }

        Assert.Equal("active", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}"))!["status"]);

        for (var i = 0; i < 2; i++)
        {
            using var oneClick = await system.Recipient.PostAsync(email.UnsubscribeUrl, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]));
            Assert.Equal(HttpStatusCode.OK, oneClick.StatusCode);
        }

        var profile = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}");
        Assert.Equal("unsubscribed", (string?)profile!["status"]);
        var export = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}/export");
        Assert.Contains("\"unsubscribeSource\":\"one-click\"", export!.ToJsonString(), StringComparison.Ordinal);
        var suppressions = await client.GetFromJsonAsync<JsonObject>("/v1/suppressions");
        Assert.Contains(suppressions!["items"]!.AsArray(), s => (string?)s!["email"] == address && (string?)s["reason"] == "unsubscribed");
        var send = await EngagementSystem.SendAsync(client, contact);
        Assert.NotNull(send["unsubscribedAt"]);

        // The next marketing send to the address is suppressed.
        var promo = await EngagementSystem.CreateTemplateAsync(client, "Promo", "<p>Sale</p>");
        await EngagementSystem.ActivateAsync(client, $$"""
            { "name": "Promo", "trigger": { "type": "event", "event": "promo" }, "settings": { "reentry": "never" }, "start": "p",
              "steps": [ { "id": "p", "type": "send", "templateId": "{{promo}}", "next": null } ] }
            """);
        await EngagementSystem.TrackAsync(client, address, "promo");
        var suppressed = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/sends?contactId={contact}"), s => s!["items"]!.AsArray().Count == 2, Wait, "the promo send");
        Assert.Contains(suppressed!["items"]!.AsArray(), s => (string?)s!["status"] == "suppressed");
        Assert.Single(system.Messages(address));
    }

    [Fact]
    public async Task Unsubscribing_fires_the_exit_event_that_ends_the_contacts_journey_and_counts_on_the_step()
    {
        var (client, workflow, contact, email, _) = await WelcomedAsync(""", "exitEvents": ["unsubscribed"]""", "\"wait\"");
        var journeyId = $"{workflow:N}-{contact:N}";
        await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["stepId"] == "wait", Wait, "the journey to wait");

        using (var form = await system.Recipient.PostAsync(email.UnsubscribeUrl, new FormUrlEncodedContent([new("scope", "all")])))
        {
            Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        }

        var journey = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["status"] == "exited", Wait, "the journey to exit");
        Assert.Equal("exited", (string?)journey!["status"]);
        var stats = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/workflows/{workflow}/stats"), s => (long)s!["steps"]!["welcome"]!["unsubscribed"]! == 1, Wait, "the step's unsubscribe count");
        Assert.Equal(1, (long)stats!["steps"]!["welcome"]!["unsubscribed"]!);
        var export = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}/export");
        Assert.Contains("\"unsubscribeSource\":\"preference-page\"", export!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_unsubscribe_ends_journeys_through_the_same_exit_event()
    {
        var (client, workflow, contact, _, _) = await WelcomedAsync(""", "exitEvents": ["unsubscribed"]""", "\"wait\"");
        var journeyId = $"{workflow:N}-{contact:N}";
        await Eventually.WaitAsync(() => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["stepId"] == "wait", Wait, "the journey to wait");

        var response = await client.PostAsync($"/v1/contacts/{contact}/unsubscribe", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var journey = await Eventually.WaitAsync(
            () => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{journeyId}"), j => (string?)j!["status"] == "exited", Wait, "the journey to exit");
        Assert.Equal("exited", (string?)journey!["status"]);
    }

    [Fact]
    public async Task The_preference_page_takes_the_contact_off_one_list_and_leaves_it_subscribed()
    {
        var (client, _, contact, email, _) = await WelcomedAsync();
        var list = (await (await client.PostAsJsonAsync("/v1/lists", new { name = "Weekly digest" })).Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<Guid>();
        (await client.PostAsJsonAsync($"/v1/lists/{list}/members", new { contactIds = new[] { contact } })).EnsureSuccessStatusCode();

        var html = await system.Recipient.GetStringAsync(email.UnsubscribeUrl);
        Assert.Contains("Weekly digest", html, StringComparison.Ordinal);
        Assert.Contains(list.ToString(), html, StringComparison.Ordinal);

        using var leave = await system.Recipient.PostAsync(email.UnsubscribeUrl, new FormUrlEncodedContent([new("list", list.ToString())]));
        Assert.Equal(HttpStatusCode.OK, leave.StatusCode);

        var members = await client.GetFromJsonAsync<JsonObject>($"/v1/contacts?listId={list}");
        Assert.Empty(members!["items"]!.AsArray());
        Assert.Equal("active", (string?)(await client.GetFromJsonAsync<JsonObject>($"/v1/contacts/{contact}"))!["status"]);
    }

    [Fact]
    public async Task A_branch_on_opened_sends_the_nudge_only_to_the_contact_whose_pixel_was_never_fetched()
    {
        var (_, client) = await system.TenantAsync();
        var welcome = await EngagementSystem.CreateTemplateAsync(client, "Welcome", "<p>Welcome</p>");
        var thanks = await EngagementSystem.CreateTemplateAsync(client, "Thanks for reading", "<p>Thanks</p>");
        var nudge = await EngagementSystem.CreateTemplateAsync(client, "Nudge", "<p>Did you see our welcome?</p>");
        var workflow = await EngagementSystem.ActivateAsync(client, $$"""
            {
              "name": "Welcome with nudge",
              "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "reentry": "never", "timeZone": "UTC" },
              "start": "welcome",
              "steps": [
                { "id": "welcome", "type": "send", "templateId": "{{welcome}}", "next": "wait" },
                { "id": "wait", "type": "delay", "duration": "PT8S", "next": "opened?" },
                { "id": "opened?", "type": "branch", "conditions": [ { "when": { "opened": "welcome" }, "next": "thanks" } ], "else": "nudge" },
                { "id": "thanks", "type": "send", "templateId": "{{thanks}}", "next": null },
                { "id": "nudge", "type": "send", "templateId": "{{nudge}}", "next": null }
              ]
            }
            """);
        var a = $"a-{Guid.NewGuid():N}@example.test";
        var b = $"b-{Guid.NewGuid():N}@example.test";
        var contactA = await EngagementSystem.TrackAsync(client, a, "signed_up");
        var contactB = await EngagementSystem.TrackAsync(client, b, "signed_up");

        var welcomeA = await system.EmailAsync(a);
        await system.EmailAsync(b);
        using (var pixel = await system.Recipient.GetAsync(welcomeA.PixelUrl))
        {
            Assert.Equal(HttpStatusCode.OK, pixel.StatusCode);
        }

        var secondA = await system.EmailAsync(a, 2);
        var secondB = await system.EmailAsync(b, 2);
        Assert.Equal("Thanks for reading", secondA.Header("Subject"));
        Assert.Equal("Nudge", secondB.Header("Subject"));

        foreach (var contact in new[] { contactA, contactB })
        {
            var journey = await Eventually.WaitAsync(
                () => client.GetFromJsonAsync<JsonObject>($"/v1/journeys/{workflow:N}-{contact:N}"), j => (string?)j!["status"] == "completed", Wait, "the journey to complete");
            Assert.Equal("completed", (string?)journey!["status"]);
        }
    }

    /// <summary>Changes one character of the token's signed payload.</summary>
    private static string Tamper(string url)
    {
        var slash = url.LastIndexOf('/');
        var token = url[(slash + 1)..];
        var chars = token.ToCharArray();
        chars[3] = chars[3] == 'A' ? 'B' : 'A';
        return url[..(slash + 1)] + new string(chars);
    }

    /// <summary>Keeps the token's signature but swaps the URL inside its claim for another.</summary>
    private static string Reclaim(string url, string target)
    {
        var slash = url.LastIndexOf('/');
        var token = url[(slash + 1)..];
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        var claim = JsonNode.Parse(Base64Url.DecodeFromChars(token.AsSpan(0, dot)))!;
        claim["u"] = target;
        return url[..(slash + 1)] + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claim.ToJsonString())) + token[dot..];
    }
}
