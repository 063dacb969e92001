using Automator.WebApi.Auth;
using Automator.WebApi.Identity;
using Automator.Workflows;
using Npgsql;

namespace Automator.Silo.Demo;

/// <summary>Settings under <c>Automator:Demo</c>: what <c>run.sh</c> seeds on first start.</summary>
public sealed class DemoOptions
{
    public const string Section = "Automator:Demo";

    public bool Seed { get; set; }

    public string Email { get; set; } = "demo@automator.local";

    public string Password { get; set; } = "demo-password";

    /// <summary>A fixed key so the README's curl line works on every local run; never used outside local mode.</summary>
    public string ApiKey { get; set; } = "ak_demo_local_development_key";
}

/// <summary>
/// Seeds a demo organization (owner login, two templates, an active "Welcome series" workflow triggered by
/// <c>signed_up</c>, then the API key) once, after the silo has started. A later start finds it and only completes what a start cut short left out.
/// </summary>
internal sealed class DemoSeeder(
    DemoOptions options,
    NpgsqlDataSource dataSource,
    Passwords passwords,
    IGrainFactory grains,
    IHostApplicationLifetime lifetime,
    IConfiguration configuration,
    ILogger<DemoSeeder> logger) : IHostedService
{
    private static readonly Guid OrganizationId = Guid.Parse("00000000-0000-4000-8000-00000000de00");
    private static readonly Guid UserId = Guid.Parse("00000000-0000-4000-8000-00000000de01");
    private static readonly Guid ApiKeyId = Guid.Parse("00000000-0000-4000-8000-00000000de02");
    private static readonly Guid WelcomeTemplateId = Guid.Parse("00000000-0000-4000-8000-00000000de03");
    private static readonly Guid NudgeTemplateId = Guid.Parse("00000000-0000-4000-8000-00000000de04");
    private static readonly Guid WorkflowId = Guid.Parse("00000000-0000-4000-8000-00000000de05");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Seed once the silo (and the grains the workflow needs) is up.
        lifetime.ApplicationStarted.Register(() => _ = SeedAndAnnounceAsync());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task SeedAndAnnounceAsync()
    {
        try
        {
            var seeded = await SeedAsync(lifetime.ApplicationStopping);
            var url = (configuration["urls"] ?? configuration["ASPNETCORE_URLS"] ?? "http://localhost:5000").Split(';')[0];
            logger.LogInformation(
                """

                ================================================================================
                 Automator is running{Seeded}
                   dashboard     {Url}/
                   API reference {Url}/scalar
                   Orleans       {Url}/orleans
                   demo login    {Email} / {Password}
                   demo API key  {ApiKey}
                 Try it:
                   curl -s -X POST {Url}/v1/events -H 'X-Api-Key: {ApiKey}' -H 'Content-Type: application/json' -d '{{"email":"ada@example.com","name":"signed_up"}}'
                   ls outbox/
                ================================================================================
                """,
                seeded ? " (demo data seeded)" : "", url, url, url, options.Email, options.Password, options.ApiKey, url, options.ApiKey);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or OrleansException or TimeoutException)
        {
            logger.LogError(ex, "Seeding the demo organization failed.");
        }
    }

    /// <returns>True when this call created the demo data.</returns>
    public async Task<bool> SeedAsync(CancellationToken cancellationToken)
    {
        await using (var exists = dataSource.CreateCommand("SELECT 1 FROM organizations WHERE id = @id"))
        {
            exists.Parameters.AddWithValue("id", OrganizationId);
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                await EnsureWorkflowAsync();
                await EnsureApiKeyAsync(cancellationToken);
                return false;
            }
        }

        await using (var batch = dataSource.CreateBatch())
        {
            batch.BatchCommands.Add(Command(
                "INSERT INTO organizations (id, name, postal_address) VALUES (@id, 'Demo Co', '1 Demo Street, Springfield, 00000, USA')",
                ("id", OrganizationId)));
            batch.BatchCommands.Add(Command(
                "INSERT INTO users (id, organization_id, email, password_hash, role, email_verified_at) VALUES (@id, @org, @email, @hash, 'owner', now())",
                ("id", UserId), ("org", OrganizationId), ("email", options.Email), ("hash", passwords.Hash(options.Password))));
            batch.BatchCommands.Add(Command(
                "INSERT INTO email_templates (id, organization_id, name, subject, html) VALUES (@id, @org, 'Welcome', @subject, @html)",
                ("id", WelcomeTemplateId), ("org", OrganizationId), ("subject", "Welcome aboard, {{ contact.firstName | default: \"there\" }}!"),
                ("html", "<h1>Welcome, {{ contact.firstName | default: \"there\" }}!</h1><p>Thanks for signing up. <a href=\"https://example.com/start\">Get started</a>.</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>")));
            batch.BatchCommands.Add(Command(
                "INSERT INTO email_templates (id, organization_id, name, subject, html) VALUES (@id, @org, 'Nudge', @subject, @html)",
                ("id", NudgeTemplateId), ("org", OrganizationId), ("subject", "Still there, {{ contact.firstName | default: \"friend\" }}?"),
                ("html", "<p>You signed up but have not opened our welcome yet. <a href=\"https://example.com/start\">Take a look</a>.</p><p><a href=\"{{ unsubscribe_url }}\">Unsubscribe</a></p>")));
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await EnsureWorkflowAsync();
        await EnsureApiKeyAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// The key goes in last: the README's curl line answers 401 until the welcome workflow is active, rather than
    /// accepting an event that no workflow is ready to start on.
    /// </summary>
    private async Task EnsureApiKeyAsync(CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Command(
            "INSERT INTO api_keys (id, organization_id, name, prefix, key_hash, scopes, created_by) VALUES (@id, @org, 'Demo sender', @prefix, @hash, @scopes, @user) ON CONFLICT (id) DO NOTHING",
            ("id", ApiKeyId), ("org", OrganizationId), ("prefix", options.ApiKey[..8]), ("hash", ApiKeyAuthenticationHandler.Hash(options.ApiKey)),
            ("scopes", Scopes.All.ToArray()), ("user", UserId)));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task EnsureWorkflowAsync()
    {
        var workflow = grains.GetGrain<IWorkflowGrain>(WorkflowKey.Of(OrganizationId, WorkflowId));
        var info = await workflow.GetAsync();
        if (info is null)
        {
            var created = await workflow.CreateAsync(WelcomeSeries, "event", "Welcome series");
            EnsureOk(created, "create");
        }

        if (info?.Status is null or WorkflowStatuses.Draft)
        {
            EnsureOk(await workflow.ActivateAsync(UserId), "activate");
        }
    }

    private static void EnsureOk(WorkflowResult result, string what)
    {
        if (result.Error is not null)
        {
            throw new InvalidOperationException($"Demo workflow {what} failed: {result.Error}: {result.Message}");
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private static readonly string WelcomeSeries = $$"""
        {
          "name": "Welcome series",
          "trigger": { "type": "event", "event": "signed_up" },
          "settings": { "reentry": "never", "exitEvents": ["unsubscribed"], "goalEvent": "purchased", "timeZone": "UTC" },
          "start": "welcome",
          "steps": [
            { "id": "welcome", "type": "send", "templateId": "{{WelcomeTemplateId}}", "next": "wait" },
            { "id": "wait", "type": "delay", "duration": "P2D", "next": "opened?" },
            { "id": "opened?", "type": "branch", "conditions": [ { "when": { "opened": "welcome" }, "next": "buy" } ], "else": "nudge" },
            { "id": "nudge", "type": "send", "templateId": "{{NudgeTemplateId}}", "next": null },
            { "id": "buy", "type": "waitForEvent", "event": "purchased", "timeout": "P3D", "next": null }
          ]
        }
        """;
}
