using Automator.Delivery.Rendering;

namespace Automator.UnitTests.Delivery;

/// <summary>A template cannot build more than its part's cap, whatever it does in memory.</summary>
public sealed class RenderLimitsTests
{
    private const string Doubling = "{% assign s = \"x\" %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s }}";

    private static RenderModel Model() => new(
        new Dictionary<string, object?> { ["firstName"] = "Ada" }, new Dictionary<string, object?>(), new Dictionary<string, object?>(),
        new Dictionary<string, object?>(), "https://example.test/u/x");

    private static RenderedContent Render(string subject, string html, string? text = null) =>
        new EmailRenderer().Render(new TemplateContent(Guid.NewGuid(), subject, html, text), Model());

    [Fact]
    public void A_string_doubled_in_a_loop_fails_naming_the_part()
    {
        var error = Assert.Throws<TemplateRenderException>(() => Render("Hi", Doubling));

        Assert.Contains("html", error.Message, StringComparison.Ordinal);
        Assert.Contains("1,048,576", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_capture_doubled_in_a_loop_fails()
    {
        var html = "{% assign s = \"x\" %}{% for i in (1..30) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}{{ s }}";

        var error = Assert.Throws<TemplateRenderException>(() => Render("Hi", html));

        Assert.Contains("captured", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_doubled_in_a_loop_fails()
    {
        var html = "{% assign a = \"x,y\" | split: \",\" %}{% for i in (1..30) %}{% assign a = a | concat: a %}{% endfor %}{{ a.size }}";

        Assert.Throws<TemplateRenderException>(() => Render("Hi", html));
    }

    [Fact]
    public void Output_over_a_parts_cap_fails_naming_the_part()
    {
        var subject = "{% for i in (1..200) %}0123456789{% endfor %}";

        var error = Assert.Throws<TemplateRenderException>(() => Render(subject, "<p>ok</p>"));

        Assert.Contains("subject", error.Message, StringComparison.Ordinal);
        Assert.Contains("1,000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_output_over_its_cap_fails_naming_text()
    {
        var text = "{% assign s = \"0123456789\" %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}{% for i in (1..2) %}{{ s }}{% endfor %}";

        var error = Assert.Throws<TemplateRenderException>(() => Render("Hi", "<p>ok</p>", text));

        Assert.Contains("text", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Templates_within_the_caps_render_as_before()
    {
        var rendered = Render("Hi {{ contact.firstName }}", "{% capture greeting %}Hello {{ contact.firstName }}{% endcapture %}<p>{{ greeting | append: \"!\" }}</p>", "Bye");

        Assert.Equal("Hi Ada", rendered.Subject);
        Assert.Equal("<p>Hello Ada!</p>", rendered.Html);
        Assert.Equal("Bye", rendered.Text);
    }
}
