using System.Net;
using System.Text.Json;
using Automator.IntegrationTests.Api;
using Automator.WebApi.Identity;

namespace Automator.IntegrationTests.Analytics;

/// <summary>Broken ranges and granularities on the three report routes: a 400 naming the field, never a 2xx or 5xx.</summary>
[Collection(ApiCollection.Name)]
public sealed class AnalyticsBadInputTests(ApiFixture fixture)
{
    private static readonly string[] Routes = ["/v1/analytics/overview", "/v1/analytics/providers", "/v1/analytics/workflows/{workflow}"];

    private static readonly (string Name, string Query, string Field)[] RangeCases =
    [
        ("from not a date", "from=yesterday", "from"),
        ("to not a date", "to=2026-13-45T00:00:00Z", "to"),
        ("from with a NUL", "from=2026-01-01%00", "from"),
        ("from far too long", "from=" + new string('2', 60), "from"),
        ("from after to", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("range over the limit", "from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("to at the start of time", "to=0001-01-01T00:00:00Z", "to"),
    ];

    private static readonly (string Name, string Query, string Field)[] WorkflowCases =
    [
        ("granularity unknown", "granularity=week", "granularity"),
        ("granularity in capitals", "granularity=DAY", "granularity"),
        ("granularity with junk", "granularity=hour%20", "granularity"),
        ("version not a number", "version=latest", "version"),
        ("version zero", "version=0", "version"),
        ("version negative", "version=-1", "version"),
        ("hours over a long range", "from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&granularity=hour", "granularity"),
    ];

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var route in Routes)
        {
            foreach (var (_, query, field) in RangeCases)
            {
                data.Add(route, query, field);
            }
        }

        foreach (var (_, query, field) in WorkflowCases)
        {
            data.Add(Routes[2], query, field);
            if (field == "granularity")
            {
                data.Add(Routes[0], query, field);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_range_or_granularity_is_a_400_naming_the_field(string route, string query, string field)
    {
        var (client, workflow) = await TenantWithWorkflowAsync();
        using var response = await client.GetAsync($"{route.Replace("{workflow}", workflow.ToString(), StringComparison.Ordinal)}?{query}");
        await HttpAssert.ProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task Without_a_range_the_reports_cover_the_last_seven_days()
    {
        var (client, workflow) = await TenantWithWorkflowAsync();
        foreach (var route in Routes)
        {
            using var response = await client.GetAsync(route.Replace("{workflow}", workflow.ToString(), StringComparison.Ordinal));
            var body = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
            var span = body.GetProperty("to").GetDateTimeOffset() - body.GetProperty("from").GetDateTimeOffset();
            Assert.Equal(TimeSpan.FromDays(7), span);
        }
    }

    [Fact]
    public async Task A_workflow_of_another_organization_or_none_at_all_is_not_found()
    {
        var (_, workflow) = await TenantWithWorkflowAsync();
        var (other, _) = await TenantWithWorkflowAsync();
        foreach (var id in new[] { workflow, Guid.NewGuid() })
        {
            using var response = await other.GetAsync($"/v1/analytics/workflows/{id}?granularity=day");
            await HttpAssert.ProblemAsync(response, HttpStatusCode.NotFound);
        }
    }

    [Fact]
    public async Task Viewers_read_reports_and_keys_need_the_analytics_scope()
    {
        var viewer = await fixture.CreateTenantAsync(Roles.Viewer);
        using (var client = viewer.Client())
        using (var response = await client.GetAsync("/v1/analytics/overview"))
        {
            await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        }

        var owner = await fixture.CreateTenantAsync();
        using (var without = fixture.WithKey(await owner.CreateKeyAsync(Scopes.SendsRead)))
        using (var response = await without.GetAsync("/v1/analytics/overview"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var with = fixture.WithKey(await owner.CreateKeyAsync(Scopes.AnalyticsRead)))
        using (var response = await with.GetAsync("/v1/analytics/providers"))
        {
            await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
        }
    }

    private async Task<(HttpClient Client, Guid Workflow)> TenantWithWorkflowAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        var workflow = await tenant.CreateAsync("/v1/workflows", JsonSerializer.Deserialize<JsonElement>("""
            { "name": "Report", "trigger": { "type": "event", "event": "signed_up" }, "start": "wait",
              "steps": [ { "id": "wait", "type": "delay", "duration": "P1D", "next": null } ] }
            """));
        return (tenant.Client(), workflow);
    }
}
