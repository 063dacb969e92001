using Automator.WebApi.Ai;

namespace Automator.UnitTests.Ai;

public sealed class AiOptionsTests
{
    [Fact]
    public void The_defaults_are_valid() => Assert.Empty(AiOptionsValidator.Problems(new AiOptions()));

    [Theory]
    [InlineData("BaseUrl")]
    [InlineData("Timeout")]
    [InlineData("MaxAttempts")]
    [InlineData("RetryDelay")]
    [InlineData("CacheDuration")]
    [InlineData("DailyRequests")]
    [InlineData("Model")]
    public void A_setting_that_would_fail_every_request_fails_start_up_naming_it(string setting)
    {
        var options = setting switch
        {
            "BaseUrl" => new AiOptions { BaseUrl = "api.openai.com/v1" },
            "Timeout" => new AiOptions { Timeout = TimeSpan.Zero },
            "MaxAttempts" => new AiOptions { MaxAttempts = 0 },
            "RetryDelay" => new AiOptions { RetryDelay = TimeSpan.FromSeconds(-1) },
            "CacheDuration" => new AiOptions { CacheDuration = TimeSpan.FromSeconds(-1) },
            "DailyRequests" => new AiOptions { DailyRequests = -1 },
            _ => new AiOptions { Model = " " },
        };

        Assert.Contains(AiOptionsValidator.Problems(options), p => p.Contains(setting, StringComparison.Ordinal));
    }
}
