using System.Net.Http.Headers;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Automator.IntegrationTests.Delivery;

/// <summary>Signs test callers in with real access tokens: read-only scopes make a viewer, anything else an owner.</summary>
public static class TestAuthentication
{
    public static WebApplicationFactory<Program> WithTestAuthentication(this WebApplicationFactory<Program> app) => app;

    public static HttpClient CreateClientFor(this WebApplicationFactory<Program> app, Guid organizationId, params string[] scopes)
    {
        var role = scopes.Length > 0 && scopes.All(s => s.EndsWith(":read", StringComparison.Ordinal)) ? Roles.Viewer : Roles.Owner;
        var (token, _) = app.Services.GetRequiredService<AccessTokens>().Issue(Guid.NewGuid(), organizationId, role);
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
