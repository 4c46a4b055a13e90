using System.Diagnostics;
using System.Net;
using Aio.Http.Internal;

namespace Aio.Http;

/// <summary>A running HTTP server made by <see cref="Application.StartAsync"/>.</summary>
/// <remarks>Belongs to its loop. <c>await using</c> shuts it down without a grace period.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class HttpServer : IAsyncDisposable
{
    private readonly Server _server;
    private readonly HttpServerCore _core;

    internal HttpServer(Server server, HttpServerCore core)
    {
        _server = server;
        _core = core;
        _server.ShuttingDown.Register(core.BeginShutdown);
    }

    /// <summary>The addresses the server listens on; empty once shut down.</summary>
    public IReadOnlyList<EndPoint> Sockets => _server.Sockets;

    /// <summary>The port of the first address (the one the system chose for port 0).</summary>
    public int Port => _server.Sockets.Count > 0 && _server.Sockets[0] is IPEndPoint ip ? ip.Port : 0;

    /// <summary>Connections open now.</summary>
    public int ActiveConnections => _core.ConnectionCount;

    /// <summary>Requests whose handler runs now.</summary>
    public int ActiveRequests => _core.Tasks.Running;

    /// <summary>
    /// Shuts down in two phases: stop accepting (new connections are refused) and close idle keep-alive
    /// connections at once; in-flight requests get <paramref name="gracePeriod"/> seconds to finish and their
    /// responses carry <c>Connection: close</c>; then the requests left are cancelled (and logged as cut off) and
    /// their connections closed. Returns when every connection and handler is gone. A second call waits for the first.
    /// </summary>
    /// <param name="gracePeriod">Seconds; 0 cancels at once; infinity waits for the requests.</param>
    public async Task ShutdownAsync(double gracePeriod)
    {
        _core.Log.ShutdownStarted(_core.ConnectionCount, _core.Tasks.Running, gracePeriod);
        try
        {
            await _server.ShutdownAsync(gracePeriod);
        }
        finally
        {
            await new CancelScope(shield: true).RunAsync(async () =>
            {
                _core.CancelRequests();
                await _core.Tasks.WaitIdleAsync();
                await _core.WaitConnectionsClosedAsync();
            });
        }
    }

    /// <summary>Shuts down without a grace period.</summary>
    public async ValueTask DisposeAsync() => await ShutdownAsync(0);

    /// <inheritdoc/>
    public override string ToString() => $"<HttpServer {string.Join(", ", _server.Sockets)} connections:{_core.ConnectionCount} requests:{_core.Tasks.Running}>";
}
