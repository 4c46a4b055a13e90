// The loop's networking entry points (asyncio's loop.create_server, create_connection, create_unix_server,
// create_unix_connection, create_datagram_endpoint, start_tls, getaddrinfo) as extension methods of
// EventLoop: the net layer builds on the loop, the loop does not know the net layer. `using Aio.Net;` keeps
// asyncio's call shapes (`loop.CreateServerAsync(...)`). The machinery is in Net/Internal: SocketTransport
// (+ the epoll and portable back ends, chosen once in UsesReactor), Listener, Connector (happy eyeballs),
// SslTransport, DatagramTransport; addresses are resolved in one place (GetAddressesAsync). See docs/networking.md.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Aio.LowLevel;
using Aio.Net.Internal;

namespace Aio.Net;

/// <summary>
/// The networking entry points of an <see cref="EventLoop"/> (asyncio's <c>loop.create_server</c>,
/// <c>create_connection</c>, <c>start_tls</c>, <c>create_datagram_endpoint</c>, <c>getaddrinfo</c>).
/// </summary>
public static partial class EventLoopNetExtensions
{
    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/> and runs a protocol from
    /// <paramref name="protocolFactory"/> for every accepted connection (asyncio's <c>create_server</c>).
    /// </summary>
    /// <param name="protocolFactory">Makes the protocol of one connection: an <see cref="IProtocol"/> or an <see cref="IBufferedProtocol"/>.</param>
    /// <param name="host">An address or host name; null or empty listens on every interface (IPv4 and IPv6).</param>
    /// <param name="port">The port; 0 lets the system choose (read it from <see cref="Server.Sockets"/>).</param>
    /// <param name="options">Backlog, address reuse, TLS; null for the defaults.</param>
    /// <exception cref="SocketException">Binding failed (the address is in use, say).</exception>
    /// <param name="loop">The loop to run it on: the running loop, called on its thread.</param>
    public static async Task<Server> CreateServerAsync(this EventLoop loop, Func<IBaseProtocol> protocolFactory, string? host, int port, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(protocolFactory);
        loop.CheckThread(nameof(CreateServerAsync));
        loop.CheckClosed(nameof(CreateServerAsync));
        options ??= new ServerOptions();
        return loop.CreateServerCore(_ => protocolFactory(), await loop.ListenEndPointsAsync(host, port), options);
    }

    /// <summary>Listens on the Unix domain socket <paramref name="path"/> (asyncio's <c>create_unix_server</c>); a stale socket file is replaced, and the file is removed when the server closes.</summary>
    /// <exception cref="SocketException">Binding failed (a live server already listens there, say).</exception>
    public static Task<Server> CreateUnixServerAsync(this EventLoop loop, Func<IBaseProtocol> protocolFactory, string path, ServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(protocolFactory);
        ArgumentException.ThrowIfNullOrEmpty(path);
        loop.CheckThread(nameof(CreateUnixServerAsync));
        loop.CheckClosed(nameof(CreateUnixServerAsync));
        return Task.FromResult(loop.CreateServerCore(_ => protocolFactory(), [new UnixDomainSocketEndPoint(path)], options ?? new ServerOptions()));
    }

    /// <summary>Internal server creation whose factory sees the server (stream servers register their handler tasks with it).</summary>
    internal static async Task<Server> CreateServerInternalAsync(this EventLoop loop, Func<Server, IBaseProtocol> protocolFactory, string? host, int port, string? unixPath, ServerOptions options)
    {
        loop.CheckThread(nameof(CreateServerAsync));
        loop.CheckClosed(nameof(CreateServerAsync));
        if (unixPath is not null)
        {
            return loop.CreateServerCore(protocolFactory, [new UnixDomainSocketEndPoint(unixPath)], options);
        }
        return loop.CreateServerCore(protocolFactory, await loop.ListenEndPointsAsync(host, port), options);
    }

    /// <summary>Where a TCP server listens: every interface (IPv4 and IPv6) for no host, else the host's addresses.</summary>
    private static async Task<List<EndPoint>> ListenEndPointsAsync(this EventLoop loop, string? host, int port)
    {
        IPAddress[] addresses = string.IsNullOrEmpty(host)
            ? (Socket.OSSupportsIPv6 && loop.NetworkProvider is null ? [IPAddress.Any, IPAddress.IPv6Any] : [IPAddress.Any])
            : await loop.GetAddressesAsync(host);
        return addresses.Distinct().Select(a => (EndPoint)new IPEndPoint(a, port)).ToList();
    }

    /// <summary>The one choice of I/O back end: the epoll reactor's transports when the poller reports readiness (Linux), else the portable ones.</summary>
    [System.Runtime.Versioning.SupportedOSPlatformGuard("linux")]
    internal static bool UsesReactor(this EventLoop loop) => loop.Poller.SupportsReadiness && OperatingSystem.IsLinux();

