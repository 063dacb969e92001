using System.Text.Json;
using Automator.WebApi.Http;
using Automator.WebApi.Segments;
using Npgsql;

namespace Automator.IntegrationTests.Api;

/// <summary>The filter compiler on its own: names and values only ever reach SQL as bind parameters.</summary>
public sealed class SegmentFilterCompilerTests
{
    [Fact]
    public void Names_and_values_are_bound_never_spliced()
    {
        const string hostile = "x'); DROP TABLE contacts; --";
        var json = JsonSerializer.Serialize(new
        {
            any = new object[]
            {
                new { property = hostile, op = "eq", value = hostile },
                new { property = "a." + hostile, op = "contains", value = hostile },
                new { property = "n", op = "gte", value = 5 },
                new { @event = hostile, op = "countGte", value = 2, within = "P30D" },
                new { all = new object[] { new { property = "p", op = "exists", value = false } } },
            },
        });
        var validator = new Validator();

        var filter = SegmentFilter.Parse(JsonDocument.Parse(json).RootElement, validator);
        using var command = new NpgsqlCommand();
        var sql = filter!.ToSql(command, DateTimeOffset.UnixEpoch);

        Assert.True(validator.IsValid);
        Assert.DoesNotContain("DROP", sql, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("'x'", sql, StringComparison.Ordinal);
        Assert.Contains(command.Parameters, p => Equals(p.Value, hostile));
        Assert.Contains(" OR ", sql, StringComparison.Ordinal);
        Assert.Equal(command.Parameters.Count, System.Text.RegularExpressions.Regex.Matches(sql, @"@f\d+\b").Select(m => m.Value).Distinct().Count());
    }

    [Theory]
    [InlineData("""{ "all": [ { "property": "plan", "op": "between", "value": 1 } ] }""", "filter.all[0].op")]
    [InlineData("""{ "any": [ { "event": "x", "op": "countGte", "value": 1, "within": "soon" } ] }""", "filter.any[0].within")]
    [InlineData("""{ "all": [ { "property": "plan" , "op": "eq" } ] }""", "filter.all[0].value")]
    [InlineData("""{ "none": [] }""", "filter")]
    public void Invalid_filters_name_the_bad_part(string json, string field)
    {
        var validator = new Validator();
        Assert.Null(SegmentFilter.Parse(JsonDocument.Parse(json).RootElement, validator));
        Assert.True(validator.Has(field), string.Join(", ", validator.Errors.Keys));
    }
}
