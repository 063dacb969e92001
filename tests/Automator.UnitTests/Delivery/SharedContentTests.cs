using Automator.Delivery;
using Automator.Delivery.Providers;
using Automator.Delivery.Rendering;
using Newtonsoft.Json.Linq;

namespace Automator.UnitTests.Delivery;

public sealed class SharedContentTests
{
    private static readonly TrackingTokens Tokens = new("unit-test-signing-key-0123456789abcdef"u8.ToArray());
    private static readonly DeliveryOptions Options = new() { PublicBaseUrl = "https://mail.example.test", FromEmail = "hello@sender.example" };
    private static readonly TemplateContent Template = new(
        Guid.NewGuid(), "Hello {{ contact.firstName }}",
        "<html><body><p>Hi {{ contact.firstName }} ({{ contact.email }}), see <a href=\"https://shop.example/a\">a</a> and <a href=\"https://shop.example/b\">b</a>.</p></body></html>",
        null);

    private static OutboundEmail Compose(MessageComposer composer, Guid organizationId, string email, string? firstName, TemplateContent? template = null) =>
        composer.Compose(new ComposeRequest(
            Guid.CreateVersion7(), $"journey-{Guid.NewGuid():N}:welcome:1", organizationId, "Acme Inc", "1 Main St", Guid.NewGuid(), email,
            firstName, "Lovelace", null, null, Guid.NewGuid(), "journey-1", "welcome", template ?? Template, null, false));

    [Fact]
    public void Recipients_of_one_template_share_content_and_get_their_own_values_back_exactly()
    {
        var plain = new MessageComposer(new EmailRenderer(), Tokens, Options);
        var organizationId = Guid.NewGuid();

        var ada = Compose(plain, organizationId, "ada@example.com", "Ada");
        var grace = Compose(plain, organizationId, "grace@example.com", "Grace");

        Assert.NotNull(ada.Shared);
        Assert.Same(ada.Shared, grace.Shared);
        Assert.DoesNotContain("https://mail.example.test/", ada.Shared.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("Ada", ada.Shared.Html, StringComparison.Ordinal);
        Assert.Equal("Hello Ada", ada.Subject);
        Assert.Equal("Hello Ada", ada.Shared.Resolve(ada.Shared.Subject, ada.Substitutions));
        Assert.Contains("Hi Ada (ada@example.com)", ada.Html, StringComparison.Ordinal);
        Assert.Contains("Hi Grace (grace@example.com)", grace.Html, StringComparison.Ordinal);
        Assert.Contains(ada.Headers.Single(h => h.Name == "List-Unsubscribe").Value.Trim('<', '>'), ada.Html, StringComparison.Ordinal);
        Assert.Contains(ada.Headers.Single(h => h.Name == "List-Unsubscribe").Value.Trim('<', '>'), ada.Text, StringComparison.Ordinal);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(ada.Html, "https://mail\\.example\\.test/t/c/"));
        Assert.All(ada.Substitutions, s => Assert.Matches("^%%\\d+%%$", s.Tag));
    }

    [Fact]
    public void Content_differs_between_organizations_and_where_the_template_already_uses_the_tag_mark()
    {
        var composer = new MessageComposer(new EmailRenderer(), Tokens, Options);

        var one = Compose(composer, Guid.NewGuid(), "ada@example.com", "Ada");
        var other = Compose(composer, Guid.NewGuid(), "ada@example.com", "Ada");
        var percent = Compose(composer, Guid.NewGuid(), "ada@example.com", "Ada", Template with { Html = "<p>100%% sure, {{ contact.firstName }}</p>" });

        Assert.NotEqual(one.Shared!.Key, other.Shared!.Key);
        Assert.Null(percent.Shared);
        Assert.Empty(percent.Substitutions);
        Assert.Contains("100%% sure, Ada", percent.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void Values_that_could_collide_with_tags_stay_in_the_shared_content()
    {
        var splitter = new SharedContentSplitter();

        var split = splitter.Split("org", "Hi 42 and 5%", "<p>Hi 42 and 5% and Bo</p>", "Hi", ["42", "5%", "Bo", "https://x.test/u/1"]);

        Assert.NotNull(split);
        Assert.Empty(split.Value.Substitutions);
        Assert.Equal("<p>Hi 42 and 5% and Bo</p>", split.Value.Shared.Html);
    }

    [Fact]
    public void A_message_whose_values_exceed_a_personalizations_limit_is_not_shared()
    {
        var splitter = new SharedContentSplitter();
        var urls = Enumerable.Range(0, 60).Select(i => $"https://mail.example.test/t/c/{i}-{new string('x', 200)}").ToList();
        var html = string.Concat(urls.Select(u => $"<a href=\"{u}\">link</a>"));

        Assert.Null(splitter.Split("org", "Hi", html, "Hi", urls));
        Assert.NotNull(splitter.Split("org", "Hi", html, "Hi", urls.Take(10)));
    }

    [Fact]
    public void Leased_sends_group_by_shared_content_in_requests_of_at_most_the_limit()
    {
        var sends = Enumerable.Range(0, 2500).Select(i => (Id: i, Key: (string?)"a"))
            .Concat(Enumerable.Range(2500, 3).Select(i => (Id: i, Key: (string?)"b")))
            .Concat(Enumerable.Range(2503, 2).Select(i => (Id: i, Key: (string?)null)))
            .ToList();

        var groups = PersonalizationBatches.Group(sends, s => s.Key, 1000);
        var single = PersonalizationBatches.Group(sends, s => s.Key, 1);

        Assert.Equal([1000, 1000, 500, 3, 1, 1], groups.Select(g => g.Count).OrderByDescending(c => c));
        Assert.Equal(sends.Count, groups.Sum(g => g.Count));
        Assert.All(groups, g => Assert.Single(g.Select(s => s.Key).Distinct()));
        Assert.Equal(sends.Count, single.Count);
    }

    [Fact]
    public void A_sendgrid_batch_carries_each_recipients_address_substitutions_headers_and_send_key()
    {
        var composer = new MessageComposer(new EmailRenderer(), Tokens, Options);
        var organizationId = Guid.NewGuid();
        var emails = Enumerable.Range(0, 3).Select(i => Compose(composer, organizationId, $"r{i}@example.com", null)).ToList();

        var json = JObject.Parse(SendGridRequestBuilder.Batch(emails).Serialize());

        var personalizations = json["personalizations"]!.ToList();
        Assert.Equal(3, personalizations.Count);
        Assert.Equal(emails[0].Shared!.Html, (string?)json["content"]!.Single(c => (string?)c["type"] == "text/html")!["value"]);
        for (var i = 0; i < 3; i++)
        {
            var p = personalizations[i];
            Assert.Equal($"r{i}@example.com", (string?)p["to"]![0]!["email"]);
            Assert.Equal(emails[i].SendKey, (string?)p["custom_args"]!["send_key"]);
            Assert.Equal(emails[i].MessageId, (string?)p["headers"]!["Message-ID"]);
            Assert.Equal(emails[i].Headers.Single(h => h.Name == "List-Unsubscribe").Value, (string?)p["headers"]!["List-Unsubscribe"]);
            var substitutions = ((JObject)p["substitutions"]!).Properties().Select(s => new Substitution(s.Name, (string)s.Value!)).ToList();
            Assert.Equal(emails[i].Html, emails[i].Shared!.Resolve(emails[i].Shared!.Html, substitutions));
        }

        Assert.Throws<ArgumentException>(() => SendGridRequestBuilder.Batch([emails[0], Compose(composer, Guid.NewGuid(), "x@example.com", null)]));
    }
}
