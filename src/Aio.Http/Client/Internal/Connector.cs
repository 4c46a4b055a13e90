// Connector: the SocketsHttpHandler a session drives, and its connect callback.
//
// Design note. The handler owns the protocol and the pool; the session only shapes it: no automatic redirects
// (the session follows them, for RFC 9110's method rules and its own limits), a connect callback that opens the
// TCP connection itself so that (1) the connect limits run on the loop's clock (a CancellationTokenSource on
// loop.TimeProvider: virtual time in tests) and (2) every connection is counted while open (OpenConnections: a
// request cancelled mid-body shows its connection closed). The callback runs on the handler's threads, never the
// loop's: it may only read loop.Time() and create timers through loop.TimeProvider, both thread-safe.
// Connection set-up is decoupled from requests in the handler (a connect started for one request may serve
// another); the connect deadline of the request that triggered it (SocketsHttpConnectionContext.InitialRequestMessage)
// bounds it.
using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace Aio.Http.Client.Internal;

internal sealed class Connector
{
    /// <summary>The request option carrying the request's connect deadline (absolute loop time) to the connect callback.</summary>
    public static readonly HttpRequestOptionsKey<double> ConnectDeadlineKey = new("Aio.Http.ConnectDeadline");

    private readonly EventLoop _loop;
    private readonly TimeSpan? _socketConnect;
    private int _open;             // connections open now (any thread: Interlocked)
    private long _opened;          // connections opened in all

    public Connector(EventLoop loop, ClientSessionOptions options, CookieContainer? cookies)
    {
        _loop = loop;
        _socketConnect = options.Timeout.SocketConnect;
        Handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = cookies is not null,
            CookieContainer = cookies ?? new CookieContainer(),
            PooledConnectionIdleTimeout = options.KeepAliveTimeout,
            PooledConnectionLifetime = options.ConnectionLifetime,
            AutomaticDecompression = options.AutomaticDecompression ? DecompressionMethods.All : DecompressionMethods.None,
            ConnectCallback = ConnectAsync,
        };
        if (options.LimitPerHost > 0)
        {
            Handler.MaxConnectionsPerServer = options.LimitPerHost;
        }
        if (options.Proxy is not null)
        {
            Handler.Proxy = options.Proxy;
            Handler.UseProxy = true;
        }
        if (options.SslOptions is not null)
        {
            Handler.SslOptions = options.SslOptions;
        }
        options.ConfigureHandler?.Invoke(Handler);
    }

    public SocketsHttpHandler Handler { get; }

    public int OpenConnections => Volatile.Read(ref _open);

    public long OpenedConnections => Interlocked.Read(ref _opened);

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken poolToken)
    {
        // Runs on the handler's threads: no loop objects here (see the design note).
        double now = _loop.Time();
        double? deadline = _socketConnect is TimeSpan s ? now + s.TotalSeconds : null;
        ClientTimeoutKind kind = ClientTimeoutKind.SocketConnect;
        if (context.InitialRequestMessage.Options.TryGetValue(ConnectDeadlineKey, out double requestDeadline)
            && (deadline is null || requestDeadline < deadline))
        {
            deadline = requestDeadline;
            kind = ClientTimeoutKind.Connect;
        }
        using CancellationTokenSource? timer = deadline is double d
            ? new CancellationTokenSource(TimeSpan.FromSeconds(Math.Max(0, d - now)), _loop.TimeProvider)
            : null;
        using CancellationTokenSource? linked = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(poolToken, timer.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, linked?.Token ?? poolToken).ConfigureAwait(false); // off-loop: the handler's thread
        }
        catch (OperationCanceledException e) when (timer is { IsCancellationRequested: true } && !poolToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw ClientThrowHelper.ConnectTimedOut(kind, context.DnsEndPoint, deadline!.Value - now, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        Interlocked.Increment(ref _open);
        Interlocked.Increment(ref _opened);
        return new CountedNetworkStream(socket, this);
    }

    private void Closed() => Interlocked.Decrement(ref _open);

    /// <summary>The connection's stream: counts itself closed once, when the handler disposes it.</summary>
    private sealed class CountedNetworkStream(Socket socket, Connector owner) : NetworkStream(socket, ownsSocket: true)
    {
        private int _disposed;

        protected override void Dispose(bool disposing)
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Closed();
            }
            base.Dispose(disposing);
        }
    }
}
