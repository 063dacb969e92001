using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Xml;
using Automator.WebApi.Http;
using Npgsql;
using NpgsqlTypes;

namespace Automator.WebApi.Segments;

/// <summary>
/// The segment filter language of the API: <c>{ "all" | "any": [ condition | group, ... ] }</c> where a condition is
/// <c>{ property, op: eq|neq|gt|gte|lt|lte|contains|exists, value }</c> over the contact's JSONB properties (dotted
/// paths reach nested keys) or <c>{ event, op: countGte|countLte|countEq, value, within? }</c> over the contact's events.
/// Compiled to a SQL predicate on <c>contacts c</c> in which every name and value is a bind parameter. Sensitive
/// properties are stored encrypted, so only <c>exists</c> can be asked of them.
/// </summary>
public abstract record SegmentFilter
{
    public const int MaxConditions = 50;
    public const int MaxDepth = 3;

    public static readonly string[] PropertyOps = ["eq", "neq", "gt", "gte", "lt", "lte", "contains", "exists"];
    public static readonly string[] EventOps = ["countGte", "countLte", "countEq"];

    public sealed record Group(bool All, IReadOnlyList<SegmentFilter> Conditions) : SegmentFilter;

    public sealed record Property(string[] Path, string Op, JsonElement? Value) : SegmentFilter;

    public sealed record Event(string Name, string Op, long Count, TimeSpan? Within) : SegmentFilter;

    public static SegmentFilter? Parse(JsonElement? filter, Validator validator, string field = "filter", IReadOnlySet<string>? sensitiveProperties = null)
    {
        var count = 0;
        return filter is { } element && element.ValueKind != JsonValueKind.Null
            ? ParseGroup(element, validator, field, 1, ref count, sensitiveProperties ?? new HashSet<string>())
            : Fail(validator, field, "is required: { \"all\" | \"any\": [ conditions ] }.");
    }

