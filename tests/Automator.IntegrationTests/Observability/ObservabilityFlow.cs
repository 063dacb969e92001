using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Automator.IntegrationTests.Delivery;

namespace Automator.IntegrationTests.Observability;

/// <summary>A workflow that sends a welcome on <c>signed_up</c>, created and activated through the API.</summary>
internal static class ObservabilityFlow
{
    public static async Task<Guid> ActivateWelcomeAsync(HttpClient client, Guid template)
    {
        var definition = $$"""
            {
              "name": "Welcome",
              "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "reentry": "never", "timeZone": "UTC" },
              "start": "welcome",
              "steps": [ { "id": "welcome", "type": "send", "templateId": "{{template}}", "next": null } ]
            }
            """;
        var created = await client.PostAsync("/v1/workflows", new StringContent(definition, Encoding.UTF8, "application/json"));
        var body = await created.Content.ReadAsStringAsync();
        Assert.True(created.IsSuccessStatusCode, body);
        var id = JsonNode.Parse(body)!["id"]!.GetValue<Guid>();
        var activated = await client.PostAsync($"/v1/workflows/{id}/activate", null);
        Assert.True(activated.IsSuccessStatusCode, await activated.Content.ReadAsStringAsync());
        return id;
    }

    public static HttpRequestMessage SignedUp(string email, string? traceParent = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = JsonContent.Create(new { email, name = "signed_up" }) };
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        return request;
    }

    /// <summary>The HTML of the first message the fake SendGrid received.</summary>
    public static string SentHtml(DeliveryHarness harness)
    {
        var request = DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath)[0];
        var body = JsonNode.Parse(request.RequestMessage.Body!)!;
        return body["content"]!.AsArray().First(c => (string?)c!["type"] == "text/html")!["value"]!.GetValue<string>();
    }
}
