using Microsoft.Extensions.Configuration;
using Automator.Delivery;
using Automator.Delivery.Providers;
using Automator.Delivery.Rendering;

namespace Automator.UnitTests.Delivery;

public sealed class RenderingTests
{
    private static readonly TrackingTokens Tokens = new("unit-test-signing-key-0123456789abcdef"u8.ToArray());
    private static readonly DeliveryOptions Options = new() { PublicBaseUrl = "https://mail.example.test", FromEmail = "hello@sender.example" };

    private static ComposeRequest Request(TemplateContent template, bool transactional = false, string? eventJson = null, string? postal = "1 Main St\nSpringfield") => new(
        Guid.NewGuid(), "journey-1:welcome:1", Guid.NewGuid(), "Acme Inc", postal, Guid.NewGuid(), "ada@example.com",
        "Ada", "Lovelace", "{\"plan\":\"pro\",\"seats\":3}", eventJson, Guid.NewGuid(), "journey-1", "welcome", template, null, transactional);

    private static MessageComposer Composer(DeliveryOptions? options = null) => new(new EmailRenderer(), Tokens, options ?? Options);

    [Fact]
    public void Valid_templates_have_no_errors()
    {
        Assert.Empty(TemplateSyntax.Validate("Hi {{ contact.firstName | default: \"there\" }}", "<p>{% if event.properties.x %}x{% endif %}</p>", null));
    }

