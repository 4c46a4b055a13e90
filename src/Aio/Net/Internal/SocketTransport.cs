// SocketTransport: the stream transport over a connected socket (TCP or Unix), for both poller back ends.
//
// Design note. This is asyncio's _SelectorSocketTransport (and uvloop's UVStream) in C#. The state machine
// (write buffer, water marks, close, life cycle) is StreamTransport, shared with the subprocess pipes; this
// class adds the socket calls. The two back ends differ only in how they learn that the socket is readable
// or writable:
//   - ReactorSocketTransport (epoll): the socket is non-blocking and registered with the loop's epoll,
//     level-triggered. On readiness the loop thread calls Socket.Receive/Send synchronously, with
//     `out SocketError` (no exception on EAGAIN): one system call per read or write, no thread hop.
//   - PortableSocketTransport (any OS): a zero-byte ReceiveAsync stands for "readable" (its completion is
//     posted to the loop, which then receives synchronously exactly as above), and the unsent tail of the
//     writes goes out with SendAsync, whose completion is posted back too.
// Hot path (the echo benchmark): a read lands in the loop's shared receive buffer (one per loop; the
// protocol sees a span valid during the call) and a write goes straight to the socket while nothing is
// buffered; only the tail the kernel did not take is copied into the WriteBuffer. Nothing allocates.
//
// Life cycle and flow control: see StreamTransport.
using System.Net;
using System.Net.Sockets;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

/// <summary>The transport of a connected stream socket; the back end supplies readiness. See the design note.</summary>
internal abstract class SocketTransport : StreamTransport
{
    private protected readonly Socket _socket;
    private readonly Server? _server;                        // the server that accepted the connection; null for clients
    private readonly EndPoint? _peer;                        // cached at construction: the socket may be closed when asked
    private readonly EndPoint? _local;

    protected SocketTransport(EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
        : base(loop, protocol, waiter)
    {
        _socket = socket;
        _server = server;
        try
        {
            _peer = socket.RemoteEndPoint;
            _local = socket.LocalEndPoint;
        }
        catch (SocketException)
        {
            // Not connected any more (reset before we looked): ConnectionLost will tell.
        }
        server?.Attach(this);
    }

    /// <summary>The back end stops watching the socket and disposes it.</summary>
    private protected abstract void CloseSocket();

    private protected sealed override void CloseIo() => CloseSocket();

    private protected sealed override void OnClosed() => _server?.Detach(this);

    private protected sealed override string DescriptorText =>
        _socket.SafeHandle.IsClosed ? "?" : _socket.SafeHandle.DangerousGetHandle().ToString(System.Globalization.CultureInfo.InvariantCulture);

    public sealed override object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "peername" => _peer ?? defaultValue,
        "sockname" => _local ?? defaultValue,
        "socket" => _socket,
        _ => defaultValue,
    };

    private protected sealed override int ReceiveCore(Span<byte> buffer, out Exception? error)
    {
        int n = _socket.Receive(buffer, SocketFlags.None, out SocketError code);
        if (code == SocketError.Success)
        {
            error = null;
            return n;
        }
        error = code == SocketError.WouldBlock ? null : new SocketException((int)code);
        return -1;
    }

    private protected sealed override int SendCore(ReadOnlySpan<byte> data, out Exception? error)
    {
        int sent = _socket.Send(data, SocketFlags.None, out SocketError code);
        error = null;
        if (code == SocketError.Success)
        {
            return sent;
        }
        if (code == SocketError.WouldBlock)
        {
            return 0;
        }
        error = new SocketException((int)code);
        return -1;
    }

    private protected sealed override void ShutdownSendCore() => _socket.Shutdown(SocketShutdown.Send);
}
