using System.Net.Sockets;
using System.Runtime.InteropServices;
using Aio.LowLevel;
using Aio.Polling;
using Aio.Polling.Interop;
using Aio.Streams.Internal;
using Microsoft.Win32.SafeHandles;

namespace Aio.Net.Internal;

/// <summary>
/// The epoll back end of <see cref="SocketTransport"/>: the non-blocking socket is registered with the
/// loop's poller (level-triggered) and read and written synchronously on readiness. Never calls a .NET
/// async socket method (that would hand the socket to .NET's own epoll thread).
/// </summary>
/// <remarks>
/// sendfile(2) (<see cref="SendFileNativeAsync"/>): while a file is being sent the transport's Write throws (the bytes
/// would interleave); the buffered writes go out first, then the file in non-blocking sendfile calls, each EAGAIN
/// parking the sending task until EPOLLOUT. Reading goes on meanwhile. A close or a reset wakes the task, which throws.
/// </remarks>
internal sealed class ReactorSocketTransport : SocketTransport, IIoHandler
{
    /// <summary>Bytes sent per loop turn before the sending task yields to the other ready callbacks (fairness).</summary>
    private const long SendFileTurnBudget = 1 << 20;

    private readonly IPoller _poller;      // the loop's poller at construction (the loop may drop its own when closed)
    private readonly string _kind;
    private bool _registered;              // the socket is in the poller's table
    private ParkingLot? _sendFileWaiter;   // the SendFileNativeAsync task waiting for EPOLLOUT (made on first use)
    private bool _sendFileParked;          // it is parked: watch for Write even with an empty buffer

    public ReactorSocketTransport(EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
        : base(loop, socket, protocol, server, waiter)
    {
        _kind = socket.AddressFamily == System.Net.Sockets.AddressFamily.Unix ? "UnixTransport" : "TcpTransport";
        _poller = loop.Poller;
        _poller.Register(socket.SafeHandle, IoEvents.None, this);
        _registered = true;
    }

    /// <summary>Bytes this transport sent with sendfile(2) (tests and diagnostics tell the native path from the copy).</summary>
    internal long NativeSendFileBytes { get; private set; }

    private protected override string KindName => _kind;

    private protected override void UpdateIo()
    {
        if (_sendFileParked && _closing)
        {
            _sendFileParked = false;
            _sendFileWaiter!.UnparkAll();
        }
        if (!_registered)
        {
            return;
        }
        IoEvents interest = (WantsRead ? IoEvents.Read : IoEvents.None) | (_buffer.Length > 0 || _sendFileParked ? IoEvents.Write : IoEvents.None);
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
        if (_sendFileParked && (_buffer.Length == 0 || _closing) && (events & (IoEvents.Write | IoEvents.Error | IoEvents.HangUp)) != 0)
        {
            WakeSendFile();
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
        if (_sendFileParked)
        {
            WakeSendFile();
        }
    }

    private void WakeSendFile()
    {
        _sendFileParked = false;
        _sendFileWaiter!.UnparkAll();
        if (!_closing)
        {
            UpdateIo();
        }
    }

    /// <summary>Parks the sending task until the socket is writable with an empty buffer (or the connection ends).</summary>
    private ValueTask WaitWritableAsync()
    {
        _sendFileWaiter ??= new ParkingLot(this);
        _sendFileParked = true;
        UpdateIo();
        return _sendFileWaiter.ParkAsync();
    }

    /// <summary>
    /// Sends <paramref name="count"/> bytes of <paramref name="file"/> from <paramref name="offset"/> with sendfile(2), after
    /// the buffered writes. Returns the bytes sent (fewer when the file ends first) and whether sendfile is impossible for
    /// this file (EINVAL, ENOSYS, EOPNOTSUPP: the caller copies the rest instead).
    /// </summary>
    /// <exception cref="IOException">The connection was closed or reset (the transport is aborted).</exception>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    internal async Task<(long Sent, bool Unsupported)> SendFileNativeAsync(SafeFileHandle file, long offset, long count)
    {
        if (_sendFileActive)
        {
            NetThrowHelper.SendFileInProgress(this);
        }
        if (_eofRequested)
        {
            StreamThrowHelper.WriteAfterEof(this);
        }
        _sendFileActive = _writeBlocked = true;
        long sent = 0;
        long budget = SendFileTurnBudget;
        try
        {
            while (sent < count)
            {
                if (_closing || _ioClosed)
                {
                    NetThrowHelper.SendFileConnectionLost(this, sent, count);
                }
                if (_buffer.Length > 0 || budget <= 0)
                {
                    budget = SendFileTurnBudget;
                    await WaitWritableAsync();
                    continue;
                }
                long n = SendFileOnce(file, offset + sent, Math.Min(count - sent, 0x7FFF_F000), out int errno);
                if (n > 0)
                {
                    sent += n;
                    budget -= n;
                    NativeSendFileBytes += n;
                    continue;
                }
                if (n == 0)
                {
                    break;   // the file ended before offset + count
                }
                switch (errno)
                {
                    case LibC.EAGAIN:
                        budget = SendFileTurnBudget;
                        await WaitWritableAsync();
                        break;
                    case LibC.EINTR:
                        break;
                    case LibC.EINVAL or LibC.ENOSYS or LibC.EOPNOTSUPP:
                        return (sent, true);
                    default:
                        Exception error = errno is LibC.EPIPE or LibC.ECONNRESET
                            ? new SocketException((int)SocketError.ConnectionReset)
                            : (Exception)new IOException($"sendfile(2) on {this} failed with errno {errno}.");
                        FatalError(error, $"Fatal sendfile error on {KindName}");
                        NetThrowHelper.SendFileConnectionLost(this, sent, count);
                        break;
                }
            }
            return (sent, false);
        }
        finally
        {
            _sendFileActive = false;
            _writeBlocked = _eofRequested;
            if (_sendFileParked)
            {
                _sendFileParked = false;
                if (!_closing)
                {
                    UpdateIo();
                }
            }
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private unsafe long SendFileOnce(SafeFileHandle file, long offset, long count, out int errno)
    {
        bool addedSocket = false;
        bool addedFile = false;
        try
        {
            _socket.SafeHandle.DangerousAddRef(ref addedSocket);
            file.DangerousAddRef(ref addedFile);
            long off = offset;
            nint n = LibC.sendfile((int)_socket.SafeHandle.DangerousGetHandle(), (int)file.DangerousGetHandle(), &off, (nuint)count);
            errno = n < 0 ? Marshal.GetLastPInvokeError() : 0;
            return n;
        }
        finally
        {
            if (addedFile)
            {
                file.DangerousRelease();
            }
            if (addedSocket)
            {
                _socket.SafeHandle.DangerousRelease();
            }
        }
    }
}
