// ProvidedTransport, ProvidedListener, ProvidedDatagramTransport: Aio's transports over the objects of a network
// provider (Aio.LowLevel.INetworkProvider, e.g. Aio.Testing's simulated network) instead of kernel sockets.
//
// Design note. The stream transport is a StreamTransport like the socket ones: the same write buffer, flow control,
// half-close and life cycle; only the "system calls" go to an INetworkConnection, whose readiness callbacks stand
// for a level-triggered poller's. The datagram transport is small enough to be its own: sends go straight to the
// provider (which never refuses one), received datagrams come through a callback.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aio.LowLevel;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

/// <summary>A stream transport over a provider's <see cref="INetworkConnection"/>. See the design note.</summary>
internal sealed class ProvidedTransport : StreamTransport
{
    private readonly INetworkConnection _connection;
    private readonly Server? _server;
    private readonly EndPoint _peer;
    private readonly EndPoint _local;

    public ProvidedTransport(EventLoop loop, INetworkConnection connection, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
        : base(loop, protocol, waiter)
    {
        _connection = connection;
        _server = server;
        _peer = connection.RemoteEndPoint;
        _local = connection.LocalEndPoint;
        connection.Start(OnReadable, OnWritable);
        server?.Attach(this);
    }

    private protected override string KindName => _peer is UnixDomainSocketEndPoint ? "UnixTransport" : "TcpTransport";

    private protected override string DescriptorText => "provided";

    private void OnReadable()
    {
        if (WantsRead)
        {
            ReadReady();
        }
    }

    private void OnWritable()
    {
        if (_buffer.Length > 0 && !_ioClosed)
        {
            WriteReady();
        }
    }

    private protected override void UpdateIo()
    {
        if (!_ioClosed)
        {
            _connection.SetInterest(WantsRead, _buffer.Length > 0);
        }
    }

    private protected override void StartWriting() => UpdateIo();

    private protected override void CloseIo() => _connection.Close();

    private protected override void OnClosed() => _server?.Detach(this);

    private protected override int ReceiveCore(Span<byte> buffer, out Exception? error)
    {
        int n = _connection.Receive(buffer, out SocketError code);
        error = n < 0 && code != SocketError.WouldBlock ? new SocketException((int)code) : null;
        return n;
    }

    private protected override int SendCore(ReadOnlySpan<byte> data, out Exception? error)
    {
        int n = _connection.Send(data, out SocketError code);
        error = n < 0 ? new SocketException((int)code) : null;
        return n;
    }

    private protected override void ShutdownSendCore() => _connection.ShutdownSend();

    public override object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "peername" => _peer,
        "sockname" => _local,
        _ => defaultValue,
    };
}

/// <summary>One listener of a provider, as a <see cref="Server"/> sees it.</summary>
internal sealed class ProvidedListener : Listener
{
    private readonly INetworkListener _listener;
    private readonly Action<INetworkConnection> _accepted;

    public ProvidedListener(EventLoop loop, INetworkListener listener, Server server) : base(loop, listener.LocalEndPoint, server)
    {
        _listener = listener;
        _accepted = c =>
        {
            if (_closed)
            {
                c.Close();
                return;
            }
            Accepted(c);
        };
    }

    private protected override void Arm() => _listener.StartAccepting(_accepted);

    private protected override void Disarm() => _listener.StopAccepting();

    private protected override void CloseSocket() => _listener.Close();
}

/// <summary>A datagram transport over a provider's <see cref="INetworkDatagramSocket"/>.</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal sealed class ProvidedDatagramTransport : IDatagramTransport
{
    private static readonly Action<object?> s_start = static s => ((ProvidedDatagramTransport)s!).Start();
    private static readonly Action<object?> s_lost = static s => ((ProvidedDatagramTransport)s!).CallConnectionLost();

    private readonly EventLoop _loop;
    private readonly INetworkDatagramSocket _socket;
    private readonly IDatagramProtocol _protocol;
    private readonly EndPoint? _remote;
    private readonly AioFuture<bool> _waiter;
    private bool _closing;
    private bool _started;

    public ProvidedDatagramTransport(EventLoop loop, INetworkDatagramSocket socket, IDatagramProtocol protocol, EndPoint? remote, AioFuture<bool> waiter)
    {
        _loop = loop;
        _socket = socket;
        _protocol = protocol;
        _remote = remote;
        _waiter = waiter;
        loop.CallSoonInternal(s_start, this);
    }

    public bool IsClosing => _closing;

    private void Start()
    {
        if (_closing)
        {
            _waiter.TrySetException(new SocketException((int)SocketError.OperationAborted));
            return;
        }
        _started = true;
        try
        {
            _protocol.ConnectionMade(this);
        }
        catch (Exception e)
        {
            _waiter.TrySetException(e);
            Abort();
            return;
        }
        _socket.Start(OnDatagram);
        _waiter.TrySetResult(true);
    }

    private void OnDatagram(ReadOnlySpan<byte> data, EndPoint from)
    {
        if (_closing || (_remote is not null && !_remote.Equals(from)))
        {
            return;
        }
        try
        {
            _protocol.DatagramReceived(data, from);
        }
        catch (Exception e)
        {
            _loop.CallExceptionHandler(new ExceptionContext { Message = "Fatal error: protocol.DatagramReceived() call failed; the endpoint is aborted.", Exception = e, Source = this });
            Abort();
        }
    }

    public void SendTo(ReadOnlySpan<byte> data, EndPoint? remote = null)
    {
        _loop.CheckThread(nameof(SendTo));
        if (remote is null && _remote is null)
        {
            throw new InvalidOperationException($"{this} is not connected: pass the remote address to SendTo.");
        }
        if (remote is not null && _remote is not null && !remote.Equals(_remote))
        {
            throw new InvalidOperationException($"{this} is connected to {_remote}: SendTo may only send there (pass null).");
        }
        if (_closing)
        {
            return;
        }
        _socket.SendTo(data, remote ?? _remote!);
    }

    public int GetWriteBufferSize() => 0;

    public object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "sockname" => _socket.LocalEndPoint,
        "peername" => _remote ?? defaultValue,
        _ => defaultValue,
    };

    public void Close() => Abort();

    public void Abort()
    {
        _loop.CheckThread(nameof(Abort));
        if (_closing)
        {
            return;
        }
        _closing = true;
        _socket.Close();
        _loop.CallSoonInternal(s_lost, this);
    }

    private void CallConnectionLost()
    {
        if (!_started)
        {
            return;
        }
        try
        {
            _protocol.ConnectionLost(null);
        }
        catch (Exception e)
        {
            _loop.CallExceptionHandler(new ExceptionContext { Message = "protocol.ConnectionLost() failed", Exception = e, Source = this });
        }
    }

    public override string ToString() => $"<DatagramTransport provided {_socket.LocalEndPoint}{(_closing ? " closing" : "")}>";
}
