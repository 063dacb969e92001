using System.Globalization;
using System.Text.Json;

namespace Automator.Workflows;

/// <summary>What a condition can look at: the contact's properties, an event's properties, the journey's sends and events.</summary>
public sealed class ConditionScope
{
    public static readonly ConditionScope Empty = new();

    public JsonElement? ContactProperties { get; init; }

    public JsonElement? EventProperties { get; init; }

    /// <summary>(stepId, engagement) -> whether the journey's send at that step had it (sent, delivered, opened, clicked, bounced).</summary>
    public Func<string, string, bool> Engaged { get; init; } = (_, _) => false;

    public Func<string, bool> EventSeen { get; init; } = _ => false;
}

/// <summary>
/// Evaluates branch conditions and event filters. Forms: <c>{ "all"|"any": [...] }</c>, <c>{ "not": {...} }</c>,
/// <c>{ "opened"|"clicked"|"delivered"|"bounced"|"sent": "stepId" }</c>, <c>{ "property": "plan", "op": "eq", "value": "pro" }</c>
/// (contact property), <c>{ "eventProperty": "amount", "op": "gt", "value": 100 }</c>, <c>{ "event": "purchased" }</c> (seen
/// during this journey). An event filter is a condition whose <c>property</c> means the event's property, or an equality map.
/// </summary>
public static class Conditions
{
    public static readonly IReadOnlyList<string> Engagements = ["sent", "delivered", "opened", "clicked", "bounced"];

    public static readonly IReadOnlyList<string> Operators = ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists", "notExists", "in"];

    public static bool Evaluate(JsonElement when, ConditionScope scope) => Evaluate(when, scope, propertyMeansEvent: false);

    /// <summary>An event filter against the event's properties; null or empty matches everything.</summary>
    public static bool MatchesFilter(JsonElement? filter, JsonElement? eventProperties)
    {
        if (filter is not { } f || f.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            return true;
        }

        var scope = new ConditionScope { EventProperties = eventProperties };
        if (f.ValueKind == JsonValueKind.Array)
        {
            return f.EnumerateArray().All(c => Evaluate(c, scope, propertyMeansEvent: true));
        }

        if (f.ValueKind == JsonValueKind.Object && !IsConditionObject(f))
        {
            foreach (var pair in f.EnumerateObject())
            {
                if (!Compare(Lookup(eventProperties, pair.Name), "eq", pair.Value))
                {
                    return false;
                }
            }

            return true;
        }

        return Evaluate(f, scope, propertyMeansEvent: true);
    }

    /// <summary>Structural errors of a condition, for validation; empty when it is well formed.</summary>
    public static IEnumerable<string> Problems(JsonElement when, bool isFilter = false)
    {
        if (isFilter && when.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in when.EnumerateArray())
            {
                foreach (var p in Problems(item, isFilter))
                {
                    yield return p;
                }
            }

            yield break;
        }

        if (when.ValueKind != JsonValueKind.Object)
        {
            yield return "a condition must be a JSON object";
            yield break;
        }

        if (isFilter && !IsConditionObject(when))
        {
            yield break;
        }

        if (when.TryGetProperty("all", out var all) || when.TryGetProperty("any", out all))
        {
            if (all.ValueKind != JsonValueKind.Array)
            {
                yield return "'all'/'any' must be an array of conditions";
                yield break;
            }

            foreach (var item in all.EnumerateArray())
            {
                foreach (var p in Problems(item, isFilter: false))
                {
                    yield return p;
                }
            }

            yield break;
        }

        if (when.TryGetProperty("not", out var not))
        {
            foreach (var p in Problems(not, isFilter: false))
            {
                yield return p;
            }

            yield break;
        }

        foreach (var engagement in Engagements)
        {
            if (when.TryGetProperty(engagement, out var step))
            {
                if (step.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(step.GetString()))
                {
                    yield return $"'{engagement}' must name a send step";
                }

                yield break;
            }
        }

        if (when.TryGetProperty("event", out var eventName))
        {
            if (eventName.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(eventName.GetString()))
            {
                yield return "'event' must be an event name";
            }

            yield break;
        }

        if (when.TryGetProperty("property", out var property) || when.TryGetProperty("eventProperty", out property))
        {
            if (property.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(property.GetString()))
            {
                yield return "'property' must be a property name";
            }

            var op = when.TryGetProperty("op", out var opElement) ? opElement.GetString() : "eq";
            if (!Operators.Contains(op ?? ""))
            {
                yield return $"unknown operator '{op}' (expected one of {string.Join(", ", Operators)})";
            }

            yield break;
        }

