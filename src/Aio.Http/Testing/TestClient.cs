using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Aio.Http.Internal;

namespace Aio.Http.Testing;

/// <summary>
/// Tests an <see cref="Application"/> without a socket (aiohttp's <c>TestClient</c>, ASP.NET's <c>TestServer</c>):
/// requests travel over an in-memory transport pair through the real parser and connection code, on the running
/// loop, so they work in virtual time (<c>AioTest.Run</c>).
/// </summary>
/// <example><code>await using var client = new TestClient(app); var r = await client.GetAsync("/users/1");</code></example>
/// <remarks>Create and use it inside a task on the loop. Dispose it to shut the application's connections down.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class TestClient : IAsyncDisposable
{
    private readonly HttpServerCore _core;
    private readonly EventLoop _loop;
    private TestConnection? _keepAlive;

    /// <summary>Creates a client for <paramref name="application"/> on the running loop (freezing its routes and middlewares).</summary>
    public TestClient(Application application)
    {
        ArgumentNullException.ThrowIfNull(application);
        _loop = EventLoop.GetRunningLoop();
        _core = new HttpServerCore(application, _loop);
    }

    /// <summary>Connections open now (server side).</summary>
    public int ActiveConnections => _core.ConnectionCount;

    /// <summary>Opens a raw connection to send bytes by hand.</summary>
    public TestConnection Connect()
    {
        var client = new TestConnection();
        var connection = new HttpConnection(_core);
        var transport = new MemoryTransport(_loop, connection, client);
        client.Attach(transport);
        connection.ConnectionMade(transport);
        return client;
    }

    /// <summary>Sends GET <paramref name="target"/>.</summary>
    public Task<TestResponse> GetAsync(string target, params (string Name, string Value)[] headers) => SendAsync("GET", target, null, null, headers);

    /// <summary>Sends POST <paramref name="target"/> with a text body.</summary>
    public Task<TestResponse> PostAsync(string target, string body, string contentType = "text/plain; charset=utf-8") =>
        SendAsync("POST", target, Encoding.UTF8.GetBytes(body), contentType);

    /// <summary>Sends POST <paramref name="target"/> with <paramref name="value"/> as a JSON body.</summary>
    public Task<TestResponse> PostJsonAsync<T>(string target, T value) =>
        SendAsync("POST", target, JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions.Web), "application/json");

    /// <summary>
    /// Sends a request on the client's keep-alive connection (a new one when the last was closed) and reads the
    /// final response (interim 1xx responses are skipped).
    /// </summary>
    public async Task<TestResponse> SendAsync(string method, string target, byte[]? body = null, string? contentType = null, params (string Name, string Value)[] headers)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(target);
        if (_keepAlive is null || _keepAlive.IsClosed)
        {
            _keepAlive = Connect();
        }
        TestConnection c = _keepAlive;
        var head = new StringBuilder().Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: testserver\r\n");
        foreach ((string n, string v) in headers)
        {
            head.Append(n).Append(": ").Append(v).Append("\r\n");
        }
        if (contentType is not null)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }
        if (body is not null)
        {
            head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        }
        head.Append("\r\n");
        byte[] headBytes = Encoding.Latin1.GetBytes(head.ToString());
        byte[] all = body is null ? headBytes : [.. headBytes, .. body];
        c.Send(all);
        while (true)
        {
            TestResponse r = await c.ReadResponseAsync(toHead: method == "HEAD");
            if (r.Status >= 200)
            {
                if (string.Equals(r.Header("Connection"), "close", StringComparison.OrdinalIgnoreCase))
                {
                    _keepAlive = null;
                }
                return r;
            }
        }
    }

    /// <summary>
    /// Shuts the application's connections down like <see cref="HttpServer.ShutdownAsync"/>: idle ones close at once,
    /// in-flight requests get <paramref name="gracePeriod"/> seconds (virtual seconds under AioTest), then are cancelled.
    /// </summary>
    public async Task ShutdownAsync(double gracePeriod)
    {
        _core.BeginShutdown();
        try
        {
            if (gracePeriod > 0 && _core.ConnectionCount > 0)
            {
                await CancelScope.AfterDelay(gracePeriod).RunAsync(_core.WaitConnectionsClosedAsync);
            }
        }
        finally
        {
            await new CancelScope(shield: true).RunAsync(async () =>
            {
                _core.CancelRequests();
                await _core.Tasks.WaitIdleAsync();
                foreach (HttpConnection c in _core.Connections.ToArray())
                {
                    c.OnShutdown();
                    c.CloseForShutdown();
                }
                await _core.WaitConnectionsClosedAsync();
            });
        }
    }

    /// <summary>Shuts down without a grace period.</summary>
    public async ValueTask DisposeAsync() => await ShutdownAsync(0);

    /// <inheritdoc/>
    public override string ToString() => $"<TestClient connections:{_core.ConnectionCount} requests:{_core.Tasks.Running}>";
}
