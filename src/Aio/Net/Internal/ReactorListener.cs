using System.Net.Sockets;
using System.Runtime.InteropServices;
using Aio.Polling;
using Aio.Polling.Interop;

namespace Aio.Net.Internal;

/// <summary>
/// The epoll back end of <see cref="Listener"/>: the listening socket is registered for readability and
/// connections are taken with <c>accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)</c>, up to a batch per readiness.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed unsafe class ReactorListener : Listener, IIoHandler
{
    /// <summary>At most this many accepts per readiness, so a connection storm cannot starve the loop.</summary>
    private const int AcceptBatch = 64;

    private readonly Aio.Polling.IPoller _poller;
    private readonly int _fd;
    private bool _registered;

    public ReactorListener(EventLoop loop, Socket socket, Server server) : base(loop, socket, server)
    {
        _poller = loop.Poller;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _poller.Register(socket.SafeHandle, IoEvents.None, this);
        _registered = true;
    }

    private protected override void Arm()
    {
        if (_registered)
        {
            _poller.Modify(Socket.SafeHandle, IoEvents.Read);
        }
    }

    private protected override void Disarm()
    {
        if (_registered)
        {
            _poller.Modify(Socket.SafeHandle, IoEvents.None);
        }
    }

    private protected override void CloseSocket()
    {
        if (_registered)
        {
            _registered = false;
            _poller.Unregister(Socket.SafeHandle);
        }
        Socket.Dispose();
    }

    public void OnIoReady(IoEvents events)
    {
        for (int i = 0; i < AcceptBatch && _accepting && !_closed && !BackingOff; i++)
        {
            int fd = _server.AcceptFaultForTests is { } fault && fault() is int injected and not 0
                ? Fail(injected)
                : LibC.accept4(_fd, null, null, LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC);
            if (fd < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == Errno.EAGAIN)
                {
                    return;
                }
                if (IsResourceError(errno))
                {
                    OutOfResources(new SocketException(SocketErrorFromErrno(errno)));
                    return;
                }
                // ECONNABORTED, EPROTO, EPERM (firewall), EINTR: this connection is gone; try the next one.
                continue;
            }
            var socket = new Socket(new SafeSocketHandle(fd, ownsHandle: true));
            // The trap: a Socket made from a handle believes it is blocking; tell it, or its first
            // synchronous Receive may try to block (and fail) instead of returning WouldBlock.
            socket.Blocking = false;
            Accepted(socket);
        }
    }

    private static int Fail(int errno)
    {
        Marshal.SetLastPInvokeError(errno);
        return -1;
    }

    private static int SocketErrorFromErrno(int errno) => errno switch
    {
        Errno.EMFILE or Errno.ENFILE => (int)SocketError.TooManyOpenSockets,
        _ => (int)SocketError.NoBufferSpaceAvailable,
    };

    public override string ToString() => $"<ReactorListener {EndPoint}>";
}