        yield return "unknown condition: expected all, any, not, property, eventProperty, event or an engagement (sent, delivered, opened, clicked, bounced)";
    }

    /// <summary>Send steps referenced by engagement conditions, for validation.</summary>
    public static IEnumerable<string> ReferencedSteps(JsonElement when)
    {
        if (when.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        foreach (var pair in when.EnumerateObject())
        {
            if (Engagements.Contains(pair.Name) && pair.Value.ValueKind == JsonValueKind.String)
            {
                yield return pair.Value.GetString()!;
            }
            else if (pair.Name is "all" or "any" && pair.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var s in pair.Value.EnumerateArray().SelectMany(ReferencedSteps))
                {
                    yield return s;
                }
            }
            else if (pair.Name == "not")
            {
                foreach (var s in ReferencedSteps(pair.Value))
                {
                    yield return s;
                }
            }
        }
    }

    private static bool IsConditionObject(JsonElement e) =>
        e.TryGetProperty("all", out _) || e.TryGetProperty("any", out _) || e.TryGetProperty("not", out _) ||
        (e.TryGetProperty("property", out _) && e.TryGetProperty("op", out _)) || e.TryGetProperty("eventProperty", out _);

    private static bool Evaluate(JsonElement when, ConditionScope scope, bool propertyMeansEvent)
    {
        if (when.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        if (when.TryGetProperty("all", out var all) && all.ValueKind == JsonValueKind.Array)
        {
            return all.EnumerateArray().All(c => Evaluate(c, scope, propertyMeansEvent));
        }

        if (when.TryGetProperty("any", out var any) && any.ValueKind == JsonValueKind.Array)
        {
            return any.EnumerateArray().Any(c => Evaluate(c, scope, propertyMeansEvent));
        }

        if (when.TryGetProperty("not", out var not))
        {
            return !Evaluate(not, scope, propertyMeansEvent);
        }

        foreach (var engagement in Engagements)
        {
            if (when.TryGetProperty(engagement, out var step) && step.ValueKind == JsonValueKind.String)
            {
                return scope.Engaged(step.GetString()!, engagement);
            }
        }

        if (when.TryGetProperty("event", out var eventName) && eventName.ValueKind == JsonValueKind.String)
        {
            return scope.EventSeen(eventName.GetString()!);
        }

        var op = when.TryGetProperty("op", out var opElement) && opElement.ValueKind == JsonValueKind.String ? opElement.GetString()! : "eq";
        when.TryGetProperty("value", out var value);
        if (when.TryGetProperty("eventProperty", out var eventProperty) && eventProperty.ValueKind == JsonValueKind.String)
        {
            return Compare(Lookup(scope.EventProperties, eventProperty.GetString()!), op, value);
        }

        if (when.TryGetProperty("property", out var property) && property.ValueKind == JsonValueKind.String)
        {
            var source = propertyMeansEvent ? scope.EventProperties : scope.ContactProperties;
            return Compare(Lookup(source, property.GetString()!), op, value);
        }

        return false;
    }

    public static JsonElement? Lookup(JsonElement? source, string path)
    {
        if (source is not { ValueKind: JsonValueKind.Object } current)
        {
            return null;
        }

        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out var next))
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    private static bool Compare(JsonElement? actual, string op, JsonElement expected)
    {
        var present = actual is { } a && a.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
        switch (op)
        {
            case "exists":
                return present;
            case "notExists":
                return !present;
        }

        if (!present)
        {
            return op == "neq";
        }

        var left = actual!.Value;
        switch (op)
        {
            case "eq":
                return JsonEquals(left, expected);
            case "neq":
                return !JsonEquals(left, expected);
            case "in":
                return expected.ValueKind == JsonValueKind.Array && expected.EnumerateArray().Any(e => JsonEquals(left, e));
            case "contains":
                if (left.ValueKind == JsonValueKind.Array)
                {
                    return left.EnumerateArray().Any(e => JsonEquals(e, expected));
                }

                return left.ValueKind == JsonValueKind.String && expected.ValueKind == JsonValueKind.String &&
                       left.GetString()!.Contains(expected.GetString()!, StringComparison.OrdinalIgnoreCase);
        }

        var order = CompareOrder(left, expected);
        return order is { } o && op switch
        {
            "gt" => o > 0,
            "gte" => o >= 0,
            "lt" => o < 0,
            "lte" => o <= 0,
            _ => false,
        };
    }

    private static int? CompareOrder(JsonElement left, JsonElement right)
    {
        if (AsNumber(left) is { } l && AsNumber(right) is { } r)
        {
            return l.CompareTo(r);
        }

        if (left.ValueKind == JsonValueKind.String && right.ValueKind == JsonValueKind.String)
        {
            if (DateTimeOffset.TryParse(left.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ld) &&
                DateTimeOffset.TryParse(right.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var rd))
            {
                return ld.CompareTo(rd);
            }

            return string.CompareOrdinal(left.GetString(), right.GetString());
        }

        return null;
    }

    private static double? AsNumber(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String when double.TryParse(e.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static bool JsonEquals(JsonElement left, JsonElement right)
    {
        if (AsNumber(left) is { } l && AsNumber(right) is { } r && (left.ValueKind == JsonValueKind.Number || right.ValueKind == JsonValueKind.Number))
        {
            return l.Equals(r);
        }

        if (left.ValueKind == JsonValueKind.String && right.ValueKind == JsonValueKind.String)
        {
            return string.Equals(left.GetString(), right.GetString(), StringComparison.Ordinal);
        }

        if (left.ValueKind is JsonValueKind.True or JsonValueKind.False && right.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return left.GetBoolean() == right.GetBoolean();
        }

        if (left.ValueKind == JsonValueKind.String && right.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return string.Equals(left.GetString(), right.GetBoolean() ? "true" : "false", StringComparison.OrdinalIgnoreCase);
        }

        return left.GetRawText() == right.GetRawText();
    }
}
