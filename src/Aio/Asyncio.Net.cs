using Aio.Net;
using Aio.Net.Internal;
using Aio.Streams.Internal;

namespace Aio;

public static partial class Asyncio
{
    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> and returns a reader and a writer for the
    /// connection (asyncio's <c>open_connection</c>). Name resolution runs off the loop thread; several
    /// addresses are tried with happy eyeballs; <see cref="StreamOptions.SslClient"/> turns on TLS.
    /// </summary>
    /// <exception cref="System.Net.Sockets.SocketException">The connection failed (refused, unreachable, unknown host).</exception>
    public static async Task<(AioStreamReader Reader, AioStreamWriter Writer)> OpenConnectionAsync(string host, int port, StreamOptions? options = null)
    {
        EventLoop loop = EventLoop.RunningLoopFor(nameof(OpenConnectionAsync));
        options ??= new StreamOptions();
        var reader = new AioStreamReader(loop, options.Limit);
        var (_, protocol) = await loop.CreateConnectionAsync(() => new StreamReaderProtocol(loop, reader, null, null), host, port, options.ToConnectionOptions());
        return (reader, protocol.Writer!);
    }

    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/> and runs <paramref name="handler"/> as a new
    /// task for every connection (asyncio's <c>start_server</c>). The handler tasks belong to the server:
    /// <see cref="Server.CloseClients"/> or disposing the server cancels them; <see cref="Server.ShutdownAsync"/> or
    /// cancelling <see cref="Server.ServeForeverAsync"/> first signals <see cref="Server.ShuttingDown"/> and gives them
    /// a grace period to finish. A handler that throws is reported to the loop's exception handler and its connection closed.
    /// </summary>
    /// <param name="handler">Serves one connection; close the writer when done.</param>
    /// <param name="host">An address or name; null or empty for every interface.</param>
    /// <param name="port">The port; 0 lets the system choose (see <see cref="Server.Sockets"/>).</param>
    /// <param name="options">Limit, backlog, TLS.</param>
    public static Task<Server> StartServerAsync(Func<AioStreamReader, AioStreamWriter, Task> handler, string? host, int port, StreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        EventLoop loop = EventLoop.RunningLoopFor(nameof(StartServerAsync));
        options ??= new StreamOptions();
        int limit = options.Limit;
        return loop.CreateServerInternalAsync(
            server => new StreamReaderProtocol(loop, new AioStreamReader(loop, limit), handler, server.Handlers),
            host, port, null, options.ToServerOptions());
    }

    /// <summary>Connects to the Unix domain socket <paramref name="path"/> and returns a reader and a writer (asyncio's <c>open_unix_connection</c>).</summary>
    public static async Task<(AioStreamReader Reader, AioStreamWriter Writer)> OpenUnixConnectionAsync(string path, StreamOptions? options = null)
    {
        EventLoop loop = EventLoop.RunningLoopFor(nameof(OpenUnixConnectionAsync));
        options ??= new StreamOptions();
        var reader = new AioStreamReader(loop, options.Limit);
        var (_, protocol) = await loop.CreateUnixConnectionAsync(() => new StreamReaderProtocol(loop, reader, null, null), path, options.ToConnectionOptions());
        return (reader, protocol.Writer!);
    }

    /// <summary>Listens on the Unix domain socket <paramref name="path"/> and runs <paramref name="handler"/> per connection (asyncio's <c>start_unix_server</c>).</summary>
    public static Task<Server> StartUnixServerAsync(Func<AioStreamReader, AioStreamWriter, Task> handler, string path, StreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        EventLoop loop = EventLoop.RunningLoopFor(nameof(StartUnixServerAsync));
        options ??= new StreamOptions();
        int limit = options.Limit;
        return loop.CreateServerInternalAsync(
            server => new StreamReaderProtocol(loop, new AioStreamReader(loop, limit), handler, server.Handlers),
            null, 0, path, options.ToServerOptions());
    }
}
