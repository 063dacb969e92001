using Automator.Delivery.Rendering;
using CsCheck;

namespace Automator.UnitTests.Properties;

/// <summary>
/// The shared-content splitter over generated messages and per-recipient values: whenever it splits, putting the values
/// back into the shared subject, HTML and text gives the rendered message exactly.
/// </summary>
public sealed class SharedContentProperties
{
    // Letters, digits, '%' (the tag mark's character), and the characters URLs and markup bring.
    private static readonly Gen<string> Value = Gen.String[Gen.Char["ab1%:/.=?&<> "], 0, 12];

    private static readonly Gen<(string Subject, string Html, string Text, string?[] Values)> Message =
        Value.Array[1, 6].SelectMany(values =>
        {
            // Parts are made of the values themselves and of filler around them, so values do occur (and overlap).
            var piece = Gen.Frequency((2, Gen.Int[0, values.Length - 1].Select(i => values[i])), (1, Value));
            var part = piece.Array[0, 8].Select(p => string.Concat(p));
            return Gen.Select(part, part, part, Gen.Int[0, 2], (subject, html, text, nulls) =>
                (subject, html, text, values.Select((v, i) => i < nulls ? null : v).ToArray()));
        });

    [Fact]
    public void Splitting_then_putting_the_values_back_gives_the_message_exactly()
    {
        var splitter = new SharedContentSplitter();
        var split = 0;
        Message.Sample(m =>
        {
            var result = splitter.Split("org|marketing|from", m.Subject, m.Html, m.Text, m.Values);
            if (result is not { } r)
            {
                // Refused: the message already used the tag mark, or tags next to each other would spell another one.
                return;
            }

            Interlocked.Increment(ref split);
            Assert.Equal(m.Subject, r.Shared.Resolve(r.Shared.Subject, r.Substitutions));
            Assert.Equal(m.Html, r.Shared.Resolve(r.Shared.Html, r.Substitutions));
            Assert.Equal(m.Text, r.Shared.Resolve(r.Shared.Text, r.Substitutions));
            Assert.All(r.Substitutions, s => Assert.DoesNotContain(s.Value, r.Shared.Html, StringComparison.Ordinal));
        }, iter: 5_000, threads: 1);

        // The generator must exercise the split itself, not only refusals.
        Assert.True(split > 1_000, $"only {split} messages were split");
    }
}