    [Fact]
    public void A_syntax_error_names_the_field_line_and_column()
    {
        var errors = TemplateSyntax.Validate("Welcome", "<p>Hello</p>\n<p>{{ contact.firstName }</p>", "ok");

        var error = Assert.Single(errors);
        Assert.Equal("html", error.Field);
        Assert.Equal(2, error.Line);
        Assert.True(error.Column > 1);
        Assert.DoesNotContain("Source:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_part_is_reported()
    {
        var errors = TemplateSyntax.Validate("{% if %}", "fine", "{% foo %}");

        Assert.Equal(["subject", "text"], errors.Select(e => e.Field));
        Assert.All(errors, e => Assert.Equal(1, e.Line));
    }

    [Fact]
    public void An_unclosed_block_is_an_error()
    {
        var error = Assert.Single(TemplateSyntax.Validate(null, "line one\n{% if contact.email %} never closed", null));

        Assert.Equal(2, error.Line);
    }

    [Fact]
    public void Variables_from_contact_event_journey_and_organization_render()
    {
        var template = new TemplateContent(Guid.NewGuid(),
            "Hi {{ contact.firstName }}",
            "<p>{{ contact.firstName }} {{ contact.lastName }} ({{ contact.email }}) on {{ contact.properties.plan }} bought {{ event.properties.item }} - {{ organization.name }} step {{ journey.stepId }}</p>",
            null);

        var email = Composer().Compose(Request(template, eventJson: "{\"item\":\"Widget\"}"));

        Assert.Equal("Hi Ada", email.Subject);
        Assert.Contains("Ada Lovelace (ada@example.com) on pro bought Widget - Acme Inc step welcome", email.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_filter_fills_a_missing_value()
    {
        var template = new TemplateContent(Guid.NewGuid(), "Hello {{ contact.properties.nickname | default: \"there\" }}", "<p>x</p>", null);

        Assert.Equal("Hello there", Composer().Compose(Request(template)).Subject);
    }

    [Fact]
    public void Html_values_are_encoded_but_subject_and_text_are_not()
    {
        var template = new TemplateContent(Guid.NewGuid(), "{{ event.properties.item }}", "<p>{{ event.properties.item }}</p>", "{{ event.properties.item }}");

        var email = Composer().Compose(Request(template, eventJson: "{\"item\":\"<b>Tom & Jerry</b>\"}"));

        Assert.Equal("<b>Tom & Jerry</b>", email.Subject);
        Assert.Contains("&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;", email.Html, StringComparison.Ordinal);
        Assert.StartsWith("<b>Tom & Jerry</b>", email.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_part_is_derived_from_html_when_absent()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<html><head><style>p{}</style></head><body><h1>Welcome</h1><p>Hello <b>Ada</b>,<br>see <a href=\"https://example.com/docs\">the docs</a>.</p><ul><li>One</li><li>Two</li></ul></body></html>", null, Marketing: false);

        var email = Composer(new DeliveryOptions { PublicBaseUrl = "https://m.test", TrackLinks = false, TrackOpens = false }).Compose(Request(template, transactional: true));

        Assert.Equal("Welcome\n\nHello Ada,\nsee the docs (https://example.com/docs).\n\n- One\n- Two\n", email.Text);
    }

    [Fact]
    public void Marketing_mail_carries_one_click_unsubscribe_headers_and_the_postal_address()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<html><body><p>News</p></body></html>", null);

        var email = Composer().Compose(Request(template));

        var listUnsubscribe = Assert.Single(email.Headers, h => h.Name == "List-Unsubscribe").Value;
        Assert.StartsWith("<https://mail.example.test/u/", listUnsubscribe, StringComparison.Ordinal);
        Assert.Equal("List-Unsubscribe=One-Click", Assert.Single(email.Headers, h => h.Name == "List-Unsubscribe-Post").Value);
        Assert.Contains("1 Main St<br>Springfield", email.Html, StringComparison.Ordinal);
        Assert.Contains("Unsubscribe</a>", email.Html, StringComparison.Ordinal);
        Assert.Contains("1 Main St\nSpringfield", email.Text, StringComparison.Ordinal);
        Assert.Contains(listUnsubscribe.Trim('<', '>'), email.Text, StringComparison.Ordinal);
        Assert.True(email.Html.IndexOf("automator-footer", StringComparison.Ordinal) < email.Html.IndexOf("</body>", StringComparison.Ordinal));
    }

    [Fact]
    public void The_unsubscribe_url_variable_is_signed_and_readable()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<a href=\"{{ unsubscribe_url }}\">leave</a>", null);
        var request = Request(template);

        var email = Composer().Compose(request);

        var url = email.Headers.Single(h => h.Name == "List-Unsubscribe").Value.Trim('<', '>');
        Assert.Contains($"href=\"{url}\"", email.Html, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(email.Html, "Unsubscribe</a>|leave</a>"));
        Assert.True(Tokens.TryRead(url[(url.LastIndexOf('/') + 1)..], out var claim));
        Assert.Equal(new TrackingClaim(TrackingKind.Unsubscribe, request.SendId, request.OrganizationId, request.ContactId), claim);
    }

    [Fact]
    public void Transactional_mail_has_no_unsubscribe_or_footer()
    {
        var template = new TemplateContent(Guid.NewGuid(), "Your receipt", "<p>Paid</p>", null);

        var email = Composer().Compose(Request(template, transactional: true));

        Assert.Empty(email.Headers);
        Assert.DoesNotContain("automator-footer", email.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_are_rewritten_to_signed_click_redirects_and_an_open_pixel_is_added()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<body><a href=\"https://shop.example/p?id=1&amp;x=2\">buy</a> <a href='mailto:x@y.z'>mail</a></body>", null);
        var request = Request(template);

        var email = Composer().Compose(request);

        var click = System.Text.RegularExpressions.Regex.Match(email.Html, "https://mail\\.example\\.test/t/c/(?<t>[A-Za-z0-9_.-]+)");
        Assert.True(click.Success);
        Assert.True(Tokens.TryRead(click.Groups["t"].Value, out var claim));
        Assert.Equal(TrackingKind.Click, claim!.Kind);
        Assert.Equal("https://shop.example/p?id=1&x=2", claim.Url);
        Assert.Contains("href='mailto:x@y.z'", email.Html, StringComparison.Ordinal);
        Assert.Matches("<img src=\"https://mail\\.example\\.test/t/o/[A-Za-z0-9_.-]+\\.gif\"", email.Html);
        Assert.DoesNotContain("https://shop.example", email.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_message_has_its_own_message_id()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<p>x</p>", null);

        var a = Composer().Compose(Request(template));
        var b = Composer().Compose(Request(template));

        Assert.Matches("^<[0-9a-f]{32}@sender\\.example>$", a.MessageId);
        Assert.NotEqual(a.MessageId, b.MessageId);
    }

    [Fact]
    public void A_template_that_does_not_parse_fails_the_render_with_its_position()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<p>{{ oops </p>", null);

        var ex = Assert.Throws<TemplateRenderException>(() => Composer().Compose(Request(template)));

        Assert.Contains("html (1:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_runtime_error_fails_the_render_with_its_reason()
    {
        var template = new TemplateContent(Guid.NewGuid(), "s", "<p>{{ 1 | divided_by: 0 }}</p>", null);

        var ex = Assert.Throws<TemplateRenderException>(() => Composer().Compose(Request(template)));

        Assert.Contains("html", ex.Message, StringComparison.Ordinal);
        Assert.Contains("divide by zero", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tampered_tracking_tokens_are_rejected()
    {
        var token = Tokens.Create(new TrackingClaim(TrackingKind.Click, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), "https://a.example"));
        var other = new TrackingTokens("another-signing-key-0123456789abcdef"u8.ToArray());

        Assert.True(Tokens.TryRead(token, out _));
        Assert.False(other.TryRead(token, out _));
        Assert.False(Tokens.TryRead("A" + token, out _));
        Assert.False(Tokens.TryRead("garbage", out _));
        Assert.False(Tokens.TryRead("a.b", out _));
    }

    [Fact]
    public void Tracking_key_comes_from_tracking_config_then_jwt_config()
    {
        var claim = new TrackingClaim(TrackingKind.Open, Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var jwtOnly = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Automator:Jwt:SigningKey"] = "jwt-key-0123456789abcdef" }).Build();
        var both = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Automator:Jwt:SigningKey"] = "jwt-key-0123456789abcdef", ["Automator:Tracking:SigningKey"] = "tracking-key-0123456789abcdef" }).Build();

        var fromJwt = TrackingTokens.FromConfiguration(jwtOnly).Create(claim);

        Assert.True(new TrackingTokens("jwt-key-0123456789abcdef"u8.ToArray()).TryRead(fromJwt, out _));
        Assert.True(new TrackingTokens("tracking-key-0123456789abcdef"u8.ToArray()).TryRead(TrackingTokens.FromConfiguration(both).Create(claim), out _));
    }
}
