using System.Net.Sockets;
using Aio.Polling;
using Aio.Streams.Internal;

namespace Aio.Net.Internal;

/// <summary>
/// The epoll back end of <see cref="SocketTransport"/>: the non-blocking socket is registered with the
/// loop's poller (level-triggered) and read and written synchronously on readiness. Never calls a .NET
/// async socket method (that would hand the socket to .NET's own epoll thread).
/// </summary>
internal sealed class ReactorSocketTransport : SocketTransport, IIoHandler
{
    private readonly IPoller _poller;      // the loop's poller at construction (the loop may drop its own when closed)
    private readonly string _kind;
    private bool _registered;              // the socket is in the poller's table

    public ReactorSocketTransport(EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
        : base(loop, socket, protocol, server, waiter)
    {
        _kind = socket.AddressFamily == System.Net.Sockets.AddressFamily.Unix ? "UnixTransport" : "TcpTransport";
        _poller = loop.Poller;
        _poller.Register(socket.SafeHandle, IoEvents.None, this);
        _registered = true;
    }

    private protected override string KindName => _kind;

    private protected override void UpdateIo()
    {
        if (!_registered)
        {
            return;
        }
        IoEvents interest = (WantsRead ? IoEvents.Read : IoEvents.None) | (_buffer.Length > 0 ? IoEvents.Write : IoEvents.None);
        _poller.Modify(_socket.SafeHandle, interest);
    }

    private protected override void StartWriting() => UpdateIo();

    public void OnIoReady(IoEvents events)
    {
        if ((events & (IoEvents.Read | IoEvents.Error | IoEvents.HangUp)) != 0 && WantsRead)
        {
            ReadReady();
        }
        if ((events & (IoEvents.Write | IoEvents.Error | IoEvents.HangUp)) != 0 && _buffer.Length > 0 && !_ioClosed)
        {
            WriteReady();
        }
    }

    private protected override void CloseSocket()
    {
        if (_registered)
        {
            _registered = false;
            _poller.Unregister(_socket.SafeHandle);
        }
        _socket.Dispose();
    }
}
