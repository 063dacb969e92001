using System.Text.Json;
using Automator.WebApi.Ai;

namespace Automator.UnitTests.Ai;

public sealed class ChatAnswerTests
{
    [Fact]
    public void A_schema_shaped_answer_is_read()
    {
        var variants = ChatVariantGenerator.Parse(VariantKind.Content, """{"variants":[{"subject":"Hi","html":"<p>Hi</p>"}]}""");

        Assert.Equal([new Variant("Hi", null, "<p>Hi</p>")], variants);
    }

    [Theory]
    [InlineData("Sure! Here are your subject lines: 1. Hello")]
    [InlineData("""{"subjects":["Hello"]}""")]
    [InlineData("""{"variants":[{"subject":"Hello"}]}""")]
    [InlineData("""{"variants":[{"subject":3,"rationale":"x"}]}""")]
    [InlineData("")]
    public void Anything_else_is_malformed(string answer)
    {
        var failure = Assert.Throws<AiProviderException>(() => ChatVariantGenerator.Parse(VariantKind.SubjectLines, answer));

        Assert.Equal(AiFailure.MalformedOutput, failure.Failure);
    }

    [Fact]
    public void The_schema_asks_for_the_fields_of_its_kind()
    {
        var schema = ChatVariantGenerator.Schema(VariantKind.SubjectLines);

        var item = schema.GetProperty("properties").GetProperty("variants").GetProperty("items");
        Assert.Equal(["subject", "rationale"], item.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.False(item.GetProperty("additionalProperties").GetBoolean());
        Assert.Equal(JsonValueKind.Object, ChatVariantGenerator.Schema(VariantKind.Content).GetProperty("properties").GetProperty("variants").GetProperty("items").GetProperty("properties").GetProperty("html").ValueKind);
    }
}