    private static Server CreateServerCore(this EventLoop loop, Func<Server, IBaseProtocol> protocolFactory, List<EndPoint> endPoints, ServerOptions options)
    {
        SslServerAuthenticationOptions? ssl = options.Ssl;
        double handshakeTimeout = options.SslHandshakeTimeout;
        var server = new Server(loop, (socket, srv) => loop.AcceptConnection(socket, srv, protocolFactory, ssl, handshakeTimeout));
        var listeners = new List<Listener>();
        try
        {
            foreach (EndPoint ep in endPoints)
            {
                if (loop.NetworkProvider is { } provider)
                {
                    listeners.Add(new ProvidedListener(loop, provider.Listen(ep, options.Backlog), server));
                    continue;
                }
                Socket socket = Connector.Listen(ep, options);
                listeners.Add(loop.UsesReactor()
                    ? new ReactorListener(loop, socket, server)
                    : new PortableListener(loop, socket, server));
            }
        }
        catch
        {
            foreach (Listener l in listeners)
            {
                l.Close();
            }
            throw;
        }
        server.AddListeners(listeners);
        if (options.StartServing)
        {
            server.StartServing();
        }
        return server;
    }

    private static ITransport? AcceptConnection(this EventLoop loop, object accepted, Server server, Func<Server, IBaseProtocol> protocolFactory,
        SslServerAuthenticationOptions? ssl, double handshakeTimeout)
    {
        if (accepted is INetworkConnection provided)
        {
            IBaseProtocol p = protocolFactory(server);
            if (ssl is null)
            {
                return new ProvidedTransport(loop, provided, p, server, null);
            }
            var secure = new SslTransport(loop, p, ssl, handshakeTimeout, null);
            _ = new ProvidedTransport(loop, provided, secure.RawProtocol, server, null);
            return secure;
        }
        var socket = (Socket)accepted;
        if (socket.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
        {
            socket.NoDelay = true;
        }
        IBaseProtocol protocol = protocolFactory(server);
        if (ssl is null)
        {
            return loop.CreateSocketTransport(socket, protocol, server, null);
        }
        var tls = new SslTransport(loop, protocol, ssl, handshakeTimeout, null);
        loop.CreateSocketTransport(socket, tls.RawProtocol, server, null);
        return tls;
    }

    /// <summary>Wraps a connected non-blocking socket in the transport of loop loop's back end.</summary>
    internal static SocketTransport CreateSocketTransport(this EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter) =>
        loop.UsesReactor()
            ? new ReactorSocketTransport(loop, socket, protocol, server, waiter)
            : new PortableSocketTransport(loop, socket, protocol, server, waiter);

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> and runs a protocol from
    /// <paramref name="protocolFactory"/> on the connection (asyncio's <c>create_connection</c>). The host name is
    /// resolved off the loop thread; with several addresses, happy eyeballs (RFC 8305) tries them staggered and
    /// keeps the first that answers. Returns once the protocol's <see cref="IBaseProtocol.ConnectionMade"/> ran
    /// (after the TLS handshake, with <see cref="ConnectionOptions.Ssl"/>).
    /// </summary>
    /// <exception cref="SocketException">Every address failed (refused, unreachable…), or the name did not resolve.</exception>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The TLS handshake failed.</exception>
    public static async Task<(ITransport Transport, TProtocol Protocol)> CreateConnectionAsync<TProtocol>(
        this EventLoop loop, Func<TProtocol> protocolFactory, string host, int port, ConnectionOptions? options = null)
        where TProtocol : IBaseProtocol
    {
        ArgumentNullException.ThrowIfNull(protocolFactory);
        ArgumentException.ThrowIfNullOrEmpty(host);
        loop.CheckThread(nameof(CreateConnectionAsync));
        loop.CheckClosed(nameof(CreateConnectionAsync));
        options ??= new ConnectionOptions();
        IPAddress[] addresses = await loop.GetAddressesAsync(host);
        if (loop.NetworkProvider is { } provider)
        {
            return await loop.ConnectProvidedAsync(provider, addresses.Select(a => (EndPoint)new IPEndPoint(a, port)).ToArray(), protocolFactory, options, host);
        }
        EndPoint[] endPoints = Connector.Order(addresses, options.InterleaveFamilies).Select(a => (EndPoint)new IPEndPoint(a, port)).ToArray();
        Socket socket = await Connector.ConnectAsync(loop, endPoints, options.HappyEyeballsDelay, options.LocalEndPoint);
        socket.NoDelay = true;
        return await loop.WrapClientSocketAsync(socket, protocolFactory, options, host);
    }

    /// <summary>Connects to the Unix domain socket <paramref name="path"/> (asyncio's <c>create_unix_connection</c>).</summary>
    /// <exception cref="SocketException">Nobody listens there (refused, or no such file).</exception>
    public static async Task<(ITransport Transport, TProtocol Protocol)> CreateUnixConnectionAsync<TProtocol>(
        this EventLoop loop, Func<TProtocol> protocolFactory, string path, ConnectionOptions? options = null)
        where TProtocol : IBaseProtocol
    {
        ArgumentNullException.ThrowIfNull(protocolFactory);
        ArgumentException.ThrowIfNullOrEmpty(path);
        loop.CheckThread(nameof(CreateUnixConnectionAsync));
        loop.CheckClosed(nameof(CreateUnixConnectionAsync));
        options ??= new ConnectionOptions();
        if (loop.NetworkProvider is { } provider)
        {
            return await loop.ConnectProvidedAsync(provider, [new UnixDomainSocketEndPoint(path)], protocolFactory, options, "localhost");
        }
        Socket socket = await Connector.ConnectOneAsync(loop, new UnixDomainSocketEndPoint(path), null);
        return await loop.WrapClientSocketAsync(socket, protocolFactory, options, "localhost");
    }

    /// <summary>Connects through the internal happy-eyeballs path to explicit addresses (tests, and callers that resolved already).</summary>
    internal static async Task<(ITransport Transport, TProtocol Protocol)> CreateConnectionToEndPointsAsync<TProtocol>(
        this EventLoop loop, Func<TProtocol> protocolFactory, EndPoint[] endPoints, ConnectionOptions? options = null)
        where TProtocol : IBaseProtocol
    {
        options ??= new ConnectionOptions();
        Socket socket = await Connector.ConnectAsync(loop, endPoints, options.HappyEyeballsDelay, options.LocalEndPoint);
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            socket.NoDelay = true;
        }
        return await loop.WrapClientSocketAsync(socket, protocolFactory, options, "localhost");
    }