    private static Group? ParseGroup(JsonElement element, Validator validator, string path, int depth, ref int count, IReadOnlySet<string> sensitive)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return Fail<Group>(validator, path, "must be an object with \"all\" or \"any\".");
        }

        var hasAll = element.TryGetProperty("all", out var all);
        var hasAny = element.TryGetProperty("any", out var any);
        if (hasAll == hasAny || element.EnumerateObject().Count() != 1)
        {
            return Fail<Group>(validator, path, "must have exactly one of \"all\" or \"any\".");
        }

        var list = hasAll ? all : any;
        var listPath = path + (hasAll ? ".all" : ".any");
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return Fail<Group>(validator, listPath, "must be a non-empty array of conditions.");
        }

        var conditions = new List<SegmentFilter>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var itemPath = $"{listPath}[{index++}]";
            if (++count > MaxConditions)
            {
                return Fail<Group>(validator, path, $"has more than {MaxConditions} conditions.");
            }

            SegmentFilter? condition;
            if (item.ValueKind == JsonValueKind.Object && (item.TryGetProperty("all", out _) || item.TryGetProperty("any", out _)))
            {
                if (depth >= MaxDepth)
                {
                    return Fail<Group>(validator, itemPath, $"nests groups deeper than {MaxDepth} levels.");
                }

                condition = ParseGroup(item, validator, itemPath, depth + 1, ref count, sensitive);
            }
            else
            {
                condition = ParseCondition(item, validator, itemPath, sensitive);
            }

            if (condition is not null)
            {
                conditions.Add(condition);
            }
        }

        return conditions.Count == index ? new Group(hasAll, conditions) : null;
    }

    private static SegmentFilter? ParseCondition(JsonElement item, Validator validator, string path, IReadOnlySet<string> sensitive)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return Fail(validator, path, "must be a condition object.");
        }

        var before = validator.Errors.Count;
        foreach (var key in item.EnumerateObject().Select(p => p.Name).Where(k => k is not ("property" or "event" or "op" or "value" or "within")))
        {
            validator.Add($"{path}.{key}", "is not a condition field (property, event, op, value, within).");
        }

        var op = item.TryGetProperty("op", out var opElement) && opElement.ValueKind == JsonValueKind.String ? opElement.GetString() : null;
        var hasValue = item.TryGetProperty("value", out var value);
        if (item.TryGetProperty("property", out var property))
        {
            var name = property.ValueKind == JsonValueKind.String ? property.GetString() : null;
            if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || !Validator.IsStorable(name) || name.Split('.').Any(s => s.Length == 0))
            {
                validator.Add(path + ".property", "must be a property name (dotted for nested keys).");
            }
            else if (op != "exists" && sensitive.Contains(name.Split('.')[0]))
            {
                validator.Add(path + ".property", $"'{name.Split('.')[0]}' is a sensitive property, stored encrypted: a segment can only ask whether it exists.");
            }

            if (op is null || !PropertyOps.Contains(op))
            {
                validator.Add(path + ".op", $"must be one of {string.Join(", ", PropertyOps)}.");
            }
            else if (op == "exists")
            {
                if (hasValue && value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    validator.Add(path + ".value", "must be true or false for exists.");
                }
            }
            else if (!hasValue || value.ValueKind == JsonValueKind.Null)
            {
                validator.Add(path + ".value", "is required.");
            }
            else if (op is "gt" or "gte" or "lt" or "lte" && !(value.ValueKind == JsonValueKind.String || IsFiniteNumber(value)))
            {
                validator.Add(path + ".value", "must be a number or a string for comparisons.");
            }
            else if (op == "contains" && value.ValueKind != JsonValueKind.String)
            {
                validator.Add(path + ".value", "must be a string for contains.");
            }
            else if (value.GetRawText().Length > 4096 || (value.ValueKind == JsonValueKind.String && !Validator.IsStorable(value.GetString() ?? "")))
            {
                validator.Add(path + ".value", "is too long or not storable.");
            }
            else if (value.ValueKind == JsonValueKind.Number && !IsFiniteNumber(value))
            {
                validator.Add(path + ".value", "is a number out of range.");
            }

            if (item.TryGetProperty("within", out _))
            {
                validator.Add(path + ".within", "applies to event conditions only.");
            }

            return validator.Errors.Count == before ? new Property(name!.Split('.'), op!, hasValue ? value.Clone() : null) : null;
        }

        if (item.TryGetProperty("event", out var eventElement))
        {
            var name = eventElement.ValueKind == JsonValueKind.String ? eventElement.GetString() : null;
            if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || !Validator.IsStorable(name))
            {
                validator.Add(path + ".event", "must be an event name.");
            }

            if (op is null || !EventOps.Contains(op))
            {
                validator.Add(path + ".op", $"must be one of {string.Join(", ", EventOps)}.");
            }

            long count = 0;
            if (!hasValue || value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out count) || count < 0 || count > 1_000_000_000)
            {
                validator.Add(path + ".value", "must be a whole number of events, 0 or more.");
            }

            TimeSpan? within = null;
            if (item.TryGetProperty("within", out var withinElement))
            {
                within = ParseDuration(withinElement);
                if (within is null)
                {
                    validator.Add(path + ".within", "must be a positive ISO 8601 duration up to 10 years, such as P30D or PT12H.");
                }
            }

            return validator.Errors.Count == before ? new Event(name!, op!, count, within) : null;
        }

        validator.Add(path, "must name a \"property\" or an \"event\".");
        return null;
    }

    public static TimeSpan? ParseDuration(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String || element.GetString() is not { Length: > 1 and < 40 } text || !text.StartsWith('P'))
        {
            return null;
        }

        try
        {
            var span = XmlConvert.ToTimeSpan(text);
            return span > TimeSpan.Zero && span <= TimeSpan.FromDays(3660) ? span : null;
        }
        catch (FormatException)
        {
            return null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static bool IsFiniteNumber(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out _);

    /// <summary>Appends this filter as a SQL predicate over <c>contacts c</c>, adding its bind parameters to <paramref name="command"/>.</summary>
    public string ToSql(NpgsqlCommand command, DateTimeOffset now)
    {
        var sql = new StringBuilder();
        Append(this, sql, command, now);
        return sql.ToString();
    }

    private static void Append(SegmentFilter node, StringBuilder sql, NpgsqlCommand command, DateTimeOffset now)
    {
        switch (node)
        {
            case Group group:
                sql.Append('(');
                for (var i = 0; i < group.Conditions.Count; i++)
                {
                    if (i > 0)
                    {
                        sql.Append(group.All ? " AND " : " OR ");
                    }

                    Append(group.Conditions[i], sql, command, now);
                }

                sql.Append(')');
                break;
            case Property property:
                AppendProperty(property, sql, command);
                break;
            case Event e:
                var name = Add(command, NpgsqlDbType.Text, e.Name);
                var since = Add(command, NpgsqlDbType.TimestampTz, e.Within is { } within ? now - within : DBNull.Value);
                var count = Add(command, NpgsqlDbType.Bigint, e.Count);
                var comparison = e.Op switch { "countGte" => ">=", "countLte" => "<=", _ => "=" };
                sql.Append(CultureInfo.InvariantCulture,
                    $"((SELECT count(*) FROM events e WHERE e.organization_id = c.organization_id AND e.contact_id = c.id AND e.name = {name} AND ({since}::timestamptz IS NULL OR e.occurred_at >= {since})) {comparison} {count})");
                break;
        }
    }

    private static void AppendProperty(Property property, StringBuilder sql, NpgsqlCommand command)
    {
        var path = Add(command, NpgsqlDbType.Array | NpgsqlDbType.Text, property.Path);
        var target = $"(c.properties #> {path})";
        var value = property.Value;
        switch (property.Op)
        {
            case "exists":
                var exists = value is not { ValueKind: JsonValueKind.False };
                sql.Append(CultureInfo.InvariantCulture, $"({target} IS {(exists ? "NOT " : "")}NULL)");
                break;
            case "eq":
                sql.Append(CultureInfo.InvariantCulture, $"({target} = {Add(command, NpgsqlDbType.Jsonb, value!.Value.GetRawText())})");
                break;
            case "neq":
                sql.Append(CultureInfo.InvariantCulture, $"({target} IS DISTINCT FROM {Add(command, NpgsqlDbType.Jsonb, value!.Value.GetRawText())})");
                break;
            case "contains":
                var needle = Add(command, NpgsqlDbType.Text, value!.Value.GetString()!);
                sql.Append(CultureInfo.InvariantCulture, $"""
                    (CASE jsonb_typeof({target})
                        WHEN 'string' THEN strpos(lower(c.properties #>> {path}), lower({needle})) > 0
                        WHEN 'array' THEN {target} @> jsonb_build_array({needle})
                        ELSE false END)
                    """);
                break;
            default:
                var op = property.Op switch { "gt" => ">", "gte" => ">=", "lt" => "<", _ => "<=" };
                if (value!.Value.ValueKind == JsonValueKind.Number)
                {
                    var number = Add(command, NpgsqlDbType.Numeric, value.Value.GetDecimal());
                    sql.Append(CultureInfo.InvariantCulture, $"(CASE WHEN jsonb_typeof({target}) = 'number' THEN (c.properties #>> {path})::numeric {op} {number} ELSE false END)");
                }
                else
                {
                    // Strings compare byte-wise, which orders ISO 8601 dates and times correctly.
                    var text = Add(command, NpgsqlDbType.Text, value.Value.GetString()!);
                    sql.Append(CultureInfo.InvariantCulture, $"(CASE WHEN jsonb_typeof({target}) = 'string' THEN (c.properties #>> {path}) COLLATE \"C\" {op} {text} ELSE false END)");
                }

                break;
        }
    }

    private static string Add(NpgsqlCommand command, NpgsqlDbType type, object value)
    {
        var name = "f" + command.Parameters.Count.ToString(CultureInfo.InvariantCulture);
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value });
        return "@" + name;
    }

    private static SegmentFilter? Fail(Validator validator, string field, string message) => Fail<SegmentFilter>(validator, field, message);

    private static T? Fail<T>(Validator validator, string field, string message)
        where T : class
    {
        validator.Add(field, message);
        return null;
    }
}
