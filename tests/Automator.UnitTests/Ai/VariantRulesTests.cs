using Automator.WebApi.Ai;

namespace Automator.UnitTests.Ai;

public sealed class VariantRulesTests
{
    private static IReadOnlyList<string> Subject(string subject) =>
        VariantRules.Check(VariantKind.SubjectLines, 1, [new Variant(subject, "Because it is short.", null)]);

    private static IReadOnlyList<string> Html(string html) =>
        VariantRules.Check(VariantKind.Content, 1, [new Variant("Hello", null, html)]);

    [Theory]
    [InlineData("Hello {{ contact.firstName | default: \"there\" }}")]
    [InlineData("{% if contact.plan %}Pro{% else %}Free{% endif %} news")]
    [InlineData("50% off { not liquid }")]
    public void Valid_subjects_pass(string subject) => Assert.Empty(Subject(subject));

    [Theory]
    [InlineData("Hello {{ contact.firstName", "unclosed '{{'")]
    [InlineData("Hello contact.firstName }}", "without its opening")]
    [InlineData("{% if x %}yes", "not valid Liquid")]
    [InlineData("{{ a {{ b }}", "opened again")]
    [InlineData("Hi {% if %} there", "not valid Liquid")]
    [InlineData("", "is empty")]
    [InlineData("Line one\nline two", "several lines")]
    public void Broken_subjects_are_named(string subject, string expected) =>
        Assert.Contains(Subject(subject), p => p.Contains(expected, StringComparison.Ordinal) && p.Contains("variants[0].subject", StringComparison.Ordinal));

    [Fact]
    public void A_subject_over_the_limit_is_refused() =>
        Assert.Contains(Subject(new string('a', VariantRules.MaxSubjectLength + 1)), p => p.Contains("longer than", StringComparison.Ordinal));

    [Theory]
    [InlineData("<p>Hi</p><script>alert(1)</script>")]
    [InlineData("<p>Hi</p><SCRIPT src=\"x.js\"></SCRIPT>")]
    public void Script_in_html_is_refused(string html) =>
        Assert.Contains(Html(html), p => p.Contains("<script>", StringComparison.Ordinal) && p.Contains("variants[0].html", StringComparison.Ordinal));

    [Fact]
    public void Html_over_the_limit_is_refused() =>
        Assert.Contains(Html("<p>" + new string('a', VariantRules.MaxHtmlLength) + "</p>"), p => p.Contains("longer than", StringComparison.Ordinal));

    [Fact]
    public void The_number_of_variants_must_be_the_one_asked_for() =>
        Assert.Contains(VariantRules.Check(VariantKind.SubjectLines, 2, [new Variant("One", "Why.", null)]), p => p.Contains("expected 2 variants, got 1", StringComparison.Ordinal));

    [Fact]
    public void A_subject_line_without_a_rationale_is_refused() =>
        Assert.Contains(VariantRules.Check(VariantKind.SubjectLines, 1, [new Variant("One", null, null)]), p => p.Contains("variants[0].rationale is empty", StringComparison.Ordinal));
}
