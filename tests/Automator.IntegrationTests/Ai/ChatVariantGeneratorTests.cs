using System.ClientModel;
using System.ClientModel.Primitives;
using Automator.Infrastructure.Database;
using Automator.WebApi.Ai;
using Microsoft.Extensions.AI;
using OpenAI;
using WireMock.ResponseBuilders;
using WireMock.Server;
using Request = WireMock.RequestBuilders.Request;

namespace Automator.IntegrationTests.Ai;

/// <summary>The OpenAI-backed generator on its own, for the failures the whole system cannot stage cheaply.</summary>
public sealed class ChatVariantGeneratorTests
{
    private static readonly VariantBrief Brief = new(VariantKind.SubjectLines, 1, "Spring sale", null, null);

    private static ChatVariantGenerator Generator(string baseUrl) =>
        new(new OpenAIClient(new ApiKeyCredential("sk-test"), new OpenAIClientOptions { Endpoint = new Uri(baseUrl), RetryPolicy = new ClientRetryPolicy(0) })
                .GetChatClient("gpt-test-mini").AsIChatClient(),
            new AiOptions { Model = "gpt-test-mini", MaxAttempts = 2, RetryDelay = TimeSpan.Zero, Timeout = TimeSpan.FromSeconds(10) },
            TimeProvider.System);

    [Fact]
    public async Task A_provider_nobody_listens_on_is_unreachable()
    {
        var closedPort = LocalPostgresServer.FreePort();

        var failure = await Assert.ThrowsAsync<AiProviderException>(() => Generator($"http://127.0.0.1:{closedPort}/v1").GenerateAsync(Brief, default));

        Assert.Equal(AiFailure.Unreachable, failure.Failure);
        Assert.Equal("provider_unreachable", failure.Failure.Cause());
    }

    [Fact]
    public async Task A_refused_key_is_a_provider_error_without_retries()
    {
        using var provider = WireMockServer.Start();
        provider.Given(Request.Create().WithPath("/v1/chat/completions").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(401).WithHeader("Content-Type", "application/json")
                .WithBody("""{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"""));

        var failure = await Assert.ThrowsAsync<AiProviderException>(() => Generator(provider.Url + "/v1").GenerateAsync(Brief, default));

        Assert.Equal(AiFailure.ProviderError, failure.Failure);
        Assert.Contains("HTTP 401", failure.Message, StringComparison.Ordinal);
        Assert.Single(provider.LogEntries);
    }
}
