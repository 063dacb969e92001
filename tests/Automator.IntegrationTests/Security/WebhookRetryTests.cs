using System.Net;
using System.Net.Http.Json;
using System.Text;
using Automator.IntegrationTests.Api;
using Automator.IntegrationTests.Infrastructure;
using Automator.Journeys;
using Npgsql;

namespace Automator.IntegrationTests.Security;

/// <summary>Outbound webhook calls are persisted with the journey and retried with back-off until a 2xx.</summary>
public sealed class WebhookRetryTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task A_webhook_call_answered_500_is_retried_with_the_same_delivery_id_until_it_succeeds_then_forgotten()
    {
        await using var receiver = new WebhookReceiver { FailFirst = 2 };
        var settings = ApiFixture.HighLimits;
        settings["Automator:Journeys:AllowPrivateWebhooks"] = "true";
        settings["Automator:Journeys:WebhookRetryBase"] = "00:00:00.500";
        await using var app = new AutomatorApp(database.ConnectionString, "retry-" + Guid.NewGuid().ToString("N")[..6], settings);
        var tenant = await TestTenant.CreateAsync(app);
        using var client = tenant.Client(app);
        var workflow = await HttpAssert.JsonAsync(await client.PostAsync("/v1/workflows", new StringContent($$"""
            { "name": "Hook", "trigger": { "type": "manual" }, "start": "call",
              "steps": [ { "id": "call", "type": "webhook", "url": "http://127.0.0.1:{{receiver.Port}}/flaky", "method": "POST", "body": { "a": 1 }, "next": null } ] }
            """, Encoding.UTF8, "application/json")), HttpStatusCode.Created);
        var workflowId = workflow.GetProperty("id").GetGuid();
        await HttpAssert.JsonAsync(await client.PostAsync($"/v1/workflows/{workflowId}/activate", null), HttpStatusCode.OK);
        var email = $"retry-{Guid.NewGuid():N}@example.test";
        await HttpAssert.JsonAsync(await client.PostAsJsonAsync("/v1/contacts", new { email }), HttpStatusCode.Created);

        await HttpAssert.JsonAsync(await client.PostAsJsonAsync($"/v1/workflows/{workflowId}/enroll", new { emails = new[] { email } }), HttpStatusCode.Accepted);

        // The intent is written with the journey before the first call, and stays until a call answers 2xx.
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Requests.Count), n => n >= 1, TimeSpan.FromSeconds(30), "the first call");
        Assert.Equal(1, await PendingAsync(receiver.Requests.First().Headers[WebhookSignature.DeliveryHeader]));
        await Eventually.WaitAsync(() => Task.FromResult(receiver.BytesWritten.Count), n => n >= 1, TimeSpan.FromSeconds(60), "a call answered 200 after two 500s");
        var attempts = receiver.Requests.ToList();
        Assert.True(attempts.Count >= 3, $"{attempts.Count} attempts");
        var deliveryId = Assert.Single(attempts.Select(r => r.Headers[WebhookSignature.DeliveryHeader]).Distinct());
        var pending = await Eventually.WaitAsync(() => PendingAsync(deliveryId), n => n == 0, TimeSpan.FromSeconds(30), "the intent to be forgotten after the 2xx");
        Assert.Equal(0, pending);
    }

    private async Task<long> PendingAsync(string deliveryId)
    {
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM journey_grain_state WHERE state_name = 'journey' AND position(convert_to(@id, 'UTF8') IN payload) > 0", connection);
        command.Parameters.AddWithValue("id", deliveryId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
