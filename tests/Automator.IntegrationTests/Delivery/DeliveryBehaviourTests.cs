using System.Globalization;
using Automator.Delivery;
using Automator.IntegrationTests.Infrastructure;

namespace Automator.IntegrationTests.Delivery;

public sealed class DeliveryBehaviourTests
{
    [Fact]
    public async Task A_repeated_send_key_returns_the_existing_receipt_and_sends_once()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, "once@example.com");

        var first = await harness.SendAsync(org, contact, "once@example.com", template, "journey-dup:welcome:1");
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => harness.SendAsync(org, contact, "once@example.com", template, "journey-dup:welcome:1")));
        await harness.WaitForAsync(first.SendKey, DeliveryHarness.Finished, "the send to finish");
        var afterSent = await harness.SendAsync(org, contact, "once@example.com", template, "journey-dup:welcome:1");

        Assert.False(first.Duplicate);
        Assert.All(concurrent, r => Assert.True(r.Duplicate));
        Assert.All(concurrent, r => Assert.Equal(first.SendId, r.SendId));
        Assert.True(afterSent.Duplicate);
        Assert.Equal(SendStatus.Sent, afterSent.Status);
        Assert.Equal("sendgrid", afterSent.Provider);
        Assert.Single(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath));
    }

    [Theory]
    [InlineData("unsubscribed")]
    [InlineData("bounced")]
    [InlineData("complained")]
    [InlineData("erased")]
    public async Task A_suppressed_contact_is_recorded_and_never_reaches_a_provider(string status)
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var contact = await harness.SeedContactAsync(org, $"{status}@example.com", status);

        var receipt = await harness.SendAsync(org, contact, $"{status}@example.com", template);

        Assert.Equal(SendStatus.Suppressed, receipt.Status);
        Assert.Contains(status, receipt.Error, StringComparison.Ordinal);
        Assert.Equal(SendStatus.Suppressed, (await harness.SendLog.FindByKeyAsync(receipt.SendKey))!.Status);
        Assert.Empty(harness.SendGrid.LogEntries);
        Assert.Empty(harness.Ses.LogEntries);
    }

    [Fact]
    public async Task An_address_on_the_organizations_suppression_list_is_never_sent_to()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var otherOrg = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);
        var otherTemplate = await harness.SeedTemplateAsync(otherOrg);
        await harness.SuppressAsync(org, "Listed@Example.com", "manual");

        var suppressed = await harness.SendAsync(org, Guid.NewGuid(), "listed@example.com", template);
        var elsewhere = await harness.SendAsync(otherOrg, Guid.NewGuid(), "listed@example.com", otherTemplate);
        await harness.WaitForAsync(elsewhere.SendKey, DeliveryHarness.Finished, "the other organization's send");

        Assert.Equal(SendStatus.Suppressed, suppressed.Status);
        Assert.Equal(SendStatus.Sent, (await harness.SendLog.FindByKeyAsync(elsewhere.SendKey))!.Status);
        Assert.Single(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath));
    }

    [Fact]
    public async Task A_template_that_fails_to_render_fails_the_send_with_its_reason()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org, html: "<p>{{ 10 | divided_by: 0 }}</p>");

        var receipt = await harness.SendAsync(org, Guid.NewGuid(), "render@example.com", template);

        Assert.Equal(SendStatus.Failed, receipt.Status);
        Assert.Contains("html", receipt.Error, StringComparison.Ordinal);
        Assert.Empty(harness.SendGrid.LogEntries);
    }

    [Fact]
    public async Task A_permanent_400_fails_the_send_with_the_reason_and_never_fails_over()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        harness.SendGridAnswers(400, "{\"errors\":[{\"message\":\"Does not contain a valid address.\",\"field\":\"personalizations.0.to\"}]}");
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);

        var receipts = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => harness.SendAsync(org, Guid.NewGuid(), $"bad{i}@example.com", template)));
        var results = await Task.WhenAll(receipts.Select(r => harness.WaitForAsync(r.SendKey, DeliveryHarness.Finished, "the send to fail")));

        Assert.All(results, r => Assert.Equal(SendStatus.Failed, r.Status));
        Assert.All(results, r => Assert.Contains("Does not contain a valid address.", r.Error, StringComparison.Ordinal));
        Assert.All(results, r => Assert.Equal("sendgrid", r.Provider));
        Assert.Equal(6, DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count);
        Assert.Empty(harness.Ses.LogEntries);
        var status = await harness.Grains.GetGrain<IProviderGrain>("sendgrid").GetStatusAsync();
        Assert.Equal(ProviderCircuitState.Closed, status.Circuit);
    }

    [Fact]
    public async Task A_timeout_after_the_request_left_is_unknown_and_never_resent()
    {
        // The timeout leaves room for a loaded machine: only the deliberately slow answer may exceed it.
        await using var harness = await DeliveryHarness.StartAsync(settings: new Dictionary<string, string?> { ["Automator:Providers:Timeout"] = "00:00:02" });
        harness.SendGridAccepts(delay: TimeSpan.FromSeconds(6));
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);

        var receipt = await harness.SendAsync(org, Guid.NewGuid(), "slow@example.com", template);
        var result = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the send to time out");
        harness.SendGridAccepts();
        var retry = await harness.SendAsync(org, Guid.NewGuid(), "slow@example.com", template, receipt.SendKey);
        var other = await harness.SendAsync(org, Guid.NewGuid(), "fast@example.com", template);
        await harness.WaitForAsync(other.SendKey, DeliveryHarness.Finished, "a later send to go through");

        Assert.Equal(SendStatus.Unknown, result.Status);
        Assert.Contains("timed out", result.Error, StringComparison.Ordinal);
        Assert.True(retry.Duplicate);
        Assert.Equal(SendStatus.Unknown, retry.Status);
        Assert.Equal(SendStatus.Unknown, (await harness.SendLog.FindByKeyAsync(receipt.SendKey))!.Status);
        Assert.Equal(1, await harness.SendLog.CountAsync(org, SendStatus.Unknown));
        // The fake logs a request once its delayed answer is written, after the client gave up on it.
        var slow = await Eventually.WaitAsync(
            () => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count(r => r.RequestMessage.Body!.Contains("slow@example.com", StringComparison.Ordinal))),
            c => c >= 1, TimeSpan.FromSeconds(10), "the timed-out request to be logged by the fake");
        Assert.Equal(1, slow);
        Assert.Empty(harness.Ses.LogEntries);
    }

    [Fact]
    public async Task An_organization_that_chose_at_least_once_gets_an_ambiguous_send_retried()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: new Dictionary<string, string?> { ["Automator:Providers:Timeout"] = "00:00:00.500" });
        harness.SendGridAccepts(delay: TimeSpan.FromSeconds(2));
        var org = await harness.SeedOrganizationAsync(ambiguousPolicy: "at-least-once");
        var template = await harness.SeedTemplateAsync(org);

        var receipt = await harness.SendAsync(org, Guid.NewGuid(), "retry@example.com", template);
        await Eventually.WaitAsync(() => Task.FromResult(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count), c => c >= 1, TimeSpan.FromSeconds(10), "the first attempt");
        harness.SendGridAccepts();
        var result = await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "the retried send");

        Assert.Equal(SendStatus.Sent, result.Status);
        Assert.True(DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count >= 2);
    }

    [Fact]
    public async Task A_5xx_storm_opens_the_circuit_fails_over_to_ses_and_traffic_returns_after_recovery()
    {
        await using var harness = await DeliveryHarness.StartAsync();
        harness.SendGridAnswers(503, "{\"errors\":[{\"message\":\"unavailable\"}]}");
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);

        var storm = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => harness.SendAsync(org, Guid.NewGuid(), $"storm{i}@example.com", template)));
        var stormResults = await Task.WhenAll(storm.Select(r => harness.WaitForAsync(r.SendKey, DeliveryHarness.Finished, "storm sends")));
        var during = await harness.Grains.GetGrain<IProviderGrain>("sendgrid").GetStatusAsync();

        harness.SendGridAccepts();
        var recovered = await Eventually.WaitAsync(async () =>
        {
            var receipt = await harness.SendAsync(org, Guid.NewGuid(), "after@example.com", template);
            return await harness.WaitForAsync(receipt.SendKey, DeliveryHarness.Finished, "a send after recovery");
        }, r => r.Provider == "sendgrid", TimeSpan.FromSeconds(30), "traffic to return to sendgrid");
        var after = await harness.Grains.GetGrain<IProviderGrain>("sendgrid").GetStatusAsync();

        Assert.All(stormResults, r => Assert.Equal(SendStatus.Sent, r.Status));
        Assert.All(stormResults, r => Assert.Equal("ses", r.Provider));
        Assert.Equal(12, DeliveryHarness.Requests(harness.Ses, DeliveryHarness.SesPath).Count(r => r.RequestMessage.Body!.Contains("storm", StringComparison.Ordinal)));
        Assert.NotEqual(ProviderCircuitState.Closed, during.Circuit);
        Assert.True(during.ErrorsLastMinute >= 4);
        Assert.Equal(SendStatus.Sent, recovered.Status);
        Assert.Equal(ProviderCircuitState.Closed, after.Circuit);
    }

    [Fact]
    public async Task A_429_with_reset_slows_the_provider_down_then_the_rate_recovers()
    {
        await using var harness = await DeliveryHarness.StartAsync(withSes: false, settings: new Dictionary<string, string?>
        {
            ["Automator:Providers:SendGrid:RatePerSecond"] = "100",
        });
        var reset = DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        harness.SendGridAnswers(429, "{\"errors\":[{\"message\":\"too many requests\"}]}", new Dictionary<string, string> { ["X-RateLimit-Reset"] = reset });
        var org = await harness.SeedOrganizationAsync();
        var template = await harness.SeedTemplateAsync(org);

        var receipts = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => harness.SendAsync(org, Guid.NewGuid(), $"busy{i}@example.com", template)));
        var provider = harness.Grains.GetGrain<IProviderGrain>("sendgrid");
        var throttled = await Eventually.WaitAsync(provider.GetStatusAsync, s => s.RatePerSecond < 100, TimeSpan.FromSeconds(10), "the rate to drop");
        var throttledAt = DateTime.UtcNow;
        harness.SendGridAccepts();
        var results = await Task.WhenAll(receipts.Select(r => harness.WaitForAsync(r.SendKey, DeliveryHarness.Finished, "throttled sends to go through")));
        var recovered = await Eventually.WaitAsync(provider.GetStatusAsync, s => s.RatePerSecond >= 100, TimeSpan.FromSeconds(20), "the rate to recover");

        Assert.InRange(throttled.RatePerSecond, 1, 60);
        Assert.Equal(ProviderHealth.Degraded, throttled.State);
        Assert.All(results, r => Assert.Equal(SendStatus.Sent, r.Status));
        // Backed off until the reset instead of hammering: each of the 5 sends met the 429 about once.
        var throttledRequests = DeliveryHarness.Requests(harness.SendGrid, DeliveryHarness.SendGridPath).Count(e => e.RequestMessage.DateTime <= throttledAt);
        Assert.InRange(throttledRequests, 1, 10);
        Assert.Equal(100, recovered.RatePerSecond);
    }
}

