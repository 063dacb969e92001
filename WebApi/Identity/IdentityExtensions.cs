using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Automator.WebApi.Identity;

public static class IdentityExtensions
{
    public const string Scheme = "Automator";

    /// <summary>Policy of <c>GET /v1/providers</c>: <c>providers:read</c> or a platform operator.</summary>
    public const string ProvidersView = "providers:view";

    /// <summary>
    /// Bearer access tokens (also <c>?access_token=</c> on the live hub) or <c>X-Api-Key</c>, and one
    /// authorization policy per scope.
    /// </summary>
    public static IServiceCollection AddAutomatorIdentity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JwtOptions>().Bind(configuration.GetSection(JwtOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>());
        var jwt = configuration.GetSection(JwtOptions.Section).Get<JwtOptions>() ?? new JwtOptions();
        services.Configure<OperatorOptions>(configuration.GetSection(OperatorOptions.Section));
        services.AddSingleton<AccessTokens>();
        services.AddSingleton(sp => new SessionStamps(
            string.IsNullOrWhiteSpace(configuration.GetConnectionString("Postgres")) ? null : sp.GetService<NpgsqlDataSource>()));
        services.AddAuthentication(Scheme)
            .AddPolicyScheme(Scheme, "Bearer token, API key or operator key", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.ContainsKey(OperatorKeyAuthenticationHandler.HeaderName) ? OperatorKeyAuthenticationHandler.SchemeName
                : context.Request.Headers.ContainsKey(ApiKeyAuthenticationHandler.HeaderName) ? ApiKeyAuthenticationHandler.SchemeName
                : JwtBearerDefaults.AuthenticationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, OperatorKeyAuthenticationHandler>(OperatorKeyAuthenticationHandler.SchemeName, null)
            .AddJwtBearer(o =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = jwt.Issuer,
                    ValidAudience = jwt.Audience,
                    IssuerSigningKey = string.IsNullOrEmpty(jwt.SigningKey) ? null : AccessTokens.KeyFrom(jwt),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    NameClaimType = AutomatorClaims.UserId,
                    RoleClaimType = AutomatorClaims.Role,
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
                o.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        var token = context.Request.Query["access_token"];
                        if (!string.IsNullOrEmpty(token) && context.HttpContext.Request.Path.StartsWithSegments("/hubs"))
                        {
                            context.Token = token;
                        }

                        return Task.CompletedTask;
                    },
                    OnTokenValidated = async context =>
                    {
                        // A disabled or removed user's tokens stop working at once, not when they expire.
                        var stamps = context.HttpContext.RequestServices.GetRequiredService<SessionStamps>();
                        if (stamps.Enabled && context.Principal is { } principal
                            && !await stamps.IsCurrentAsync(principal, context.HttpContext.RequestAborted))
                        {
                            context.Fail("The session was revoked.");
                        }
                    },
                };
            });

        services.AddSingleton<IAuthorizationHandler, ScopeAuthorizationHandler>();
        services.AddAuthorization(o =>
        {
            foreach (var scope in Scopes.All)
            {
                o.AddPolicy(scope, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
            }

            o.AddPolicy(Operators.Policy, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireAssertion(c => c.User.IsOperator()));

            // The provider list: a tenant with providers:read sees its own figures, an operator the whole account.
            o.AddPolicy(ProvidersView, p => p.AddAuthenticationSchemes(Scheme).RequireAuthenticatedUser().RequireAssertion(c =>
                c.User.IsOperator() || (c.User.FindFirst(AutomatorClaims.OrganizationId) is not null
                    && (c.User.FindFirst(AutomatorClaims.ActorType)?.Value == "api_key"
                        ? c.User.HasClaim(AutomatorClaims.Scope, Scopes.ProvidersRead)
                        : Roles.Grants(c.User.FindFirst(AutomatorClaims.Role)?.Value, Scopes.ProvidersRead)))));

            o.DefaultPolicy = new AuthorizationPolicyBuilder(Scheme).RequireAuthenticatedUser().RequireClaim(AutomatorClaims.OrganizationId).Build();
        });
        return services;
    }
}
