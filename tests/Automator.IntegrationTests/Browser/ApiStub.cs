using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using IRequest = Microsoft.Playwright.IRequest;

namespace Automator.IntegrationTests.Browser;

/// <summary>
/// Answers the web UI's REST calls inside the browser with the shapes of shared/api.md, so the UI can be driven
/// while those routes are built elsewhere; the live hub and everything behind it stay real. Each request seen is
/// kept for assertions. Routes without an answer here go on to the real server.
/// </summary>
public sealed class ApiStub
{
    private readonly List<(string Method, string Path, Func<IRequest, int, JsonNode?> Answer, int Status)> _routes = [];
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public ConcurrentQueue<(string Method, string Path, JsonNode? Body)> Requests { get; } = new();

    /// <summary>Answers <paramref name="method"/> <paramref name="path"/> (a prefix match when it ends with '*').</summary>
    public ApiStub On(string method, string path, Func<IRequest, int, JsonNode?> answer, int status = 200)
    {
        _routes.Add((method, path, answer, status));
        return this;
    }

    public ApiStub On(string method, string path, JsonNode? body, int status = 200) => On(method, path, (_, _) => body?.DeepClone(), status);

    public async Task AttachAsync(IPage page) => await page.RouteAsync("**/v1/**", HandleAsync);

    private async Task HandleAsync(IRoute route)
    {
        var request = route.Request;
        var path = new Uri(request.Url).PathAndQuery;
        var body = request.PostData is { Length: > 0 } data ? JsonNode.Parse(data) : null;
        Requests.Enqueue((request.Method, path, body));
        foreach (var (method, pattern, answer, status) in _routes.AsEnumerable().Reverse())
        {
            var matches = pattern.EndsWith('*') ? path.StartsWith(pattern[..^1], StringComparison.Ordinal) : path.Split('?')[0] == pattern;
            if (method == request.Method && matches)
            {
                var count = _calls.AddOrUpdate(method + " " + pattern, 1, (_, n) => n + 1);
                var json = answer(request, count);
                var code = json is JsonObject o && o["status"] is JsonValue v && v.TryGetValue<int>(out var s) && s >= 400 ? s : status;
                await route.FulfillAsync(new RouteFulfillOptions
                {
                    Status = code,
                    ContentType = code >= 400 ? "application/problem+json" : "application/json",
                    Body = json?.ToJsonString() ?? "",
                });
                return;
            }
        }

        await route.ContinueAsync();
    }

    /// <summary>A JSON document with object keys sorted, for comparisons that ignore key order.</summary>
    public static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => JsonSerializer.Serialize(p.Key) + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };
}