public sealed class InterruptedSendTests
{
    [Fact]
    public async Task A_send_left_sending_by_a_stopped_silo_is_settled_unknown_and_never_resent()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("sweep");
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString);
        var log = new Automator.Delivery.SendLog.PostgresSendLog(dataSource);
        var organization = Guid.NewGuid();
        var old = DateTimeOffset.UtcNow.AddHours(-1);
        var (stale, _) = await log.CreateAsync(new Automator.Delivery.SendLog.SendRecord { Id = Guid.NewGuid(), OrganizationId = organization, SendKey = "stale:1", Email = "a@example.com", Status = SendStatus.Queued, CreatedAt = old });
        var (fresh, _) = await log.CreateAsync(new Automator.Delivery.SendLog.SendRecord { Id = Guid.NewGuid(), OrganizationId = organization, SendKey = "fresh:1", Email = "b@example.com", Status = SendStatus.Queued, CreatedAt = DateTimeOffset.UtcNow });
        await log.MarkSendingAsync([new(stale.Id, stale.CreatedAt), new(fresh.Id, fresh.CreatedAt)], "sendgrid");
        await using (var age = dataSource.CreateCommand("UPDATE email_sends SET updated_at = now() - interval '1 hour' WHERE send_key = 'stale:1'"))
        {
            await age.ExecuteNonQueryAsync();
        }

        var settled = await log.SettleInterruptedAsync(TimeSpan.FromMinutes(10));
        var again = await log.MarkSendingAsync([new(stale.Id, stale.CreatedAt)], "sendgrid");

        Assert.Equal(1, settled);
        Assert.Equal(SendStatus.Unknown, (await log.FindByKeyAsync("stale:1"))!.Status);
        Assert.Equal(SendStatus.Sending, (await log.FindByKeyAsync("fresh:1"))!.Status);
        Assert.Empty(again);
    }

    [Fact]
    public async Task Sends_of_a_dead_silo_are_taken_over_once_across_competing_survivors_and_its_in_flight_sends_settle_unknown()
    {
        var connectionString = await SharedPostgres.CreateMigratedDatabaseAsync("takeover");
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(connectionString);
        var dead = new Automator.Delivery.SendLog.PostgresSendLog(dataSource, "10.0.0.1:11111@1");
        var survivors = new[] { new Automator.Delivery.SendLog.PostgresSendLog(dataSource, "10.0.0.2:11111@1"), new Automator.Delivery.SendLog.PostgresSendLog(dataSource, "10.0.0.3:11111@1") };
        var organization = Guid.NewGuid();
        var written = Enumerable.Range(0, 1200).Select(i => new Automator.Delivery.SendLog.SendRecord
        {
            Id = Guid.NewGuid(), OrganizationId = organization, SendKey = $"dead:{i}", Email = $"d{i}@example.com", Status = SendStatus.Queued,
            CreatedAt = DateTimeOffset.UtcNow, EventJson = "{\"n\":" + i + "}", SubjectOverride = i % 2 == 0 ? "Hello" : null, Transactional = i % 3 == 0,
        }).ToArray();
        // Both ways into the send log record the owner and what rendering needs: one row at a time, and a batch.
        var rows = new List<Automator.Delivery.SendLog.SendRecord>();
        foreach (var record in written.Take(600))
        {
            rows.Add((await dead.CreateAsync(record)).Record);
        }

        rows.AddRange((await dead.CreateManyAsync(written.Skip(600).ToArray())).Select(r => r.Record));

        var inFlight = rows.Take(150).Select(r => new Automator.Delivery.SendLog.SendRef(r.Id, r.CreatedAt)).ToArray();
        Assert.Equal(150, (await dead.MarkSendingAsync(inFlight, "sendgrid")).Count);

        var unknown = await Task.WhenAll(survivors.Select(s => s.SettleSendingOfAsync("10.0.0.1:11111@1")));
        var taken = await Task.WhenAll(survivors.Select(async s =>
        {
            var mine = new List<Automator.Delivery.SendLog.SendRecord>();
            IReadOnlyList<Automator.Delivery.SendLog.SendRecord> batch;
            do
            {
                batch = await s.TakeOverQueuedAsync("10.0.0.1:11111@1", 100);
                mine.AddRange(batch);
            }
            while (batch.Count > 0);

            return mine;
        }));
        var all = taken.SelectMany(t => t).ToList();
        var queuedRefs = rows.Skip(150).Select(r => new Automator.Delivery.SendLog.SendRef(r.Id, r.CreatedAt)).ToArray();

        Assert.Equal(150, unknown.Sum());
        Assert.Equal(1050, all.Count);
        Assert.Equal(1050, all.Select(r => r.SendKey).Distinct().Count());
        Assert.DoesNotContain(all, r => rows.Take(150).Any(f => f.Id == r.Id));
        var sample = all.Single(r => r.SendKey == "dead:300");
        Assert.Equal(("{\"n\":300}", "Hello", true), (sample.EventJson, sample.SubjectOverride, sample.Transactional));
        var batched = all.Single(r => r.SendKey == "dead:900");
        Assert.Equal(("{\"n\":900}", "Hello", true), (batched.EventJson, batched.SubjectOverride, batched.Transactional));
        // The dead silo, were it still running, could no longer move any of them; each survivor moves exactly its own.
        Assert.Empty(await dead.MarkSendingAsync(queuedRefs, "sendgrid"));
        var moved = await Task.WhenAll(survivors.Select(s => s.MarkSendingAsync(queuedRefs, "sendgrid")));
        Assert.Equal(taken.Select(t => t.Count), moved.Select(m => m.Count));
        Assert.Equal(1050, moved.SelectMany(m => m).Distinct().Count());
        Assert.Equal(150, await dead.CountAsync(organization, SendStatus.Unknown));
        Assert.DoesNotContain(await survivors[0].ListOwnersAsync(), o => o.Owner == "10.0.0.1:11111@1");
    }
}
