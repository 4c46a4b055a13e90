using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aio.Internal;
using Aio.LowLevel;
using Aio.Polling;

namespace Aio.Net.Internal;

/// <summary>
/// A UDP endpoint on either back end. Epoll: the socket is registered for readability and one datagram is
/// received per readiness with a synchronous ReceiveFrom into the loop's buffer. Portable: one
/// ReceiveFromAsync is in flight into the endpoint's own buffer (a zero-byte read would consume a datagram),
/// its completion posted to the loop. Sends are synchronous; a datagram the socket refuses (EAGAIN) is queued
/// and sent on writability (epoll) or on the next send or receive (portable).
/// </summary>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Lives as long as the endpoint; released with it.")]
internal sealed class DatagramTransport : IDatagramTransport, IIoHandler
{
    private static readonly Action<object?> s_start = static s => ((DatagramTransport)s!).Start();
    private static readonly Action<object?> s_lost = static s => ((DatagramTransport)s!).CallConnectionLost();
    private static readonly Action<object?> s_receiveDone = static s => ((DatagramTransport)s!).OnReceiveDone();

    private readonly EventLoop _loop;
    private readonly Socket _socket;
    private readonly IDatagramProtocol _protocol;
    private readonly EndPoint? _remote;              // the connected remote, or null
    private readonly EndPoint _anyEndPoint;          // template for ReceiveFrom
    private readonly IPoller? _poller;               // epoll back end; null on the portable one
    private readonly Queue<(byte[] Data, EndPoint? To)> _queue = new();
    private readonly AioFuture<bool> _waiter;
    private SocketAsyncEventArgs? _receiveArgs;      // portable back end
    private byte[]? _receiveBuffer;                  // portable back end
    private bool _receivePending;
    private int _queuedBytes;
    private bool _closing;
    private bool _lostScheduled;
    private bool _closed;
    private Exception? _lostError;

    public DatagramTransport(EventLoop loop, Socket socket, IDatagramProtocol protocol, EndPoint? remote, AioFuture<bool> waiter)
    {
        _loop = loop;
        _socket = socket;
        _protocol = protocol;
        _remote = remote;
        _waiter = waiter;
        _anyEndPoint = socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        if (loop.UsesReactor())
        {
            _poller = loop.Poller;
            _poller.Register(socket.SafeHandle, IoEvents.None, this);
        }
        loop.CallSoonInternal(s_start, this);
    }

    public bool IsClosing => _closing;

    private void Start()
    {
        try
        {
            _protocol.ConnectionMade(this);
        }
        catch (Exception e)
        {
            _waiter.TrySetException(e);
            Fatal(e);
            return;
        }
        UpdateIo();
        _waiter.TrySetResult(true);
    }

