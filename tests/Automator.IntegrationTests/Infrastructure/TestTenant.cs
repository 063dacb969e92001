using System.Net.Http.Headers;
using Automator.WebApi.Identity;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Automator.IntegrationTests.Infrastructure;

/// <summary>An organization of its own for one test, with a signed-in user of the given role.</summary>
public sealed record TestTenant(Guid OrganizationId, Guid UserId, string Role, string AccessToken)
{
    public static async Task<TestTenant> CreateAsync(AutomatorApp app, string role = Roles.Owner)
    {
        var organizationId = Guid.NewGuid();
        var userId = Guid.NewGuid();
        if (app.ConnectionString is not null)
        {
            await using var connection = new NpgsqlConnection(app.ConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                INSERT INTO organizations (id, name, postal_address) VALUES (@org, @name, '1 Test Street, Testville');
                INSERT INTO users (id, organization_id, email, role) VALUES (@user, @org, @email, @role);
                """, connection);
            command.Parameters.AddWithValue("org", organizationId);
            command.Parameters.AddWithValue("name", "Test org " + organizationId.ToString("N")[..6]);
            command.Parameters.AddWithValue("user", userId);
            command.Parameters.AddWithValue("email", $"user-{userId:N}@example.test");
            command.Parameters.AddWithValue("role", role);
            await command.ExecuteNonQueryAsync();
        }

        var (token, _) = app.Services.GetRequiredService<AccessTokens>().Issue(userId, organizationId, role);
        return new TestTenant(organizationId, userId, role, token);
    }

    public HttpClient Client(AutomatorApp app)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AccessToken);
        return client;
    }
}