    /// <summary>Connects through the loop's network provider: the addresses one after the other, the first that answers wins.</summary>
    private static async Task<(ITransport Transport, TProtocol Protocol)> ConnectProvidedAsync<TProtocol>(
        this EventLoop loop, INetworkProvider provider, EndPoint[] endPoints, Func<TProtocol> protocolFactory, ConnectionOptions options, string host)
        where TProtocol : IBaseProtocol
    {
        INetworkConnection? connection = null;
        for (int i = 0; connection is null; i++)
        {
            try
            {
                connection = await provider.ConnectAsync(endPoints[i], options.LocalEndPoint);
            }
            catch (SocketException) when (i < endPoints.Length - 1)
            {
                // the next address may answer
            }
        }
        TProtocol protocol;
        try
        {
            protocol = protocolFactory();
        }
        catch
        {
            connection.Close();
            throw;
        }
        var waiter = loop.CreateFuture<bool>();
        if (options.Ssl is { } ssl)
        {
            var tls = new SslTransport(loop, protocol, SslTransport.WithTargetHost(ssl, host), options.SslHandshakeTimeout, waiter);
            _ = new ProvidedTransport(loop, connection, tls.RawProtocol, null, null);
            await waiter;
            return (tls, protocol);
        }
        var transport = new ProvidedTransport(loop, connection, protocol, null, waiter);
        try
        {
            await waiter;
        }
        catch
        {
            transport.Abort();
            throw;
        }
        return (transport, protocol);
    }

