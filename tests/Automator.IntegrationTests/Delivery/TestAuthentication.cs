using System.Security.Claims;
using System.Text.Encodings.Web;
using Automator.WebApi.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Automator.IntegrationTests.Delivery;

/// <summary>
/// Test-only sign-in until the real authentication lands: the caller's organization and scopes come from the
/// <c>X-Test-Org</c> and <c>X-Test-Scopes</c> headers. Policies named after each scope are added only where the app
/// has none of its own.
/// </summary>
public sealed class TestAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "DeliveryTests";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue("X-Test-Org", out var organization))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var scopes = Request.Headers.TryGetValue("X-Test-Scopes", out var requested)
            ? requested.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            : Scopes.All.ToArray();
        var claims = new List<Claim>
        {
            new(AutomatorClaims.OrganizationId, organization.ToString()),
            new(AutomatorClaims.UserId, Guid.NewGuid().ToString()),
            new(AutomatorClaims.Role, "owner"),
            new(AutomatorClaims.ActorType, "user"),
        };
        claims.AddRange(scopes.Select(s => new Claim(AutomatorClaims.Scope, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }
}

public static class TestAuthentication
{
    public static WebApplicationFactory<Program> WithTestAuthentication(this WebApplicationFactory<Program> app) =>
        app.WithWebHostBuilder(builder => builder.ConfigureTestServices(services =>
        {
            services.AddAuthentication(TestAuthenticationHandler.SchemeName)
                .AddScheme<AuthenticationSchemeOptions, TestAuthenticationHandler>(TestAuthenticationHandler.SchemeName, _ => { });
            services.AddAuthorization();
            services.PostConfigure<AuthorizationOptions>(options =>
            {
                foreach (var scope in Scopes.All)
                {
                    if (options.GetPolicy(scope) is null)
                    {
                        options.AddPolicy(scope, p => p.AddAuthenticationSchemes(TestAuthenticationHandler.SchemeName).RequireAuthenticatedUser().RequireClaim(AutomatorClaims.Scope, scope));
                    }
                }
            });
        }));

    public static HttpClient CreateClientFor(this WebApplicationFactory<Program> app, Guid organizationId, params string[] scopes)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Add("X-Test-Org", organizationId.ToString());
        if (scopes.Length > 0)
        {
            client.DefaultRequestHeaders.Add("X-Test-Scopes", string.Join(' ', scopes));
        }

        return client;
    }
}
