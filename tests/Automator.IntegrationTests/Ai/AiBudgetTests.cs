using Automator.IntegrationTests.Infrastructure;
using Automator.WebApi.Ai;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Automator.IntegrationTests.Ai;

/// <summary>The daily AI budget on real PostgreSQL, with time moved by hand.</summary>
public sealed class AiBudgetTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private static readonly DateTimeOffset LateEvening = new(2026, 3, 2, 23, 59, 0, TimeSpan.Zero);

    private async Task<Guid> OrganizationAsync()
    {
        var id = Guid.NewGuid();
        await using var connection = new NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand("INSERT INTO organizations (id, name, postal_address) VALUES (@id, 'Budget test', '1 Test Street')", connection);
        insert.Parameters.AddWithValue("id", id);
        await insert.ExecuteNonQueryAsync();
        return id;
    }

    private AiBudget Budget(NpgsqlDataSource dataSource, TimeProvider time, int requests = 2, long tokens = 1_000) =>
        new(dataSource, Options.Create(new AiOptions { DailyRequests = requests, DailyTokens = tokens }), time);

    [Fact]
    public async Task A_spent_budget_renews_the_next_utc_day()
    {
        var organization = await OrganizationAsync();
        var time = new FakeTimeProvider(LateEvening);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var budget = Budget(dataSource, time);

        Assert.NotNull(await budget.TryReserveAsync(organization, default));
        Assert.NotNull(await budget.TryReserveAsync(organization, default));
        Assert.Null(await budget.TryReserveAsync(organization, default));
        Assert.Equal(TimeSpan.FromMinutes(1), budget.UntilRenewal());

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(new DateOnly(2026, 3, 3), await budget.TryReserveAsync(organization, default));
    }

    [Fact]
    public async Task Tokens_are_charged_to_the_day_the_generation_was_reserved_on()
    {
        var organization = await OrganizationAsync();
        var time = new FakeTimeProvider(LateEvening);
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        var budget = Budget(dataSource, time, requests: 10, tokens: 1_000);

        var day = await budget.TryReserveAsync(organization, default);
        time.Advance(TimeSpan.FromMinutes(5));
        await budget.ChargeTokensAsync(organization, day!.Value, 1_000, default);

        // The new day starts fresh; the old day is spent by tokens.
        Assert.Equal(new DateOnly(2026, 3, 3), await budget.TryReserveAsync(organization, default));
        Assert.Null(await Budget(dataSource, new FakeTimeProvider(LateEvening), requests: 10, tokens: 1_000).TryReserveAsync(organization, default));
    }

    [Fact]
    public async Task Two_processes_draw_on_one_budget()
    {
        var organization = await OrganizationAsync();
        var time = new FakeTimeProvider(LateEvening);
        await using var first = NpgsqlDataSource.Create(database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(database.ConnectionString);

        var reserved = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Budget(i % 2 == 0 ? first : second, time, requests: 3).TryReserveAsync(organization, default)));

        Assert.Equal(3, reserved.Count(d => d is not null));
    }

    [Fact]
    public async Task A_budget_of_zero_refuses_everything()
    {
        var organization = await OrganizationAsync();
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);

        Assert.Null(await Budget(dataSource, TimeProvider.System, requests: 0).TryReserveAsync(organization, default));
    }
}
