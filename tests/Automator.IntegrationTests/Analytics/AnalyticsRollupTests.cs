using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Automator.Analytics;
using Automator.Delivery;
using Automator.Delivery.SendLog;
using Automator.IntegrationTests.Engagement;
using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Engagement;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Automator.IntegrationTests.Analytics;

/// <summary>
/// Sends made by a real journey through the outbox provider, opened and clicked over real HTTP from the emails, provider
/// events recorded through the engagement recorder, goals reached by events: every figure the reports give is the
/// same figure recomputed here straight from the send log and the journey history.
/// </summary>
public sealed class AnalyticsRollupTests(EngagementSystem system) : IClassFixture<EngagementSystem>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly string[] Kinds = ["sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "goals"];

    [Fact]
    public async Task Reports_equal_the_send_log_recomputed_roll_up_once_and_stay_within_the_organization()
    {
        var (tenant, client) = await system.TenantAsync();
        var template = await EngagementSystem.CreateTemplateAsync(client, "Welcome", "<p>Hi</p><p><a href=\"https://shop.example.test/start\">Start</a></p>");
        var workflow = await EngagementSystem.ActivateAsync(client, $$"""
            {
              "name": "Welcome",
              "trigger": { "type": "event", "event": "signed_up" },
              "settings": { "reentry": "never", "timeZone": "UTC", "goalEvent": "purchased" },
              "start": "welcome",
              "steps": [
                { "id": "welcome", "type": "send", "templateId": "{{template}}", "next": "wait",
                  "variants": [ { "id": "a", "weight": 1, "subject": "Hello A" }, { "id": "b", "weight": 1, "subject": "Hello B" } ] },
                { "id": "wait", "type": "delay", "duration": "P1D", "next": null }
              ]
            }
            """);

        const int contacts = 8;
        var addresses = Enumerable.Range(0, contacts).Select(_ => $"a-{Guid.NewGuid():N}@example.test").ToList();
        var ids = new List<Guid>();
        foreach (var address in addresses)
        {
            ids.Add(await EngagementSystem.TrackAsync(client, address, "signed_up"));
        }

        var emails = new List<OutboxMessage>();
        foreach (var address in addresses)
        {
            emails.Add(await system.EmailAsync(address));
        }

        await Eventually.WaitAsync(() => ScalarAsync("SELECT count(*) FROM email_sends WHERE organization_id = $1 AND sent_at IS NOT NULL", tenant.OrganizationId),
            n => n == contacts, Wait, "every send recorded as sent");

        // Human opens (one twice), a machine-only open, human clicks (a click is also an open), a one-click unsubscribe.
        await GetAsync(emails[0].PixelUrl);
        await GetAsync(emails[0].PixelUrl);
        await GetAsync(emails[1].PixelUrl);
        await GetAsync(emails[2].ClickUrls[0]);
        await GetAsync(emails[1].ClickUrls[0]);
        using (var scanner = new HttpRequestMessage(HttpMethod.Get, emails[3].PixelUrl))
        {
            scanner.Headers.UserAgent.ParseAdd("Barracuda-LinkProtect/1.0");
            using var _ = await system.Recipient.SendAsync(scanner);
        }

        using (var unsubscribe = await system.Recipient.PostAsync(emails[4].UnsubscribeUrl, new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")])))
        {
            Assert.Equal(HttpStatusCode.OK, unsubscribe.StatusCode);
        }

        // What a provider reports: delivered for most, a bounce, a complaint, and a delivery reported twice.
        var at = DateTimeOffset.UtcNow;
        var recorder = system.App.Services.GetRequiredService<IEngagementRecorder>();
        var signals = emails.Take(6).Select(e => new EngagementSignal { Kind = EngagementKinds.Delivered, SendId = e.SendId, At = at, Source = "test" })
            .Append(new EngagementSignal { Kind = EngagementKinds.Delivered, SendId = emails[0].SendId, At = at.AddSeconds(1), Source = "test" })
            .Append(new EngagementSignal { Kind = EngagementKinds.Bounced, SendId = emails[6].SendId, At = at, Source = "test", BounceType = BounceTypes.Hard })
            .Append(new EngagementSignal { Kind = EngagementKinds.Complained, SendId = emails[5].SendId, At = at, Source = "test" })
            .ToList();
        await recorder.RecordAsync(signals, CancellationToken.None);

        // Goals: two contacts convert, one of them twice (a journey converts once).
        await EngagementSystem.TrackAsync(client, addresses[0], "purchased");
        await EngagementSystem.TrackAsync(client, addresses[1], "purchased");
        await EngagementSystem.TrackAsync(client, addresses[1], "purchased");
        await Eventually.WaitAsync(() => ScalarAsync("SELECT count(*) FROM journey_events WHERE organization_id = $1 AND kind = 'goal'", tenant.OrganizationId),
            n => n == 2, Wait, "both goals in the journey history");

        // The journeys record their sends in their history behind the sends themselves; the rollup waits for that record.
        await Eventually.WaitAsync(() => ScalarAsync("SELECT count(*) FROM journey_events WHERE organization_id = $1 AND kind = 'send'", tenant.OrganizationId),
            n => n == contacts, Wait, "every send in the journey history");
        var rollup = system.App.Services.GetRequiredService<AnalyticsRollup>();
        await rollup.CatchUpAsync();

        var from = DateTimeOffset.UtcNow.AddDays(-1).ToString("O");
        var to = DateTimeOffset.UtcNow.AddHours(2).ToString("O");
        var query = $"from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}";
        var overview = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}");
        var providers = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/providers?{query}");
        var hourly = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflow}?{query}&granularity=hour");
        var daily = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflow}?{query}&granularity=day");

        // What is known by construction.
        var counts = overview!["counts"]!;
        Assert.Equal(contacts, (long)counts["sent"]!);
        Assert.Equal(6, (long)counts["delivered"]!);
        Assert.Equal(3, (long)counts["opened"]!);
        Assert.Equal(2, (long)counts["clicked"]!);
        Assert.Equal(1, (long)counts["bounced"]!);
        Assert.Equal(1, (long)counts["complained"]!);
        Assert.Equal(1, (long)counts["unsubscribed"]!);
        Assert.Equal(2, (long)counts["goals"]!);
        Assert.Equal(Math.Round(3.0 / contacts, 4), (double)overview["rates"]!["opened"]!);

        // Everything else, recomputed from the send log and the journey history.
        var facts = await FactsAsync(tenant.OrganizationId);
        AssertCounts(facts, _ => true, counts);
        Assert.Equal("hour", (string)overview["granularity"]!);
        AssertSeries(facts, "hour", overview["series"]!.AsArray());
        var overviewDaily = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}&granularity=day");
        Assert.Equal(counts.ToJsonString(), overviewDaily!["counts"]!.ToJsonString());
        AssertSeries(facts, "day", overviewDaily["series"]!.AsArray());
        var listed = providers!["providers"]!.AsArray();
        Assert.Equal(facts.Where(f => f.Provider != "").Select(f => f.Provider).Distinct().Order(StringComparer.Ordinal), listed.Select(p => (string)p!["provider"]!));
        foreach (var provider in listed)
        {
            AssertCounts(facts, f => f.Provider == (string)provider!["provider"]!, provider!["counts"]!);
        }

        foreach (var (report, granularity) in new[] { (hourly!, "hour"), (daily!, "day") })
        {
            Assert.Equal(granularity, (string)report["granularity"]!);
            AssertCounts(facts, _ => true, report["counts"]!);
            var steps = report["steps"]!.AsArray();
            Assert.Equal(["wait", "welcome"], steps.Select(s => (string)s!["stepId"]!));
            foreach (var step in steps)
            {
                var stepId = (string)step!["stepId"]!;
                AssertCounts(facts, f => f.StepId == stepId, step["counts"]!);
                var variants = step["variants"]!.AsArray();
                Assert.Equal(facts.Where(f => f.StepId == stepId && f.Variant != "").Select(f => f.Variant).Distinct().Order(StringComparer.Ordinal),
                    variants.Select(v => (string)v!["variant"]!));
                foreach (var variant in variants)
                {
                    // A variant's goals are the conversions of the journeys it was sent to.
                    var name = (string)variant!["variant"]!;
                    var expected = facts.Where(f => f.StepId == stepId && f.Variant == name)
                        .Select(f => f with { Kind = f.Kind switch { "goals" => "goal at the step", "variant_goals" => "goals", _ => f.Kind } }).ToList();
                    AssertCounts(expected, _ => true, variant["counts"]!);
                }

                AssertSeries(facts.Where(f => f.StepId == stepId), granularity, step["series"]!.AsArray());
            }

            AssertSeries(facts, granularity, report["series"]!.AsArray());
        }

        Assert.Equal(6, facts.Count(f => f.Kind == "delivered"));
        var welcome = hourly!["steps"]!.AsArray().Single(s => (string)s!["stepId"]! == "welcome")!;
        Assert.Equal(contacts, welcome["variants"]!.AsArray().Sum(v => (long)v!["counts"]!["sent"]!));
        Assert.Equal(2, welcome["variants"]!.AsArray().Sum(v => (long)v!["counts"]!["goals"]!));

        // Everything was sent and converted in the workflow's first version.
        var first = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflow}?{query}&granularity=hour&version=1");
        Assert.Equal(hourly["counts"]!.ToJsonString(), first!["counts"]!.ToJsonString());
        Assert.Equal(hourly["steps"]!.ToJsonString(), first["steps"]!.ToJsonString());
        var second = await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflow}?{query}&granularity=hour&version=2");
        Assert.All(Kinds, k => Assert.Equal(0, (long)second!["counts"]![k]!));

        // Rolling up again finds nothing new and changes nothing.
        Assert.Equal(0, await rollup.CatchUpAsync());
        Assert.Equal(overview.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}"))!.ToJsonString());
        Assert.Equal(hourly.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/workflows/{workflow}?{query}&granularity=hour"))!.ToJsonString());
        Assert.Equal(providers.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/providers?{query}"))!.ToJsonString());

        // Another organization sees none of it.
        var (_, other) = await system.TenantAsync();
        var theirs = await other.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}");
        Assert.All(Kinds, k => Assert.Equal(0, (long)theirs!["counts"]![k]!));
        Assert.Empty((await other.GetFromJsonAsync<JsonObject>($"/v1/analytics/providers?{query}"))!["providers"]!.AsArray());
        using var foreign = await other.GetAsync($"/v1/analytics/workflows/{workflow}?{query}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
    }

    [Fact]
    public async Task A_send_delivered_after_its_sending_was_rolled_up_counts_once_and_hours_past_retention_are_purged()
    {
        var (tenant, client) = await system.TenantAsync();
        var log = system.App.Services.GetRequiredService<ISendLog>();
        var recorder = system.App.Services.GetRequiredService<IEngagementRecorder>();
        var rollup = system.App.Services.GetRequiredService<AnalyticsRollup>();
        var created = DateTimeOffset.UtcNow;
        var send = new SendRecord
        {
            Id = Guid.CreateVersion7(), OrganizationId = tenant.OrganizationId, SendKey = $"late-{Guid.NewGuid():N}",
            Email = $"late-{Guid.NewGuid():N}@example.test", Subject = "Late", Status = SendStatus.Queued, CreatedAt = created,
        };
        await log.CreateAsync(send);
        var sent = new SendOutcomeRecord(new SendRef(send.Id, created), SendStatus.Sent, "sendgrid", "msg-late", null, created);
        await log.RecordOutcomesAsync([sent]);
        await rollup.CatchUpAsync();
        var query = $"from={Uri.EscapeDataString(created.AddHours(-1).ToString("O"))}&to={Uri.EscapeDataString(created.AddHours(2).ToString("O"))}";
        var before = (await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}"))!["counts"]!;
        Assert.Equal(1, (long)before["sent"]!);
        Assert.Equal(0, (long)before["delivered"]!);

        // The delivery comes later, twice over; the provider's answer to the send is written again.
        await recorder.RecordAsync([new EngagementSignal { Kind = EngagementKinds.Delivered, SendId = send.Id, At = created.AddMinutes(1), Source = "test" }], CancellationToken.None);
        await rollup.CatchUpAsync();
        await recorder.RecordAsync([new EngagementSignal { Kind = EngagementKinds.Delivered, SendId = send.Id, At = created.AddMinutes(2), Source = "test" }], CancellationToken.None);
        await log.RecordOutcomesAsync([sent]);
        await rollup.CatchUpAsync();
        await rollup.CatchUpAsync();

        var after = (await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/overview?{query}"))!["counts"]!;
        Assert.Equal(1, (long)after["sent"]!);
        Assert.Equal(1, (long)after["delivered"]!);
        var provider = Assert.Single((await client.GetFromJsonAsync<JsonObject>($"/v1/analytics/providers?{query}"))!["providers"]!.AsArray());
        Assert.Equal("sendgrid", (string)provider!["provider"]!);
        Assert.Equal(1.0, (double)provider["rates"]!["delivered"]!);

        // Retention (400 days by default): the hour past it goes, the one within it stays.
        await using (var connection = new NpgsqlConnection(system.ConnectionString))
        {
            await connection.OpenAsync();
            await using var old = new NpgsqlCommand("""
                INSERT INTO analytics_hourly (organization_id, hour, workflow_id, version, step_id, variant, provider, sent)
                VALUES ($1, date_trunc('hour', now() - interval '401 days'), '00000000-0000-0000-0000-000000000000', 0, '', '', 'ses', 5),
                       ($1, date_trunc('hour', now() - interval '399 days'), '00000000-0000-0000-0000-000000000000', 0, '', '', 'ses', 7)
                """, connection);
            old.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = tenant.OrganizationId });
            await old.ExecuteNonQueryAsync();
        }

        await rollup.PurgeAsync(CancellationToken.None);
        Assert.Equal(7, await ScalarAsync("SELECT coalesce(sum(sent), 0)::bigint FROM analytics_hourly WHERE organization_id = $1 AND provider = 'ses'", tenant.OrganizationId));
    }

    private sealed record Fact(string Kind, DateTimeOffset At, string StepId, string Variant, string Provider);

    /// <summary>Every counted fact of the organization, read from where it is recorded: the send log and the journey history.</summary>
    private async Task<List<Fact>> FactsAsync(Guid organizationId)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT f.kind, f.at, coalesce(s.step_id, ''), coalesce(s.variant, ''), coalesce(s.provider, '')
            FROM email_sends s
            CROSS JOIN LATERAL (VALUES ('sent', s.sent_at), ('delivered', s.delivered_at), ('opened', s.opened_at), ('clicked', s.clicked_at),
                                       ('bounced', s.bounced_at), ('complained', s.complained_at), ('unsubscribed', s.unsubscribed_at)) AS f(kind, at)
            WHERE s.organization_id = $1 AND f.at IS NOT NULL
            UNION ALL
            SELECT 'goals', occurred_at, coalesce(step_id, ''), '', '' FROM journey_events WHERE organization_id = $1 AND kind = 'goal'
            UNION ALL
            SELECT 'variant_goals', g.occurred_at, s.step_id, s.variant, ''
            FROM journey_events g
            JOIN journey_events j ON j.journey_id = g.journey_id AND j.entry = g.entry AND j.kind = 'send'
            JOIN email_sends s ON s.send_key = j.detail #>> '{}'
            WHERE g.organization_id = $1 AND g.kind = 'goal' AND s.organization_id = $1 AND s.variant IS NOT NULL
            """, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        var facts = new List<Fact>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            facts.Add(new Fact(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        return facts;
    }

    private static void AssertCounts(List<Fact> facts, Func<Fact, bool> slice, JsonNode counts)
    {
        foreach (var kind in Kinds)
        {
            Assert.True(facts.Count(f => f.Kind == kind && slice(f)) == (long)counts[kind]!, $"{kind}: expected {facts.Count(f => f.Kind == kind && slice(f))}, reported {counts[kind]}");
        }
    }

    private static void AssertSeries(IEnumerable<Fact> facts, string granularity, JsonArray series)
    {
        var buckets = facts.GroupBy(f => Bucket(f.At, granularity)).OrderBy(g => g.Key).ToList();
        Assert.Equal(buckets.Select(b => b.Key), series.Select(p => p!["at"]!.GetValue<DateTimeOffset>()));
        foreach (var (bucket, point) in buckets.Zip(series))
        {
            AssertCounts(bucket.ToList(), _ => true, point!["counts"]!);
        }
    }

    private static DateTimeOffset Bucket(DateTimeOffset at, string granularity)
    {
        var utc = at.ToUniversalTime();
        return granularity == "day"
            ? new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero)
            : new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    private async Task GetAsync(string url)
    {
        using var response = await system.Recipient.GetAsync(url);
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Found, $"{url}: {response.StatusCode}");
    }

    private async Task<long> ScalarAsync(string sql, Guid organizationId)
    {
        await using var connection = new NpgsqlConnection(system.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = organizationId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