    private void UpdateIo()
    {
        if (_closed)
        {
            return;
        }
        if (_poller is not null)
        {
            IoEvents interest = (_closing ? IoEvents.None : IoEvents.Read) | (_queue.Count > 0 ? IoEvents.Write : IoEvents.None);
            _poller.Modify(_socket.SafeHandle, interest);
            return;
        }
        if (!_closing && !_receivePending)
        {
            if (_receiveArgs is null)
            {
                _receiveBuffer = new byte[64 * 1024];
                _receiveArgs = new SocketAsyncEventArgs();
                _receiveArgs.SetBuffer(_receiveBuffer);
                _receiveArgs.UserToken = this;
                _receiveArgs.Completed += static (_, e) =>
                {
                    var self = (DatagramTransport)e.UserToken!;
                    self._loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_receiveDone, State = self });
                };
            }
            _receiveArgs.RemoteEndPoint = _anyEndPoint;
            _receivePending = true;
            _loop.BeginOutsideWork(OutsideWorkKind.Foreign);
            bool pending;
            try
            {
                pending = _socket.ReceiveFromAsync(_receiveArgs);
            }
            catch (ObjectDisposedException)
            {
                _receivePending = false;
                _loop.EndOutsideWork(OutsideWorkKind.Foreign);
                return;
            }
            if (!pending)
            {
                _loop.CallSoonInternal(s_receiveDone, this);
            }
        }
    }

    public void OnIoReady(IoEvents events)
    {
        if ((events & (IoEvents.Read | IoEvents.Error)) != 0 && !_closing)
        {
            EndPoint from = _anyEndPoint;
            int n;
            try
            {
                n = _socket.ReceiveFrom(_loop.ReceiveBuffer, SocketFlags.None, ref from);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                n = -1;
            }
            catch (SocketException e)
            {
                ErrorReceived(e);
                n = -1;
            }
            if (n >= 0)
            {
                Deliver(_loop.ReceiveBuffer.AsSpan(0, n), from);
            }
        }
        if ((events & IoEvents.Write) != 0 && !_closed)
        {
            Flush();
        }
    }

    private void OnReceiveDone()
    {
        _receivePending = false;
        _loop.EndOutsideWork(OutsideWorkKind.Foreign);
        if (_closed)
        {
            return;
        }
        SocketAsyncEventArgs args = _receiveArgs!;
        if (args.SocketError == SocketError.Success)
        {
            Deliver(_receiveBuffer.AsSpan(0, args.BytesTransferred), args.RemoteEndPoint!);
        }
        else if (args.SocketError != SocketError.OperationAborted)
        {
            ErrorReceived(new SocketException((int)args.SocketError));
        }
        Flush();
        UpdateIo();
    }

    private void Deliver(ReadOnlySpan<byte> data, EndPoint from)
    {
        try
        {
            _protocol.DatagramReceived(data, from);
        }
        catch (Exception e)
        {
            Fatal(e);
        }
    }

    private void ErrorReceived(Exception error)
    {
        try
        {
            _protocol.ErrorReceived(error);
        }
        catch (Exception e)
        {
            Fatal(e);
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
        if (_queue.Count == 0 && TrySend(data, remote))
        {
            return;
        }
        _queue.Enqueue((data.ToArray(), remote));
        _queuedBytes += data.Length;
        UpdateIo();
    }

    /// <summary>Sends one datagram now; false if the socket would block (queue it).</summary>
    private bool TrySend(ReadOnlySpan<byte> data, EndPoint? remote)
    {
        try
        {
            if (remote is null)
            {
                _socket.Send(data, SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    return false;
                }
                if (error != SocketError.Success)
                {
                    ErrorReceived(new SocketException((int)error));
                }
                return true;
            }
            _socket.SendTo(data, SocketFlags.None, remote);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
        {
            return false;
        }
        catch (SocketException e)
        {
            ErrorReceived(e);
            return true;   // the datagram is lost, as UDP datagrams may be
        }
    }

    private void Flush()
    {
        while (_queue.Count > 0 && !_closed)
        {
            (byte[] data, EndPoint? to) = _queue.Peek();
            if (!TrySend(data, to))
            {
                break;
            }
            _queue.Dequeue();
            _queuedBytes -= data.Length;
        }
        if (_queue.Count == 0 && _closing)
        {
            ScheduleLost();
        }
        UpdateIo();
    }

    public int GetWriteBufferSize() => _queuedBytes;

    public object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "sockname" => _socket.LocalEndPoint ?? defaultValue,
        "peername" => _remote ?? defaultValue,
        "socket" => _socket,
        _ => defaultValue,
    };

    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        if (_closing)
        {
            return;
        }
        _closing = true;
        UpdateIo();
        if (_queue.Count == 0)
        {
            ScheduleLost();
        }
    }

    public void Abort()
    {
        _loop.CheckThread(nameof(Abort));
        _queue.Clear();
        _queuedBytes = 0;
        _closing = true;
        UpdateIo();
        ScheduleLost();
    }

    private void Fatal(Exception error)
    {
        if (error is not SocketException)
        {
            _loop.CallExceptionHandler(new ExceptionContext { Message = $"Fatal error on datagram endpoint {this}; it is closed.", Exception = error, Source = this });
        }
        _lostError = error;
        Abort();
    }

    private void ScheduleLost()
    {
        if (_lostScheduled)
        {
            return;
        }
        _lostScheduled = true;
        _loop.CallSoonInternal(s_lost, this);
    }

    private void CallConnectionLost()
    {
        try
        {
            _protocol.ConnectionLost(_lostError);
        }
        catch (Exception e)
        {
            _loop.CallExceptionHandler(new ExceptionContext { Message = "protocol.ConnectionLost() failed", Exception = e, Source = this });
        }
        finally
        {
            _closed = true;
            _poller?.Unregister(_socket.SafeHandle);
            _socket.Dispose();
        }
    }

    public override string ToString() =>
        _closed ? "<DatagramTransport closed>" : $"<DatagramTransport {_socket.LocalEndPoint}{(_remote is null ? "" : " -> " + _remote)}{(_closing ? " closing" : "")} queued={_queuedBytes}>";
}
