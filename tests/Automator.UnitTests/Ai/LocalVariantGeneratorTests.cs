using Automator.WebApi.Ai;

namespace Automator.UnitTests.Ai;

public sealed class LocalVariantGeneratorTests
{
    private static readonly TemplateSource Welcome = new(
        "Welcome", "Welcome aboard, {{ contact.firstName | default: \"friend\" }}!",
        "<p>Hi {{ contact.firstName }},</p>{% if contact.plan == \"pro\" %}<p>Your Pro tools are ready.</p>{% endif %}");

    public static TheoryData<VariantKind, int, string?, string?, bool> Inputs => new()
    {
        { VariantKind.SubjectLines, 1, "Spring sale on hiking boots. 20% off until Sunday.", null, false },
        { VariantKind.SubjectLines, 10, "Spring sale on hiking boots", "urgent", false },
        { VariantKind.SubjectLines, 5, null, null, true },
        { VariantKind.SubjectLines, 3, "{{ contact.email }} <script>alert(1)</script> }} {% oops", "playful", false },
        { VariantKind.Content, 1, "Invite trial users to book an onboarding call", null, false },
        { VariantKind.Content, 10, "Invite trial users to book an onboarding call", "friendly", true },
        { VariantKind.Content, 4, "Broken {{ liquid and <script>x</script> in the brief %}", null, true },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Same_input_gives_the_same_variants(VariantKind kind, int count, string? brief, string? tone, bool withTemplate)
    {
        var input = new VariantBrief(kind, count, brief, tone, withTemplate ? Welcome : null);

        var first = LocalVariantGenerator.Generate(input);
        var second = LocalVariantGenerator.Generate(input with { Template = withTemplate ? Welcome with { } : null });

        Assert.Equal(first.Variants, second.Variants);
        Assert.Equal(first.Tokens, second.Tokens);
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Its_variants_pass_the_output_checks(VariantKind kind, int count, string? brief, string? tone, bool withTemplate)
    {
        var input = new VariantBrief(kind, count, brief, tone, withTemplate ? Welcome : null);

        var generation = LocalVariantGenerator.Generate(input);

        Assert.Empty(VariantRules.Check(kind, count, generation.Variants));
        Assert.Equal(count, generation.Variants.Select(v => v.Subject).Distinct().Count());
        Assert.True(generation.Tokens > 0);
    }

    [Fact]
    public void Subject_lines_carry_a_rationale_and_content_carries_html()
    {
        var subjects = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.SubjectLines, 3, "Spring sale", null, null));
        var content = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.Content, 3, "Spring sale", null, Welcome));

        Assert.All(subjects.Variants, v => Assert.False(string.IsNullOrWhiteSpace(v.Rationale)));
        Assert.All(subjects.Variants, v => Assert.Null(v.Html));
        Assert.All(content.Variants, v => Assert.Contains("Spring sale", v.Html!, StringComparison.Ordinal));
        Assert.All(content.Variants, v => Assert.Contains("{% if contact.plan == \"pro\" %}", v.Html!, StringComparison.Ordinal));
    }

    [Fact]
    public void The_longest_brief_and_template_still_give_bodies_within_the_limit()
    {
        var brief = string.Concat(Enumerable.Repeat("Ünïcødé & <ta> \"q\" ", 4000 / 20));
        var template = new TemplateSource("Big", "Big", "<p>" + new string('x', VariantRules.MaxHtmlLength - 10) + "</p>");

        var generation = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.Content, 10, brief, "urgent", template));

        Assert.Empty(VariantRules.Check(VariantKind.Content, 10, generation.Variants));
    }

    [Fact]
    public void A_different_brief_gives_different_variants()
    {
        var spring = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.SubjectLines, 3, "Spring sale", null, null));
        var autumn = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.SubjectLines, 3, "Autumn sale", null, null));

        Assert.NotEqual(spring.Variants, autumn.Variants);
    }

    [Fact]
    public void The_topic_comes_from_the_template_subject_without_its_liquid()
    {
        var generation = LocalVariantGenerator.Generate(new VariantBrief(VariantKind.SubjectLines, 10, null, null, Welcome));

        Assert.Contains(generation.Variants, v => v.Subject.Contains("Welcome aboard", StringComparison.Ordinal));
        Assert.DoesNotContain(generation.Variants, v => v.Subject.Contains("friend", StringComparison.Ordinal));
    }
}