    private static async Task<(ITransport Transport, TProtocol Protocol)> WrapClientSocketAsync<TProtocol>(
        this EventLoop loop, Socket socket, Func<TProtocol> protocolFactory, ConnectionOptions options, string host)
        where TProtocol : IBaseProtocol
    {
        TProtocol protocol;
        try
        {
            protocol = protocolFactory();
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var waiter = loop.CreateFuture<bool>();
        if (options.Ssl is { } ssl)
        {
            var tls = new SslTransport(loop, protocol, SslTransport.WithTargetHost(ssl, host), options.SslHandshakeTimeout, waiter);
            loop.CreateSocketTransport(socket, tls.RawProtocol, null, null);
            await waiter;
            return (tls, protocol);
        }
        SocketTransport transport = loop.CreateSocketTransport(socket, protocol, null, waiter);
        try
        {
            await waiter;
        }
        catch
        {
            transport.Abort();
            throw;
        }
        return (transport, protocol);
    }

    /// <summary>
    /// Upgrades an open connection to TLS as a client (asyncio's <c>start_tls</c>): the transport's protocol
    /// is switched to the TLS layer, the handshake runs, and the returned transport carries
    /// <paramref name="protocol"/>'s plaintext. Do not use the old transport afterwards.
    /// </summary>
    /// <exception cref="System.Security.Authentication.AuthenticationException">The handshake failed (the connection is aborted).</exception>
    public static Task<ITransport> StartTlsAsync(this EventLoop loop, ITransport transport, IBaseProtocol protocol, SslClientAuthenticationOptions options, double handshakeTimeout = 60.0)
    {
        ArgumentNullException.ThrowIfNull(options);
        return loop.StartTlsCoreAsync(transport, protocol, options, handshakeTimeout);
    }

    /// <summary>Upgrades an open connection to TLS as a server; see <see cref="StartTlsAsync(EventLoop, ITransport, IBaseProtocol, SslClientAuthenticationOptions, double)"/>.</summary>
    public static Task<ITransport> StartTlsAsync(this EventLoop loop, ITransport transport, IBaseProtocol protocol, SslServerAuthenticationOptions options, double handshakeTimeout = 60.0)
    {
        ArgumentNullException.ThrowIfNull(options);
        return loop.StartTlsCoreAsync(transport, protocol, options, handshakeTimeout);
    }

    private static async Task<ITransport> StartTlsCoreAsync(this EventLoop loop, ITransport transport, IBaseProtocol protocol, object options, double handshakeTimeout)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(protocol);
        loop.CheckThread(nameof(StartTlsAsync));
        var waiter = loop.CreateFuture<bool>();
        var tls = new SslTransport(loop, protocol, options, handshakeTimeout, waiter, callConnectionMade: false);
        tls.AttachToOpenTransport(transport);
        await waiter;
        return tls;
    }

    /// <summary>
    /// Creates a UDP endpoint (asyncio's <c>create_datagram_endpoint</c>): bound to <paramref name="local"/>
    /// (null: an ephemeral port), and when <paramref name="remote"/> is given connected to it (then only
    /// datagrams from it arrive, and SendTo needs no address). Returns once the protocol's ConnectionMade ran.
    /// </summary>
    /// <exception cref="ArgumentException">Neither address is given.</exception>
    /// <exception cref="SocketException">Binding or connecting failed.</exception>
    public static async Task<(IDatagramTransport Transport, TProtocol Protocol)> CreateDatagramEndpointAsync<TProtocol>(
        this EventLoop loop, Func<TProtocol> protocolFactory, IPEndPoint? local = null, IPEndPoint? remote = null, bool allowBroadcast = false)
        where TProtocol : IDatagramProtocol
    {
        ArgumentNullException.ThrowIfNull(protocolFactory);
        loop.CheckThread(nameof(CreateDatagramEndpointAsync));
        loop.CheckClosed(nameof(CreateDatagramEndpointAsync));
        if (local is null && remote is null)
        {
            throw new ArgumentException("Pass a local address to bind, a remote address to connect to, or both.", nameof(local));
        }
        if (loop.NetworkProvider is { } provider)
        {
            INetworkDatagramSocket provided = provider.OpenDatagram(local, remote);
            TProtocol p;
            try
            {
                p = protocolFactory();
            }
            catch
            {
                provided.Close();
                throw;
            }
            var started = loop.CreateFuture<bool>();
            var endpoint = new ProvidedDatagramTransport(loop, provided, p, remote, started);
            await started;
            return (endpoint, p);
        }
        AddressFamily family = (local ?? remote)!.AddressFamily;
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        TProtocol protocol;
        try
        {
            socket.Blocking = false;
            if (allowBroadcast)
            {
                socket.EnableBroadcast = true;
            }
            socket.Bind(local ?? new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
            if (remote is not null)
            {
                socket.Connect(remote);   // UDP connect only sets the default peer: it never blocks
            }
            protocol = protocolFactory();
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var waiter = loop.CreateFuture<bool>();
        var transport = new DatagramTransport(loop, socket, protocol, remote, waiter);
        await waiter;
        return (transport, protocol);
    }

    /// <summary>
    /// Resolves <paramref name="host"/> off the loop thread (asyncio's <c>getaddrinfo</c>): an address literal
    /// returns at once; a name goes to <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>, awaited
    /// through the loop, cancellable by the current task.
    /// </summary>
    /// <exception cref="SocketException">The name does not resolve.</exception>
    public static async Task<IPAddress[]> GetAddressesAsync(this EventLoop loop, string host)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        loop.CheckThread(nameof(GetAddressesAsync));
        if (IPAddress.TryParse(host.Trim('[', ']'), out IPAddress? literal))
        {
            return [literal];
        }
        IPAddress[] found = loop.NetworkProvider is { } provider
            ? await provider.ResolveAsync(host)
            : await Asyncio.Cancellable(Dns.GetHostAddressesAsync(host, Asyncio.CurrentToken));
        if (found.Length == 0)
        {
            NetThrowHelper.NoAddresses(host);
        }
        return found;
    }
}
