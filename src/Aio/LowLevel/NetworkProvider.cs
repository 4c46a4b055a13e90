// NetworkProvider: a per-loop replacement for the operating system's network (the hook a simulated network uses).
//
// Design note. The entry points of Aio.Net (CreateServerAsync, CreateConnectionAsync, CreateDatagramEndpointAsync,
// GetAddressesAsync, the Unix variants, and the stream functions built on them) look at the loop's provider once,
// when they set a connection up: one null check, nothing on the data path of real sockets. With a provider set they
// ask it for listeners, connections, datagram sockets and name resolution instead of the kernel, and wrap what it
// returns in Aio's own transports – the same state machine (write buffer, water marks, half-close, the exactly-once
// ConnectionMade/ConnectionLost life cycle) that runs over real sockets, so a program under a provider runs Aio's
// real protocol code. A provider's objects behave like non-blocking sockets watched by a level-triggered poller:
// calls never block, and readiness is reported through callbacks on the loop thread, never from inside a call of
// these interfaces. Aio.Testing's Simulation is the provider this was made for.
using System.Net;
using System.Net.Sockets;

namespace Aio.LowLevel;

/// <summary>
/// A network other than the operating system's, for one loop (set with <see cref="LoopNetwork.SetProvider"/>): the
/// networking entry points of <c>Aio.Net</c> ask it for listeners, connections, datagram sockets and name resolution.
/// </summary>
/// <remarks>Every member is called on the loop's thread. TLS options are not supported under a provider.</remarks>
public interface INetworkProvider
{
    /// <summary>Resolves a host name (never an address literal: those are parsed before the provider is asked).</summary>
    /// <exception cref="SocketException">The name does not resolve (<see cref="SocketError.HostNotFound"/>).</exception>
    Task<IPAddress[]> ResolveAsync(string host);

    /// <summary>Starts listening on <paramref name="endPoint"/> (an <see cref="IPEndPoint"/>, port 0 for any, or a <see cref="UnixDomainSocketEndPoint"/>).</summary>
    /// <exception cref="SocketException">The address is in use or not local.</exception>
    INetworkListener Listen(EndPoint endPoint, int backlog);

    /// <summary>Connects to <paramref name="remote"/>, optionally from <paramref name="local"/>; completes once the connection is established.</summary>
    /// <exception cref="SocketException">Refused, unreachable or timed out.</exception>
    Task<INetworkConnection> ConnectAsync(EndPoint remote, EndPoint? local);

    /// <summary>Opens a datagram socket bound to <paramref name="local"/> (null: any port) and, when given, connected to <paramref name="remote"/>.</summary>
    /// <exception cref="SocketException">Binding failed.</exception>
    INetworkDatagramSocket OpenDatagram(IPEndPoint? local, IPEndPoint? remote);
}

/// <summary>A listening socket of an <see cref="INetworkProvider"/>.</summary>
public interface INetworkListener
{
    /// <summary>The address listened on (with the port chosen for port 0).</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>Starts (or resumes) accepting: every new connection is passed to <paramref name="accepted"/> on the loop thread, later, never inside this call.</summary>
    void StartAccepting(Action<INetworkConnection> accepted);

    /// <summary>Pauses accepting; connections wait in the backlog.</summary>
    void StopAccepting();

    /// <summary>Stops listening; later connection attempts are refused. Idempotent.</summary>
    void Close();
}

/// <summary>
/// A connected byte stream of an <see cref="INetworkProvider"/>, shaped like a non-blocking socket watched by a
/// level-triggered poller: <see cref="Receive"/> and <see cref="Send"/> never block, and while an interest is set
/// and its condition holds the matching callback given to <see cref="Start"/> is called on the loop thread.
/// </summary>
public interface INetworkConnection
{
    /// <summary>This end's address.</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>The peer's address.</summary>
    EndPoint RemoteEndPoint { get; }

    /// <summary>
    /// Gives the readiness callbacks (called once, before any other member): <paramref name="readable"/> while the
    /// read interest is set and data, EOF or an error can be received; <paramref name="writable"/> while the write
    /// interest is set and <see cref="Send"/> would take bytes or fail. Never called from inside a member of this interface.
    /// </summary>
    void Start(Action readable, Action writable);

    /// <summary>Sets what the transport waits for.</summary>
    void SetInterest(bool read, bool write);

    /// <summary>Receives into <paramref name="buffer"/>: the byte count, 0 at EOF, or -1 with <paramref name="socketError"/> <see cref="SocketError.WouldBlock"/> (nothing yet) or the failure (a reset).</summary>
    int Receive(Span<byte> buffer, out SocketError socketError);

    /// <summary>Sends a prefix of <paramref name="data"/>: the bytes taken (0 when none can be taken now), or -1 with <paramref name="socketError"/> set.</summary>
    int Send(ReadOnlySpan<byte> data, out SocketError socketError);

    /// <summary>Shuts the sending half down: the peer reads EOF after the data sent so far.</summary>
    void ShutdownSend();

    /// <summary>Releases the connection (the peer reads EOF if the sending half is still open). No callback follows. Idempotent.</summary>
    void Close();
}

/// <summary>Receives one datagram; <paramref name="data"/> is valid only during the call.</summary>
/// <param name="data">The datagram.</param>
/// <param name="from">Its sender.</param>
public delegate void NetworkDatagramHandler(ReadOnlySpan<byte> data, EndPoint from);

/// <summary>A datagram socket of an <see cref="INetworkProvider"/>; sends never block (a datagram the network cannot carry is lost).</summary>
public interface INetworkDatagramSocket
{
    /// <summary>The bound address.</summary>
    EndPoint LocalEndPoint { get; }

    /// <summary>Starts delivering datagrams to <paramref name="received"/> on the loop thread (never inside a member of this interface).</summary>
    void Start(NetworkDatagramHandler received);

    /// <summary>Sends one datagram to <paramref name="remote"/>.</summary>
    void SendTo(ReadOnlySpan<byte> data, EndPoint remote);

    /// <summary>Closes the socket; nothing is delivered afterwards. Idempotent.</summary>
    void Close();
}

/// <summary>Installs an <see cref="INetworkProvider"/> on a loop (a simulated network for tests).</summary>
public static class LoopNetwork
{
    /// <summary>
    /// Routes the networking entry points of <paramref name="loop"/> (servers, connections, datagram endpoints, name
    /// resolution, the stream functions) to <paramref name="provider"/>; null goes back to the operating system's
    /// network. Set it before the loop opens connections: connections made before keep their network.
    /// </summary>
    /// <param name="loop">The loop, on its thread.</param>
    /// <param name="provider">The network, or null.</param>
    public static void SetProvider(EventLoop loop, INetworkProvider? provider)
    {
        ArgumentNullException.ThrowIfNull(loop);
        loop.CheckThread(nameof(SetProvider));
        loop.NetworkProvider = provider;
    }

    /// <summary>The provider set on <paramref name="loop"/>, or null when it uses the operating system's network.</summary>
    /// <param name="loop">The loop.</param>
    public static INetworkProvider? GetProvider(EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        return loop.NetworkProvider;
    }
}
