using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Automator.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Automator.IntegrationTests.Live;

/// <summary>A SignalR client of the live hub over the test server's WebSockets, recording every message it gets.</summary>
public sealed class LiveClient : IAsyncDisposable
{
    private static readonly string[] Methods = ["journeyMoved", "stats", "providerState", "sendRate"];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private LiveClient(HubConnection connection)
    {
        Connection = connection;
        foreach (var method in Methods)
        {
            connection.On<JsonElement>(method, payload => Received.Enqueue(new LiveMessage(method, payload.Clone(), _clock.Elapsed)));
        }
    }

    public HubConnection Connection { get; }

    public ConcurrentQueue<LiveMessage> Received { get; } = new();

    public static HubConnection Build(AutomatorApp app, string? accessToken)
    {
        var server = app.Server;
        var url = new Uri(server.BaseAddress, accessToken is null ? "hubs/live" : $"hubs/live?access_token={Uri.EscapeDataString(accessToken)}");
        return new HubConnectionBuilder()
            .WithUrl(url, o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                o.WebSocketFactory = async (context, cancellationToken) =>
                {
                    var client = server.CreateWebSocketClient();
                    return await client.ConnectAsync(context.Uri, cancellationToken);
                };
            })
            .Build();
    }

    public static async Task<LiveClient> ConnectAsync(AutomatorApp app, string accessToken)
    {
        var client = new LiveClient(Build(app, accessToken));
        await client.Connection.StartAsync();
        return client;
    }

    public IEnumerable<LiveMessage> Of(string method) => Received.Where(m => m.Method == method);

    /// <summary>Every workflow id named in the messages received so far.</summary>
    public HashSet<Guid> WorkflowIds()
    {
        var ids = new HashSet<Guid>();
        foreach (var message in Received)
        {
            if (message.Method == "journeyMoved")
            {
                foreach (var move in message.Payload.EnumerateArray())
                {
                    ids.Add(move.GetProperty("workflowId").GetGuid());
                }
            }
            else if (message.Method == "stats")
            {
                ids.Add(message.Payload.GetProperty("workflowId").GetGuid());
            }
        }

        return ids;
    }

    /// <summary>Sum of a step's stats changes received for a workflow.</summary>
    public (int Waiting, int Passed) StepTotals(Guid workflowId, string stepId)
    {
        int waiting = 0, passed = 0;
        foreach (var message in Of("stats"))
        {
            if (message.Payload.GetProperty("workflowId").GetGuid() == workflowId
                && message.Payload.GetProperty("steps").TryGetProperty(stepId, out var step))
            {
                waiting += step.GetProperty("waiting").GetInt32();
                passed += step.GetProperty("passed").GetInt32();
            }
        }

        return (waiting, passed);
    }

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}

public sealed record LiveMessage(string Method, JsonElement Payload, TimeSpan At);
