using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Automator.IntegrationTests.Api;
using CsCheck;
using Xunit.Abstractions;

namespace Automator.IntegrationTests.Security;

/// <summary>
/// Property-based requests built from the running app's own OpenAPI document: for every operation, bodies, path and
/// query parameters are generated from its schemas; in two bodies of three each value is replaced now and then by a mutant (a wrong type, a
/// 200 KB string, nesting 1,000 deep, a lone surrogate escape, NUL, RTL override, emoji, an out-of-range number), and
/// sent as a signed-in tenant and anonymously. Path ids are mostly another tenant's. Nothing may answer 5xx, nothing
/// may answer 2xx on the other tenant's ids, the other tenant's data stays as it was, and the process stays alive.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class OpenApiFuzzTests(ApiFixture fixture, ITestOutputHelper output)
{
    /// <summary>
    /// Requests per operation and identity: 2,000 per route. With the document's 61 operations and 2 identities on 2
    /// threads this is 61 x 2 x 1,000 = 122,000 requests: about a minute on this 2-core machine when quiet.
    /// </summary>
    private const int IterationsPerOperation = 1_000;

    private const int MaxDepth = 4;

    /// <summary>Operations never sent: they end the signed-in tenant's own session or need a stream.</summary>
    private static readonly HashSet<string> Skipped = ["POST /v1/auth/logout"];

    [Fact]
    public async Task Generated_and_mutated_requests_for_every_operation_never_fail_the_server_nor_reach_another_tenant()
    {
        var attacker = await fixture.CreateTenantAsync();
        var victim = await fixture.CreateTenantAsync();
        var victimData = await VictimData.CreateAsync(victim);

        using var anonymous = fixture.Anonymous();
        var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json")).RootElement.Clone();
        var operations = Operations(document).Where(o => !Skipped.Contains(o.Method + " " + o.Path)).ToList();
        Assert.True(operations.Count >= 30, $"only {operations.Count} operations in the document");
        var schemas = new SchemaGens(document, victimData.Ids);

        var clock = Stopwatch.StartNew();
        var sent = 0;
        var byClass = new int[6];
        var failures = new List<string>();
        foreach (var operation in operations)
        {
            var gen = schemas.Request(operation);
            foreach (var (identity, token) in new[] { ("tenant", attacker.AccessToken), ("anonymous", (string?)null) })
            {
                await gen.SampleAsync(async request =>
                {
                    Interlocked.Increment(ref sent);
                    var (status, body) = await SendAsync(token, operation, request);
                    Interlocked.Increment(ref byClass[Math.Clamp(status / 100, 0, 5)]);
                    if (status >= 500)
                    {
                        Fail($"{identity} {operation.Method} {request.Path} -> {status}: {Cut(body)} (body: {Cut(request.Body)})");
                    }

                    // Path ids name a resource: another tenant's must not be found. (A query filter naming one just matches nothing.)
                    var resource = request.Path.Split('?')[0];
                    if (status is >= 200 and < 300 && victimData.Ids.Any(id => resource.Contains(id.ToString(), StringComparison.OrdinalIgnoreCase) || resource.Contains(id.ToString("N"), StringComparison.OrdinalIgnoreCase)))
                    {
                        Fail($"{identity} {operation.Method} {request.Path} -> {status} on another tenant's id: {Cut(body)}");
                    }
                }, iter: IterationsPerOperation, threads: 2, seed: null, print: r => $"{r.Path} {Cut(r.Body)}");
            }

            void Fail(string message)
            {
                lock (failures)
                {
                    failures.Add(message);
                }

                throw new InvalidOperationException(message);
            }
        }

        output.WriteLine($"{operations.Count} operations, {sent} requests in {clock.Elapsed.TotalSeconds:F0} s; 2xx {byClass[2]}, 3xx {byClass[3]}, 4xx {byClass[4]}, 5xx {byClass[5]}");
        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health/live")).StatusCode);
        await victimData.AssertUnchangedAsync();
    }

    private async Task<(int Status, string Body)> SendAsync(string? token, Operation operation, FuzzRequest request)
    {
        using var client = fixture.Anonymous();
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var message = new HttpRequestMessage(new HttpMethod(operation.Method), request.Path);
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(request.Body));
            message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.ContentType);
        }

        using var response = await client.SendAsync(message);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Cut(string? text) => text is null ? "" : text.Length <= 300 ? text : text[..300] + "...";

    internal sealed record Operation(string Method, string Path, List<JsonElement> Parameters, JsonElement? Body);

    internal sealed record FuzzRequest(string Path, string? Body, string ContentType);

    private static IEnumerable<Operation> Operations(JsonElement document)
    {
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            var shared = path.Value.TryGetProperty("parameters", out var common) ? common.EnumerateArray().ToList() : [];
            foreach (var method in path.Value.EnumerateObject())
            {
                if (method.Name is not ("get" or "post" or "put" or "patch" or "delete"))
                {
                    continue;
                }

                var parameters = shared.Concat(method.Value.TryGetProperty("parameters", out var own) ? own.EnumerateArray() : []).ToList();
                JsonElement? body = method.Value.TryGetProperty("requestBody", out var requestBody) && requestBody.TryGetProperty("content", out var content)
                    ? content.EnumerateObject().Select(c => c.Value.TryGetProperty("schema", out var s) ? s : default).FirstOrDefault()
                    : null;
                yield return new Operation(method.Name.ToUpperInvariant(), path.Name, parameters, body);
            }
        }
    }

    /// <summary>CsCheck generators of JSON text and parameter values from the document's schemas.</summary>
    private sealed class SchemaGens(JsonElement document, IReadOnlyList<Guid> foreignIds)
    {
        private static readonly string[] UnicodeEdges =
        [
            "\"\\ud800\"", "\"\\udfff tail\"", "\"a\\u0000b\"", "\"\\u202eevil\\u202c\"", "\"😀👩‍👩‍👧\"", "\"\\ufeff\"", "\"\\uffff\"",
            "\"e\\u0301\"", "\"שלום\"", "\"\\\\\"", "\"</script><script>\"", "\"{{ 1 | append: 1 }}\"", "\"' OR 1=1 --\"", "\"\"",
        ];

        /// <summary>Mutants already percent-encoded (RTL override, emoji, a lone surrogate's bytes, invalid UTF-8, NUL).</summary>
        private static readonly HashSet<string> PreEncoded = ["%E2%80%AE", "%F0%9F%98%80", "%ED%A0%80", "%C3%28", "%00", "..%2f..%2f"];

        private static readonly Gen<string> Mutant = Gen.Frequency(
            (3, Gen.OneOf(UnicodeEdges)),
            (2, Gen.OneOf("null", "true", "false", "0", "-1", "1.5", "1e309", "-1e309", "9223372036854775808", "[]", "{}", "[null]", "\"not-a-guid\"")),
            (1, Gen.Int[1_000, 200_000].Select(n => "\"" + new string('x', n) + "\"")),
            (1, Gen.Int[33, 1_000].Select(n => new string('[', n) + new string(']', n))),
            (1, Gen.Int[33, 300].Select(n => string.Concat(Enumerable.Repeat("{\"a\":", n)) + "1" + new string('}', n))),
            (1, Gen.Int[0, 5_000].Select(n => "[" + string.Join(",", Enumerable.Repeat("0", n + 1)) + "]")));

        private static readonly Gen<string> Word = Gen.Frequency(
            (4, Gen.String[Gen.Char.AlphaNumeric, 0, 24]),
            (2, Gen.OneOf("signed_up", "purchased", "email.opened", "P1D", "PT30S", "-P3D", "09:00", "UTC", "Europe/Paris", "2026-01-01T00:00:00Z",
                "owner", "viewer", "contacts:write", "event", "webhook", "send", "delay", "eq", "countGte", "plan", "pro", "ada@example.test")),
            (1, Gen.String[0, 40]));

        public Gen<FuzzRequest> Request(Operation operation)
        {
            var path = PathGen(operation);
            var query = QueryGen(operation);
            Gen<string?> body = operation.Body is { } schema
                ? Gen.Frequency(
                    (4, Value(schema, 0, mutate: false).Select(b => (string?)b)),
                    (8, Value(schema, 0).Select(b => (string?)b)),
                    (1, Gen.OneOf<string?>("", "{", "{\"a\":", "[1,2", "\"unterminated", "nul\u0000l", null)))
                : Gen.Const<string?>((string?)null);
            var contentType = Gen.Frequency((15, Gen.Const("application/json")), (1, Gen.OneOf("text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16")));
            return Gen.Select(path, query, body, contentType, (p, q, b, c) => new FuzzRequest(q.Length == 0 ? p : p + "?" + q, b, c));
        }

        private Gen<string> PathGen(Operation operation)
        {
            var gen = Gen.Const(operation.Path);
            foreach (var parameter in operation.Parameters.Where(p => p.GetProperty("in").GetString() == "path"))
            {
                var name = parameter.GetProperty("name").GetString()!;
                var schema = parameter.TryGetProperty("schema", out var s) ? s : default;
                // An encoded NUL in the path never reaches the app (the server refuses the request line), so it is not sent.
                var value = IsUuid(schema)
                    ? Gen.Frequency((6, Gen.OneOf(foreignIds.ToArray()).Select(g => g.ToString())), (2, Gen.Guid.Select(g => g.ToString())), (1, Gen.OneOf("not-a-guid", "00000000-0000-0000-0000-000000000000", "..%2f..%2f")))
                    : Gen.Frequency((3, Gen.OneOf(foreignIds.ToArray()).Select(g => g.ToString("N"))), (3, Word), (1, Gen.OneOf("%E2%80%AE", "%F0%9F%98%80", "%ED%A0%80", "%C3%28", new string('a', 3_000))));
                gen = gen.SelectMany(p => value.Select(v => p.Replace("{" + name + "}", Escape(v), StringComparison.Ordinal)));
            }

            return gen;
        }

        private Gen<string> QueryGen(Operation operation)
        {
            var gen = Gen.Const("");
            foreach (var parameter in operation.Parameters.Where(p => p.GetProperty("in").GetString() == "query"))
            {
                var name = parameter.GetProperty("name").GetString()!;
                var schema = parameter.TryGetProperty("schema", out var s) ? s : default;
                var value = Gen.Frequency(
                    (4, Value(schema, MaxDepth).Select(QueryText)),
                    (1, Gen.OneOf(foreignIds.ToArray()).Select(g => g.ToString())),
                    (1, Gen.OneOf("-1", "0", "99999999999", "abc", "", "%00", "%ED%A0%80", new string('9', 400))));
                var optional = Gen.Frequency((2, value.Select(v => (string?)v)), (1, Gen.Const<string?>((string?)null)));
                gen = gen.SelectMany(q => optional.Select(v => v is null ? q : (q.Length == 0 ? "" : q + "&") + name + "=" + Escape(v)));
            }

            return gen;
        }

        /// <summary>JSON text for a schema: mostly valid for it, sometimes a mutant in its place.</summary>
        private Gen<string> Value(JsonElement schema, int depth, bool mutate = true) =>
            mutate ? Gen.Frequency((9, Valid(schema, depth, mutate)), (1, Mutant)) : Valid(schema, depth, mutate);

        private Gen<string> Valid(JsonElement schema, int depth, bool mutate)
        {
            schema = Resolve(schema);
            if (schema.ValueKind != JsonValueKind.Object)
            {
                return Any(depth, mutate);
            }

            if (schema.TryGetProperty("enum", out var values) && values.GetArrayLength() > 0)
            {
                return Gen.OneOf(values.EnumerateArray().Select(v => v.GetRawText()).ToArray());
            }

            foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
            {
                if (schema.TryGetProperty(combinator, out var choices) && choices.GetArrayLength() > 0)
                {
                    return Gen.OneOf(choices.EnumerateArray().Select(c => (IGen<string>)Valid(c, depth, mutate)).ToArray());
                }
            }

            var types = schema.TryGetProperty("type", out var type)
                ? type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToArray() : [type.GetString()!]
                : schema.TryGetProperty("properties", out _) ? ["object"] : [];
            if (types.Length == 0)
            {
                return Any(depth, mutate);
            }

            return Gen.OneOf(types.Select(t => (IGen<string>)(t switch
            {
                "null" => Gen.Const("null"),
                "boolean" => Gen.OneOf("true", "false"),
                "integer" => Gen.Frequency((4, Gen.Int[-2, 1_000].Select(Number)), (1, Gen.Long.Select(Number))),
                "number" => Gen.Frequency((4, Gen.Int[-2, 1_000].Select(Number)), (1, Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "0"))),
                "string" => StringValue(schema),
                "array" => depth >= MaxDepth ? Gen.Const("[]") : Value(schema.TryGetProperty("items", out var items) ? items : default, depth + 1, mutate).Array[0, 4].Select(a => "[" + string.Join(",", a) + "]"),
                "object" => ObjectValue(schema, depth, mutate),
                _ => Any(depth, mutate),
            })).ToArray());
        }

        private Gen<string> ObjectValue(JsonElement schema, int depth, bool mutate)
        {
            if (depth >= MaxDepth)
            {
                return Gen.Const("{}");
            }

            var gen = Gen.Const(new List<string>());
            if (schema.TryGetProperty("properties", out var properties))
            {
                foreach (var property in properties.EnumerateObject())
                {
                    var name = JsonSerializer.Serialize(property.Name);
                    var member = Gen.Frequency((4, Value(property.Value, depth + 1, mutate).Select(v => (string?)(name + ":" + v))), (1, Gen.Const<string?>((string?)null)));
                    gen = gen.SelectMany(list => member.Select(m =>
                    {
                        var next = new List<string>(list);
                        if (m is not null)
                        {
                            next.Add(m);
                        }

                        return next;
                    }));
                }
            }

            if (schema.TryGetProperty("additionalProperties", out var additional) && additional.ValueKind == JsonValueKind.Object)
            {
                var extra = Gen.Select(Word, Value(additional, depth + 1, mutate), (k, v) => JsonSerializer.Serialize(k) + ":" + v).Array[0, 3];
                gen = gen.SelectMany(list => extra.Select(e => list.Concat(e).ToList()));
            }

            // Mass assignment: fields the caller must not set.
            var sneaky = Gen.Frequency((4, Gen.Const("")), (1, Gen.OneOf(foreignIds.ToArray()).Select(g => $"\"organizationId\":\"{g}\"")), (1, Gen.Const("\"role\":\"owner\"")));
            return gen.SelectMany(list => sneaky.Select(s => "{" + string.Join(",", s.Length == 0 ? list : list.Append(s)) + "}"));
        }

        private Gen<string> StringValue(JsonElement schema)
        {
            var format = schema.TryGetProperty("format", out var f) ? f.GetString() : null;
            var text = format switch
            {
                "uuid" => Gen.Frequency((3, Gen.OneOf(foreignIds.ToArray()).Select(g => g.ToString())), (1, Gen.Guid.Select(g => g.ToString()))),
                "date-time" => Gen.Frequency((3, Gen.DateTimeOffset.Select(d => d.ToString("O", CultureInfo.InvariantCulture))), (1, Gen.OneOf("2026-13-45T99:99:99Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"))),
                "email" => Gen.String[Gen.Char.AlphaNumeric, 1, 20].Select(s => s + "@example.test"),
                _ => Gen.Frequency((3, Word), (1, Gen.String[Gen.Char.AlphaNumeric, 1, 20].Select(s => s + "@example.test"))),
            };
            return text.Select(s => JsonSerializer.Serialize(s));
        }

        /// <summary>Arbitrary JSON for schemas that say nothing (JsonElement bodies).</summary>
        private Gen<string> Any(int depth, bool mutate) => depth >= MaxDepth
            ? Gen.OneOf("null", "1", "\"x\"", "true")
            : Gen.Frequency(
                (3, Word.Select(w => JsonSerializer.Serialize(w))),
                (2, Gen.Int[-5, 100].Select(Number)),
                (1, Gen.OneOf("null", "true", "false")),
                (2, Gen.Select(Word, Gen.Int[0, 1_000], (k, _) => k).Array[0, 4].SelectMany(keys =>
                    Value(default, depth + 1, mutate).Array[keys.Length].Select(values =>
                        "{" + string.Join(",", keys.Distinct().Zip(values, (k, v) => JsonSerializer.Serialize(k) + ":" + v)) + "}"))),
                (1, Value(default, depth + 1, mutate).Array[0, 3].Select(a => "[" + string.Join(",", a) + "]")));

        /// <summary>A JSON value as query text; a string holding a lone surrogate goes as its (invalid) UTF-8 bytes.</summary>
        private static string QueryText(string json)
        {
            if (!json.StartsWith('"'))
            {
                return json;
            }

            try
            {
                return JsonSerializer.Deserialize<string>(json) ?? "";
            }
            catch (JsonException)
            {
                return "%ED%A0%80";
            }
        }

        /// <summary>Percent-encodes a value; values already encoded (the mutants) and unencodable ones go as they are meant.</summary>
        private static string Escape(string value)
        {
            if (PreEncoded.Contains(value))
            {
                return value;
            }

            try
            {
                return Uri.EscapeDataString(value);
            }
            catch (UriFormatException)
            {
                return "%ED%A0%80";
            }
        }

        private JsonElement Resolve(JsonElement schema)
        {
            for (var hops = 0; hops < 10 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference); hops++)
            {
                var target = document;
                foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
                {
                    if (!target.TryGetProperty(part.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal), out target))
                    {
                        return default;
                    }
                }

                schema = target;
            }

            return schema;
        }

        private bool IsUuid(JsonElement schema)
        {
            schema = Resolve(schema);
            return schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("format", out var format) && format.GetString() == "uuid";
        }

        private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

        private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The other tenant: one resource of each kind, whose ids fill the path parameters.</summary>
    private sealed record VictimData(ApiTenant Tenant, List<Guid> Ids, Dictionary<string, string> Snapshots)
    {
        public static async Task<VictimData> CreateAsync(ApiTenant tenant)
        {
            var contact = (await tenant.CreateContactAsync()).GetProperty("id").GetGuid();
            var list = await tenant.CreateAsync("/v1/lists", new { name = "victim list" });
            var template = await tenant.CreateAsync("/v1/templates", new { name = "victim", subject = "Hi", html = "<p>Hi {{ contact.firstName }}</p>" });
            var segment = await tenant.CreateAsync("/v1/segments", new { name = "victims", filter = new { all = new[] { new { property = "plan", op = "eq", value = "free" } } } });
            var workflow = await tenant.CreateAsync("/v1/workflows", new { name = "victim", trigger = new { type = "event", @event = "signed_up" }, start = "s", steps = new object[] { new { id = "s", type = "send", templateId = template } } });
            var paths = new Dictionary<string, string>
            {
                ["contact"] = $"/v1/contacts/{contact}",
                ["list"] = "/v1/lists",
                ["template"] = $"/v1/templates/{template}",
                ["segment"] = $"/v1/segments/{segment}",
                ["workflow"] = $"/v1/workflows/{workflow}",
                ["users"] = "/v1/users",
            };
            var snapshots = new Dictionary<string, string>();
            using var client = tenant.Client();
            foreach (var (name, path) in paths)
            {
                snapshots[path] = await client.GetStringAsync(path);
            }

            return new VictimData(tenant, [contact, list, template, segment, workflow, tenant.OrganizationId, tenant.UserId], snapshots);
        }

        public async Task AssertUnchangedAsync()
        {
            using var client = Tenant.Client();
            foreach (var (path, before) in Snapshots)
            {
                Assert.Equal(before, await client.GetStringAsync(path));
            }
        }
    }
}
