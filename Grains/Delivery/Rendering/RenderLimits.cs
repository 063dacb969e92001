using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Automator.Delivery.Rendering;

/// <summary>A template part that went over a rendering limit (output length, value size or time); names the part.</summary>
public sealed class TemplateLimitException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Bounds what rendering one template part may cost, in preview and at send time. Fluid's step count bounds statements
/// but not the size of what they build: a string doubled in a loop of 30 reaches gigabytes in 60 steps. So each part
/// renders into a writer capped at its length, every value a filter, an assignment or a capture produces is capped,
/// and the part has a time budget checked on each write, filter call and assignment.
/// </summary>
public static class RenderLimits
{
    public const int SubjectChars = 1_000;
    public const int HtmlChars = 1_048_576;
    public const int TextChars = 524_288;

    /// <summary>The longest string (and the most array items) a filter, <c>assign</c> or <c>capture</c> may produce.</summary>
    public const int ValueChars = 1_048_576;
    public const int ArrayItems = 100_000;

    public static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(2);

    private const string BudgetKey = "automator.renderBudget";

    public static int MaxChars(string field) => field switch
    {
        "subject" => SubjectChars,
        "text" => TextChars,
        _ => HtmlChars,
    };

    /// <summary>Wraps every filter of the options and checks each assignment and capture against the limits.</summary>
    public static TemplateOptions Bound(TemplateOptions options)
    {
        foreach (var (name, filter) in options.Filters.ToList())
        {
            options.Filters.AddFilter(name, async (input, arguments, context) =>
            {
                var budget = Budget(context);
                budget?.CheckTime();
                var result = await filter(input, arguments, context);
                budget?.CheckValue(result);
                return result;
            });
        }

        options.Assigned = (identifier, value, context) =>
        {
            Budget(context)?.CheckValue(value);
            return new ValueTask<FluidValue>(value);
        };
        return options;
    }

    /// <summary>Replaces the parser's <c>capture</c> block by one that renders into a capped writer.</summary>
    public static FluidParser Bound(FluidParser parser)
    {
        parser.RegisterIdentifierBlock("capture", async (identifier, statements, _, encoder, context) =>
        {
            context.IncrementSteps();
            var budget = Budget(context);
            using var writer = new CappedWriter(ValueChars, budget, "a captured value");
            foreach (var statement in statements)
            {
                var completion = await statement.WriteToAsync(writer, encoder, context);
                if (completion != Completion.Normal)
                {
                    return completion;
                }
            }

            context.SetValue(identifier, new StringValue(writer.ToString()));
            return Completion.Normal;
        });
        return parser;
    }

    /// <summary>Renders one part within its length cap and the time budget, or throws <see cref="TemplateLimitException"/>.</summary>
    public static async ValueTask<string> RenderAsync(IFluidTemplate template, TemplateContext context, TextEncoder encoder, string field, TimeProvider time)
    {
        var budget = new RenderBudget(field, time);
        context.AmbientValues[BudgetKey] = budget;
        try
        {
            using var writer = new CappedWriter(MaxChars(field), budget, "its output");
            await template.RenderAsync(writer, encoder, context);
            return writer.ToString();
        }
        finally
        {
            context.AmbientValues.Remove(BudgetKey);
        }
    }

    private static RenderBudget? Budget(TemplateContext context) =>
        context.AmbientValues.TryGetValue(BudgetKey, out var value) ? value as RenderBudget : null;

    private sealed class RenderBudget(string part, TimeProvider time)
    {
        private readonly long _started = time.GetTimestamp();

        public string Field => part;

        public void CheckTime()
        {
            if (time.GetElapsedTime(_started) > TimeBudget)
            {
                throw new TemplateLimitException(part, string.Create(CultureInfo.InvariantCulture, $"The template's {part} took longer than {TimeBudget.TotalSeconds:0} s to render."));
            }
        }

        public void CheckValue(FluidValue value)
        {
            if (value is StringValue && value.ToStringValue().Length > ValueChars)
            {
                throw new TemplateLimitException(part, string.Create(CultureInfo.InvariantCulture, $"The template's {part} builds a value longer than {ValueChars:N0} characters."));
            }

            if (value is ArrayValue array && array.Values.Count > ArrayItems)
            {
                throw new TemplateLimitException(part, string.Create(CultureInfo.InvariantCulture, $"The template's {part} builds a list of more than {ArrayItems:N0} items."));
            }
        }
    }

    private sealed class CappedWriter(int maxChars, RenderBudget? budget, string what) : TextWriter
    {
        private readonly StringBuilder _builder = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => Append(new ReadOnlySpan<char>(in value));

        public override void Write(char[] buffer, int index, int count) => Append(buffer.AsSpan(index, count));

        public override void Write(ReadOnlySpan<char> buffer) => Append(buffer);

        public override void Write(string? value) => Append(value.AsSpan());

        public override Task WriteAsync(char value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(char[] buffer, int index, int count)
        {
            Write(buffer, index, count);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return Task.CompletedTask;
        }

        public override string ToString() => _builder.ToString();

        private void Append(ReadOnlySpan<char> chars)
        {
            budget?.CheckTime();
            if (_builder.Length + chars.Length > maxChars)
            {
                var field = budget?.Field ?? "template";
                throw new TemplateLimitException(field, string.Create(CultureInfo.InvariantCulture, $"The template's {field}: {what} is longer than {maxChars:N0} characters."));
            }

            _builder.Append(chars);
        }
    }
}
