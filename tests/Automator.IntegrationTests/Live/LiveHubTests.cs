using Automator.IntegrationTests.Infrastructure;
using Automator.Live;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Automator.IntegrationTests.Live;

public sealed class LiveHubFixture : IAsyncLifetime
{
    public AutomatorApp App { get; } = new(connectionString: null, "live-" + Guid.NewGuid().ToString("N")[..6]);

    public ILiveEvents Events => App.Services.GetRequiredService<ILiveEvents>();

    public async Task InitializeAsync()
    {
        _ = App.Server;
        await Eventually.WaitAsync(
            () => App.Grains.GetGrain<ILiveRegistryGrain>(LiveRegistry.Key).GetSubscriberCountAsync(),
            n => n >= 1, TimeSpan.FromSeconds(30), "the dashboard to subscribe to the live registry");
    }

    public async Task DisposeAsync() => await App.DisposeAsync();
}

public sealed class LiveHubTests(LiveHubFixture fixture, ITestOutputHelper output) : IClassFixture<LiveHubFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Unauthenticated_connection_is_refused()
    {
        await using var connection = LiveClient.Build(fixture.App, accessToken: null);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.StartAsync());

        Assert.Contains("401", error.ToString(), StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task A_forged_token_is_refused()
    {
        var tenant = await TestTenant.CreateAsync(fixture.App);
        var forged = tenant.AccessToken[..^4] + (tenant.AccessToken.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        await using var connection = LiveClient.Build(fixture.App, forged);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => connection.StartAsync());

        Assert.Contains("401", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Organization_B_never_receives_organization_A_messages()
    {
        var a = await TestTenant.CreateAsync(fixture.App);
        var b = await TestTenant.CreateAsync(fixture.App);
        var workflowA = Guid.NewGuid();
        var workflowB = Guid.NewGuid();
        await using var clientA = await LiveClient.ConnectAsync(fixture.App, a.AccessToken);
        await using var clientB = await LiveClient.ConnectAsync(fixture.App, b.AccessToken);

        // Moves for both until each side has seen its own: both pipes are proven open before the check.
        await Eventually.WaitAsync(() =>
        {
            Move(a.OrganizationId, workflowA, "welcome", "wait");
            Move(b.OrganizationId, workflowB, "welcome", "wait");
            return Task.FromResult(clientA.WorkflowIds().Contains(workflowA) && clientB.WorkflowIds().Contains(workflowB));
        }, ok => ok, Timeout, "both organizations to receive their own moves");
        for (var i = 0; i < 200; i++)
        {
            Move(a.OrganizationId, workflowA, "wait", "nudge");
        }

        fixture.Events.SendRecorded(a.OrganizationId, "outbox");
        fixture.Events.ProviderStateChanged(a.OrganizationId, "sendgrid", "paused");
        await Eventually.WaitAsync(() => Task.FromResult(clientA.Of("providerState").Any() && clientA.StepTotals(workflowA, "nudge").Waiting >= 200),
            ok => ok, Timeout, "organization A to receive its burst and provider state");
        await Task.Delay(500);

        Assert.DoesNotContain(workflowA, clientB.WorkflowIds());
        Assert.DoesNotContain(clientB.Received, m => m.Method == "providerState");
        Assert.DoesNotContain(clientB.Received, m => m.Method == "sendRate");
        Assert.DoesNotContain(workflowB, clientA.WorkflowIds());
    }

    [Fact]
    public async Task Each_client_gets_at_most_ten_messages_a_second_under_a_burst_and_counts_add_up()
    {
        var tenant = await TestTenant.CreateAsync(fixture.App);
        var workflow = Guid.NewGuid();
        await using var client = await LiveClient.ConnectAsync(fixture.App, tenant.AccessToken);
        await Eventually.WaitAsync(() =>
        {
            Move(tenant.OrganizationId, workflow, null, "start");
            return Task.FromResult(client.Received.Count > 0);
        }, ok => ok, Timeout, "the first live message");
        await Task.Delay(300);
        var before = client.Received.Count;

        const int total = 20_000;
        var steps = new[] { "welcome", "wait", "opened?", "nudge", "buy", "offer" };
        for (var i = 0; i < total; i++)
        {
            var from = steps[i % steps.Length];
            var to = steps[(i + 1) % steps.Length];
            Move(tenant.OrganizationId, workflow, from, to);
            fixture.Events.SendRecorded(tenant.OrganizationId, i % 2 == 0 ? "sendgrid" : "ses");
            if (i % 1000 == 999)
            {
                await Task.Delay(50);
            }
        }

        var passed = await Eventually.WaitAsync(
            () => Task.FromResult(steps.Sum(s => client.StepTotals(workflow, s).Passed)),
            n => n >= total, Timeout, "every move to be counted in the stats");
        await Task.Delay(1500);

        var times = client.Received.Skip(before).Select(m => m.At).Order().ToList();
        var busiest = times.Select((t, i) => times.Skip(i).TakeWhile(u => u - t < TimeSpan.FromSeconds(1)).Count()).DefaultIfEmpty(0).Max();
        output.WriteLine($"{times.Count} messages for {total:N0} moves; busiest second: {busiest} messages");
        Assert.Equal(total, passed);
        Assert.Equal(0, steps.Sum(s => client.StepTotals(workflow, s).Waiting));
        // The server sends at most 10 per second per group; delivery jitter can put an 11th inside a second here.
        Assert.InRange(busiest, 1, 11);
        Assert.Contains(client.Received, m => m.Method == "sendRate" && m.Payload.GetProperty("perSecond").GetDouble() > 0);
    }

    private void Move(Guid organizationId, Guid workflowId, string? from, string? to) =>
        fixture.Events.JourneyMoved(organizationId, workflowId, Guid.NewGuid().ToString("N"), Guid.NewGuid(), from, to, DateTimeOffset.UtcNow);
}
