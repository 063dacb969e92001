using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Automator.IntegrationTests.Api;

/// <summary>
/// Hostile and broken requests against every writing route: each must answer a 4xx ProblemDetails that names the
/// problem, never a 2xx or 5xx, and must leave the database exactly as it was.
/// </summary>
[Collection(ApiCollection.Name)]
public sealed class BadInputBatteryTests(ApiFixture fixture)
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static (ApiFixture Fixture, ApiTenant Tenant, Dictionary<string, string> Ids)? _state;

    public sealed record BadCase(string Method, string Path, string? Body, string? ContentType = "application/json", byte[]? RawBytes = null, Dictionary<string, string>? Headers = null);

    private static readonly (string Method, string Path, string ValidBody, bool OptionalBody)[] WriteRoutes =
    [
        ("POST", "/v1/contacts", """{"email":"ok@example.test"}""", false),
        ("POST", "/v1/contacts/batch", """{"contacts":[{"email":"ok@example.test"}]}""", false),
        ("PATCH", "/v1/contacts/{contact}", """{"firstName":"x"}""", false),
        ("POST", "/v1/lists", """{"name":"l"}""", false),
        ("POST", "/v1/lists/{list}/members", """{"contactIds":["{contact}"]}""", false),
        ("POST", "/v1/segments", """{"name":"s","filter":{"all":[{"property":"p","op":"exists"}]}}""", false),
        ("POST", "/v1/templates", """{"name":"t","subject":"s","html":"h"}""", false),
        ("PUT", "/v1/templates/{template}", """{"name":"t","subject":"s","html":"h"}""", false),
        ("POST", "/v1/templates/{template}/preview", "{}", true),
        ("POST", "/v1/suppressions", """{"email":"ok@example.test","reason":"manual"}""", false),
        ("POST", "/v1/users", """{"email":"new@example.test","role":"viewer"}""", false),
        ("PATCH", "/v1/users/{user}", """{"role":"viewer"}""", false),
        ("POST", "/v1/api-keys", """{"name":"k","scopes":["contacts:read"]}""", false),
        ("POST", "/v1/auth/signup", """{"organizationName":"o","email":"new@example.test","password":"long enough password"}""", false),
        ("POST", "/v1/auth/login", """{"email":"nobody@example.test","password":"long enough password"}""", false),
        ("POST", "/v1/auth/accept-invite", """{"token":"x","password":"long enough password"}""", false),
        ("POST", "/v1/events", """{"email":"ok@example.test","name":"battery"}""", false),
        ("POST", "/v1/events/batch", """{"events":[{"email":"ok@example.test","name":"battery"}]}""", false),
    ];

    private static readonly Dictionary<string, BadCase> All = Build();

    public static TheoryData<string> Cases => new(All.Keys.Order(StringComparer.Ordinal));

    private static Dictionary<string, BadCase> Build()
    {
        var cases = new Dictionary<string, BadCase>(StringComparer.Ordinal);
        void Add(string name, BadCase c) => cases.Add(name, c);
        string Json(object value) => JsonSerializer.Serialize(value);

        var malformed = new Dictionary<string, string>
        {
            ["open-brace"] = "{",
            ["missing-value"] = """{"email":}""",
            ["unclosed-array"] = "[1,2",
            ["not-json"] = "not json at all",
            ["missing-comma"] = """{"email": "a@b.co" "x": 1}""",
            ["trailing-comma"] = """{"name":"x",}""",
            ["array"] = "[]",
            ["string"] = "\"just a string\"",
            ["number"] = "42",
            ["single-quotes"] = "{'email':'a@b.co'}",
            ["comment"] = "/* hi */ {\"name\": \"x\"}",
            ["deep-nesting"] = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200),
            ["lone-surrogate"] = """{"email":"\ud800@example.test","name":"\ud800","role":"\ud800","password":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800\ud800","contacts":[{"email":"\ud800@x.co"}],"contactIds":[],"emails":["\udc00@x.co"],"subject":"\ud800","html":"\ud800","organizationName":"\ud800","token":"\ud800","scopes":["\ud800"],"filter":{"all":[{"property":"\ud800","op":"exists"}]},"firstName":"\ud800","reason":"\ud800","contact":"\ud800"}""",
        };
        foreach (var (method, path, valid, optional) in WriteRoutes)
        {
            var route = $"{method} {path}";
            foreach (var (kind, body) in malformed)
            {
                Add($"{route} malformed:{kind}", new BadCase(method, path, body));
            }

            if (!optional)
            {
                Add($"{route} empty-body", new BadCase(method, path, ""));
                Add($"{route} null-body", new BadCase(method, path, "null"));
            }

            Add($"{route} content-type:text/plain", new BadCase(method, path, valid, "text/plain"));
            Add($"{route} content-type:form", new BadCase(method, path, "email=a%40b.co", "application/x-www-form-urlencoded"));
            Add($"{route} content-type:xml", new BadCase(method, path, "<contact><email>a@b.co</email></contact>", "application/xml"));
            Add($"{route} invalid-utf8", new BadCase(method, path, null, "application/json", [(byte)'{', (byte)'"', (byte)'n', (byte)'"', (byte)':', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)'}']));
        }

        string[] badEmails =
        [
            "plainaddress", "@example.com", "user@", "user@@example.com", "user name@example.com", "user@example..com", ".user@example.com",
            "user.@example.com", "josé@example.com", "用户@例子.广告", "user@exa mple.com", "user@.com", "<user@example.com>",
            "Name <user@example.com>", new string('a', 250) + "@example.com", "user@example.com\u0000", "x@y.com; DROP TABLE contacts;--",
            "' OR '1'='1", "a@b", "{{ contact.email }}",
        ];
        for (var i = 0; i < badEmails.Length; i++)
        {
            var email = badEmails[i];
            Add($"email[{i:D2}] contacts", new BadCase("POST", "/v1/contacts", Json(new { email })));
            Add($"email[{i:D2}] suppressions", new BadCase("POST", "/v1/suppressions", Json(new { email, reason = "manual" })));
            Add($"email[{i:D2}] users", new BadCase("POST", "/v1/users", Json(new { email, role = "viewer" })));
            Add($"email[{i:D2}] signup", new BadCase("POST", "/v1/auth/signup", Json(new { organizationName = "o", email, password = "long enough password" })));
            Add($"email[{i:D2}] list-members", new BadCase("POST", "/v1/lists/{list}/members", Json(new { emails = new[] { email } })));
            Add($"email[{i:D2}] patch-contact", new BadCase("PATCH", "/v1/contacts/{contact}", Json(new { email })));
        }

        // Contacts: missing, wrong-typed, oversized and hostile fields.
        var ok = "ok@example.test";
        var deep = (object)"leaf";
        for (var i = 0; i < 6; i++)
        {
            deep = new Dictionary<string, object> { ["n"] = deep };
        }

        foreach (var (name, body) in new Dictionary<string, string>
        {
            ["missing-email"] = "{}",
            ["only-extra-fields"] = Json(new { organizationId = Guid.NewGuid(), role = "owner", status = "erased", id = Guid.NewGuid() }),
            ["email-number"] = """{"email":123}""",
            ["email-bool"] = """{"email":true}""",
            ["email-array"] = """{"email":["a@b.co"]}""",
            ["email-object"] = """{"email":{"a":1}}""",
            ["firstName-number"] = """{"email":"ok@example.test","firstName":5}""",
            ["firstName-too-long"] = Json(new { email = ok, firstName = new string('x', 201) }),
            ["firstName-nul"] = Json(new { email = ok, firstName = "a\u0000b" }),
            ["timeZone-number"] = """{"email":"ok@example.test","timeZone":1}""",
            ["timeZone-unknown"] = Json(new { email = ok, timeZone = "Mars/Olympus_Mons" }),
            ["timeZone-windows-id"] = Json(new { email = ok, timeZone = "Eastern Standard Time" }),
            ["timeZone-sql"] = Json(new { email = ok, timeZone = "UTC'; DROP TABLE contacts; --" }),
            ["properties-string"] = Json(new { email = ok, properties = "plan=pro" }),
            ["properties-array"] = Json(new { email = ok, properties = new[] { 1, 2 } }),
            ["properties-number"] = Json(new { email = ok, properties = 5 }),
            ["properties-1MB-value"] = Json(new { email = ok, properties = new { bio = new string('x', 1024 * 1024) } }),
            ["properties-deep"] = Json(new { email = ok, properties = deep }),
            ["properties-huge-number"] = """{"email":"ok@example.test","properties":{"n":1e400}}""",
            ["properties-long-number"] = """{"email":"ok@example.test","properties":{"n":123456789012345678901234567890123456789012345678901234567890}}""",
            ["properties-too-many-keys"] = Json(new { email = ok, properties = Enumerable.Range(0, 201).ToDictionary(i => "k" + i, i => i) }),
            ["properties-empty-key"] = """{"email":"ok@example.test","properties":{"":1}}""",
            ["properties-long-key"] = Json(new { email = ok, properties = new Dictionary<string, int> { [new string('k', 101)] = 1 } }),
            ["properties-nul-value"] = Json(new { email = ok, properties = new { a = "x\u0000y" } }),
            ["properties-nul-key"] = Json(new { email = ok, properties = new Dictionary<string, int> { ["a\u0000"] = 1 } }),
            ["consent-without-source"] = """{"email":"ok@example.test","consent":{"at":"2026-01-01T00:00:00Z"}}""",
            ["consent-in-the-future"] = """{"email":"ok@example.test","consent":{"source":"form","at":"2999-01-01T00:00:00Z"}}""",
            ["consent-at-not-a-date"] = """{"email":"ok@example.test","consent":{"source":"form","at":"yesterday"}}""",
            ["consent-string"] = """{"email":"ok@example.test","consent":"yes"}""",
            ["properties-too-big"] = Json(new { email = ok, properties = Enumerable.Range(0, 100).ToDictionary(i => "k" + i, _ => new string('v', 1000)) }),
        })
        {
            Add($"contact {name}", new BadCase("POST", "/v1/contacts", body));
        }

        Add("patch-contact body-array", new BadCase("PATCH", "/v1/contacts/{contact}", "[1]"));
        Add("patch-contact email-null", new BadCase("PATCH", "/v1/contacts/{contact}", """{"email":null}"""));
        Add("patch-contact properties-string", new BadCase("PATCH", "/v1/contacts/{contact}", """{"properties":"x"}"""));
        Add("patch-contact timeZone-bad", new BadCase("PATCH", "/v1/contacts/{contact}", """{"timeZone":"Nowhere/Land"}"""));
        Add("patch-contact firstName-object", new BadCase("PATCH", "/v1/contacts/{contact}", """{"firstName":{"a":1}}"""));

        Add("batch missing-contacts", new BadCase("POST", "/v1/contacts/batch", "{}"));
        Add("batch contacts-string", new BadCase("POST", "/v1/contacts/batch", """{"contacts":"all of them"}"""));
        Add("batch contacts-empty", new BadCase("POST", "/v1/contacts/batch", """{"contacts":[]}"""));
        Add("batch contacts-numbers", new BadCase("POST", "/v1/contacts/batch", """{"contacts":[1,2,3]}"""));
        Add("batch 10001-contacts", new BadCase("POST", "/v1/contacts/batch", Json(new { contacts = Enumerable.Range(0, 10_001).Select(i => new { email = $"b{i}@example.test" }) })));

        Add("list missing-name", new BadCase("POST", "/v1/lists", """{"description":"d"}"""));
        Add("list blank-name", new BadCase("POST", "/v1/lists", """{"name":"   "}"""));
        Add("list name-number", new BadCase("POST", "/v1/lists", """{"name":5}"""));
        Add("list name-too-long", new BadCase("POST", "/v1/lists", Json(new { name = new string('n', 201) })));
        Add("list description-too-long", new BadCase("POST", "/v1/lists", Json(new { name = "n", description = new string('d', 2001) })));
        Add("members none", new BadCase("POST", "/v1/lists/{list}/members", "{}"));
        Add("members ids-not-guids", new BadCase("POST", "/v1/lists/{list}/members", """{"contactIds":["not-a-guid"]}"""));
        Add("members ids-sql", new BadCase("POST", "/v1/lists/{list}/members", """{"contactIds":["' OR 1=1 --"]}"""));
        Add("members ids-string", new BadCase("POST", "/v1/lists/{list}/members", """{"contactIds":"all"}"""));
        Add("members emails-numbers", new BadCase("POST", "/v1/lists/{list}/members", """{"emails":[1,2]}"""));
        Add("members too-many", new BadCase("POST", "/v1/lists/{list}/members", Json(new { contactIds = Enumerable.Range(0, 10_001).Select(_ => Guid.NewGuid()) })));

        foreach (var (name, filter) in new Dictionary<string, string>
        {
            ["missing"] = "null",
            ["string"] = "\"plan = pro\"",
            ["empty-object"] = "{}",
            ["empty-all"] = """{"all":[]}""",
            ["all-and-any"] = """{"all":[{"property":"p","op":"exists"}],"any":[{"property":"p","op":"exists"}]}""",
            ["unknown-op"] = """{"all":[{"property":"plan","op":"like","value":"p%"}]}""",
            ["sql-op"] = """{"all":[{"property":"plan","op":"eq; DROP TABLE contacts","value":"x"}]}""",
            ["no-subject"] = """{"all":[{"op":"eq","value":"x"}]}""",
            ["eq-without-value"] = """{"all":[{"property":"plan","op":"eq"}]}""",
            ["contains-number"] = """{"all":[{"property":"plan","op":"contains","value":5}]}""",
            ["gt-object"] = """{"all":[{"property":"seats","op":"gt","value":{"a":1}}]}""",
            ["gt-huge"] = """{"all":[{"property":"seats","op":"gt","value":1e400}]}""",
            ["exists-string"] = """{"all":[{"property":"plan","op":"exists","value":"yes"}]}""",
            ["property-empty"] = """{"all":[{"property":"","op":"exists"}]}""",
            ["property-dots"] = """{"all":[{"property":"a..b","op":"exists"}]}""",
            ["property-nul"] = """{"all":[{"property":"a\u0000","op":"exists"}]}""",
            ["property-number"] = """{"all":[{"property":5,"op":"exists"}]}""",
            ["event-negative"] = """{"all":[{"event":"purchased","op":"countGte","value":-1}]}""",
            ["event-fraction"] = """{"all":[{"event":"purchased","op":"countGte","value":1.5}]}""",
            ["event-prop-op"] = """{"all":[{"event":"purchased","op":"eq","value":1}]}""",
            ["within-words"] = """{"all":[{"event":"purchased","op":"countGte","value":1,"within":"30 days"}]}""",
            ["within-negative"] = """{"all":[{"event":"purchased","op":"countGte","value":1,"within":"-P1D"}]}""",
            ["within-huge"] = """{"all":[{"event":"purchased","op":"countGte","value":1,"within":"P99999Y"}]}""",
            ["within-on-property"] = """{"all":[{"property":"p","op":"exists","within":"P1D"}]}""",
            ["unknown-field"] = """{"all":[{"property":"p","ops":"eq","value":1}]}""",
            ["too-deep"] = """{"all":[{"any":[{"all":[{"any":[{"property":"p","op":"exists"}]}]}]}]}""",
            ["too-many"] = "{\"any\":[" + string.Join(",", Enumerable.Repeat("{\"property\":\"p\",\"op\":\"exists\"}", 51)) + "]}",
            ["condition-string"] = """{"all":["plan = 'pro'"]}""",
        })
        {
            Add($"segment filter-{name}", new BadCase("POST", "/v1/segments", "{\"name\":\"s\",\"filter\":" + filter + "}"));
        }

        Add("segment missing-name", new BadCase("POST", "/v1/segments", """{"filter":{"all":[{"property":"p","op":"exists"}]}}"""));

        foreach (var (name, template) in new Dictionary<string, object>
        {
            ["missing-html"] = new { name = "t", subject = "s" },
            ["missing-subject"] = new { name = "t", html = "h" },
            ["missing-name"] = new { subject = "s", html = "h" },
            ["subject-too-long"] = new { name = "t", subject = new string('s', 999), html = "h" },
            ["html-number"] = new { name = "t", subject = "s", html = 5 },
            ["liquid-if-unclosed"] = new { name = "t", subject = "s", html = "{% if contact.firstName %}hi" },
            ["liquid-output-unclosed"] = new { name = "t", subject = "Hi {{ contact.firstName", html = "h" },
            ["liquid-empty-filter"] = new { name = "t", subject = "s", html = "{{ x | }}" },
            ["liquid-for-bare"] = new { name = "t", subject = "s", html = "{% for %}{% endfor %}" },
            ["liquid-stray-endif"] = new { name = "t", subject = "s", html = "{% endif %}" },
            ["liquid-raw-unclosed"] = new { name = "t", subject = "s", html = "{% raw %}never closed" },
            ["liquid-unterminated-string"] = new { name = "t", subject = "s", html = "{{ 'unterminated }}" },
            ["liquid-in-text"] = new { name = "t", subject = "s", html = "h", text = "{% if %}" },
            ["liquid-assign-broken"] = new { name = "t", subject = "s", html = "{% assign = 1 %}" },
            ["liquid-injection-tag"] = new { name = "t", subject = "{% {{ system }} %}", html = "h" },
        })
        {
            Add($"template {name}", new BadCase("POST", "/v1/templates", Json(template)));
            Add($"template-put {name}", new BadCase("PUT", "/v1/templates/{template}", Json(template)));
        }

        Add("preview contact-string", new BadCase("POST", "/v1/templates/{template}/preview", """{"contact":"ada"}"""));
        Add("preview event-number", new BadCase("POST", "/v1/templates/{template}/preview", """{"event":5}"""));
        Add("preview contactId-not-guid", new BadCase("POST", "/v1/templates/{template}/preview", """{"contactId":"abc"}"""));
        Add("preview contactId-and-contact", new BadCase("POST", "/v1/templates/{template}/preview", """{"contactId":"{contact}","contact":{"firstName":"x"}}"""));

        Add("suppression missing-reason", new BadCase("POST", "/v1/suppressions", """{"email":"ok@example.test"}"""));
        Add("suppression reason-erased", new BadCase("POST", "/v1/suppressions", """{"email":"ok@example.test","reason":"erased"}"""));
        Add("suppression reason-unknown", new BadCase("POST", "/v1/suppressions", """{"email":"ok@example.test","reason":"spam"}"""));
        Add("suppression reason-number", new BadCase("POST", "/v1/suppressions", """{"email":"ok@example.test","reason":3}"""));

        Add("user role-unknown", new BadCase("POST", "/v1/users", """{"email":"new@example.test","role":"superadmin"}"""));
        Add("user role-missing", new BadCase("POST", "/v1/users", """{"email":"new@example.test"}"""));
        Add("user role-number", new BadCase("POST", "/v1/users", """{"email":"new@example.test","role":1}"""));
        Add("user-patch role-unknown", new BadCase("PATCH", "/v1/users/{user}", """{"role":"god"}"""));
        Add("user-patch empty", new BadCase("PATCH", "/v1/users/{user}", "{}"));

        Add("key scopes-missing", new BadCase("POST", "/v1/api-keys", """{"name":"k"}"""));
        Add("key scopes-empty", new BadCase("POST", "/v1/api-keys", """{"name":"k","scopes":[]}"""));
        Add("key scopes-unknown", new BadCase("POST", "/v1/api-keys", """{"name":"k","scopes":["root"]}"""));
        Add("key scopes-string", new BadCase("POST", "/v1/api-keys", """{"name":"k","scopes":"contacts:read"}"""));
        Add("key scopes-numbers", new BadCase("POST", "/v1/api-keys", """{"name":"k","scopes":[1]}"""));
        Add("key name-missing", new BadCase("POST", "/v1/api-keys", """{"scopes":["contacts:read"]}"""));

        Add("signup password-short", new BadCase("POST", "/v1/auth/signup", """{"organizationName":"o","email":"new@example.test","password":"short"}"""));
        Add("signup password-missing", new BadCase("POST", "/v1/auth/signup", """{"organizationName":"o","email":"new@example.test"}"""));
        Add("signup password-too-long", new BadCase("POST", "/v1/auth/signup", Json(new { organizationName = "o", email = "new@example.test", password = new string('p', 300) })));
        Add("signup organization-missing", new BadCase("POST", "/v1/auth/signup", """{"email":"new@example.test","password":"long enough password"}"""));
        Add("signup role-injection", new BadCase("POST", "/v1/auth/signup", """{"email":"new@example.test","password":"x","role":"owner","organizationId":"00000000-0000-0000-0000-000000000001"}"""));
        Add("login password-missing", new BadCase("POST", "/v1/auth/login", """{"email":"nobody@example.test"}"""));
        Add("login email-number", new BadCase("POST", "/v1/auth/login", """{"email":5,"password":"x"}"""));
        Add("login sql-injection", new BadCase("POST", "/v1/auth/login", """{"email":"' OR '1'='1' --","password":"' OR '1'='1"}"""));
        Add("accept-invite bogus-token", new BadCase("POST", "/v1/auth/accept-invite", """{"token":"bogus","password":"long enough password"}"""));
        Add("accept-invite token-missing", new BadCase("POST", "/v1/auth/accept-invite", """{"password":"long enough password"}"""));

        foreach (var query in new[]
        {
            "/v1/contacts?limit=0", "/v1/contacts?limit=-1", "/v1/contacts?limit=abc", "/v1/contacts?limit=501", "/v1/contacts?limit=99999999999999999999",
            "/v1/contacts?cursor=garbage", "/v1/contacts?cursor=%27%20OR%201%3D1%20--", "/v1/contacts?segmentId=not-a-guid", "/v1/contacts?listId=1",
            "/v1/contacts?email=" + new string('e', 300), "/v1/contacts/{contact}/timeline?cursor=zzz", "/v1/contacts/{contact}/timeline?limit=0",
            "/v1/lists?limit=x", "/v1/suppressions?cursor=zz", "/v1/users?cursor=AAAA", "/v1/segments/{segment}/contacts?limit=1000",
            "/v1/templates?cursor=%00", "/v1/api-keys?limit=1.5", "/v1/segments?limit=-5", "/v1/contacts/not-a-guid", "/v1/contacts/%27%20OR%20%271%27%3D%271",
            "/v1/lists/{list}/members", "/v1/contacts?segmentId=" + Guid.Empty,
        })
        {
            Add($"query {query}", new BadCase("GET", query, null, null));
        }

        Add("header idempotency-key-too-long", new BadCase("POST", "/v1/lists", """{"name":"l"}""", Headers: new() { ["Idempotency-Key"] = new string('k', 201) }));
        Add("body over-2MB", new BadCase("POST", "/v1/contacts", Json(new { email = ok, properties = new { a = new string('x', 3 * 1024 * 1024) } })));
        Add("body no-content-type", new BadCase("POST", "/v1/lists", """{"name":"l"}""", null));
        Add("delete contact not-a-guid", new BadCase("DELETE", "/v1/contacts/abc", null, null));
        return cases;
    }

    private async Task<(ApiTenant Tenant, Dictionary<string, string> Ids)> StateAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_state is { } state && ReferenceEquals(state.Fixture, fixture))
            {
                return (state.Tenant, state.Ids);
            }

            var tenant = await fixture.CreateTenantAsync();
            var contact = (await tenant.CreateContactAsync()).GetProperty("id").GetGuid();
            var ids = new Dictionary<string, string>
            {
                ["{contact}"] = contact.ToString(),
                ["{list}"] = (await tenant.CreateAsync("/v1/lists", new { name = "battery" })).ToString(),
                ["{segment}"] = (await tenant.CreateAsync("/v1/segments", new { name = "battery", filter = new { all = new[] { new { property = "p", op = "exists" } } } })).ToString(),
                ["{template}"] = (await tenant.CreateAsync("/v1/templates", new { name = "battery", subject = "s", html = "h" })).ToString(),
                ["{user}"] = tenant.UserId.ToString(),
            };
            _state = (fixture, tenant, ids);
            return (tenant, ids);
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>Row counts and last-change times of every table the API writes.</summary>
    private Task<string> SnapshotAsync() => SnapshotTextAsync(fixture.ConnectionString);

    private static async Task<string> SnapshotTextAsync(string connectionString)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT concat_ws('|',
              (SELECT count(*) FROM organizations), (SELECT count(*) FROM users), (SELECT max(updated_at) FROM users),
              (SELECT count(*) FROM api_keys), (SELECT count(*) FROM contacts), (SELECT max(updated_at) FROM contacts),
              (SELECT count(*) FROM email_lists), (SELECT count(*) FROM list_members), (SELECT count(*) FROM segments),
              (SELECT count(*) FROM segment_members), (SELECT count(*) FROM email_templates), (SELECT max(updated_at) FROM email_templates),
              (SELECT count(*) FROM suppressions), (SELECT count(*) FROM audit_log), (SELECT count(*) FROM refresh_tokens),
              (SELECT count(*) FROM idempotency_keys), (SELECT count(*) FROM events), (SELECT count(*) FROM event_idempotency_keys))
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_a_4xx_problem_that_names_it_and_writes_nothing(string name)
    {
        var (tenant, ids) = await StateAsync();
        var bad = All[name];
        string Fill(string text) => ids.Aggregate(text, (t, p) => t.Replace(p.Key, p.Value, StringComparison.Ordinal));
        using var client = tenant.Client();
        using var request = new HttpRequestMessage(new HttpMethod(bad.Method), Fill(bad.Path));
        if (bad.RawBytes is not null || bad.Body is not null)
        {
            var content = new ByteArrayContent(bad.RawBytes ?? Encoding.UTF8.GetBytes(Fill(bad.Body!)));
            if (bad.ContentType is not null)
            {
                content.Headers.ContentType = new MediaTypeHeaderValue(bad.ContentType);
            }

            request.Content = content;
        }

        foreach (var (header, value) in bad.Headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        var before = await SnapshotAsync();
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var after = await SnapshotAsync();

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{name}: {status} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        if (status is 400 or 409 or 413 or 415)
        {
            Assert.True(problem.TryGetProperty("errors", out var errors) && errors.EnumerateObject().Any(), $"{name}: no errors named in {body}");
        }

        Assert.Equal(before, after);
    }

    [Fact]
    public async Task An_oversized_body_sent_without_a_length_is_a_413_problem_that_writes_nothing()
    {
        var (tenant, _) = await StateAsync();
        using var client = tenant.Client();
        var json = JsonSerializer.SerializeToUtf8Bytes(new { email = "chunked@example.test", properties = new { a = new string('x', 3 * 1024 * 1024) } });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/contacts") { Content = new StreamContent(new UnseekableStream(json)) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        Assert.Null(request.Content.Headers.ContentLength);

        var before = await SnapshotAsync();
        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(413, (int)response.StatusCode);
        Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty("body", out _), body);
        Assert.Equal(before, await SnapshotAsync());
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public void The_battery_has_at_least_two_hundred_cases() => Assert.True(All.Count >= 200, $"{All.Count} cases");
}
