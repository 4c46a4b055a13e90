// PipeTransport: one end of a subprocess pipe as a stream transport, on the loop's epoll reactor.
//
// Design note. asyncio's _UnixReadPipeTransport and _UnixWritePipeTransport in one class: the state machine
// (protocol calls, write buffer with its 64 KiB/16 KiB water marks, Close/WriteEof/Abort, the exactly-once
// ConnectionLost) is the sockets' StreamTransport; this class only adds read(2)/write(2) on the non-blocking
// descriptor and its epoll registration. So a child's stdout is read by the very StreamReaderProtocol and
// AioStreamReader that read a socket (pausing at 2 × limit, resuming at the limit), and its stdin is an
// AioStreamWriter whose DrainAsync waits on this transport's water marks.
// The read end is registered for Read while reading is wanted; read() returning 0 is EOF: EofReceived, then
// the transport closes (a read-only transport has nothing left to do). The write end is registered for
// Write only while bytes are buffered (a pipe whose reader is gone would otherwise report EPOLLERR for ever).
// EPIPE – the child closed its standard input or exited – is fatal: the buffer is dropped and ConnectionLost
// gets an IOException saying "broken pipe", which DrainAsync then throws (CommunicateAsync ignores it, as
// asyncio's communicate does). .NET ignores SIGPIPE process-wide, so a write to a dead child returns EPIPE
// instead of killing us. WriteEof on a pipe closes it once the buffer is flushed: the child reads EOF.
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Net.Internal;
using Aio.Os.Interop;
using Aio.Polling;
using Microsoft.Win32.SafeHandles;

using Aio.Net;
using Aio.Streams.Internal;

namespace Aio.Os.Internal;

/// <summary>The read or write end of a subprocess pipe as a stream transport. See the design note.</summary>
[SupportedOSPlatform("linux")]
internal sealed class PipeTransport : StreamTransport, IIoHandler
{
    private readonly SafeFileHandle _fd;
    private readonly IPoller _poller;      // the loop's poller at construction (the loop may drop its own when closed)
    private readonly bool _isWriteEnd;
    private readonly string _kind;         // "ReadPipeTransport stdout", "WritePipeTransport stdin"
    private IoEvents _interest;            // what the poller watches now
    private bool _registered;

    /// <summary>Wraps the parent's end <paramref name="fd"/> (non-blocking) of the pipe named <paramref name="name"/>.</summary>
    public PipeTransport(EventLoop loop, SafeFileHandle fd, bool isWriteEnd, string name, IBaseProtocol protocol)
        : base(loop, protocol, waiter: null)
    {
        _fd = fd;
        _isWriteEnd = isWriteEnd;
        _kind = (isWriteEnd ? "WritePipeTransport " : "ReadPipeTransport ") + name;
        _poller = loop.Poller;
        _poller.Register(fd, IoEvents.None, this);
        _registered = true;
    }

    private protected override bool HasReadSide => !_isWriteEnd;

    private protected override bool HasWriteSide => _isWriteEnd;

    private protected override string KindName => _kind;

    private protected override string DescriptorText =>
        _fd.IsClosed ? "?" : _fd.DangerousGetHandle().ToString(CultureInfo.InvariantCulture);

    /// <summary>"pipe": the descriptor (a <see cref="SafeFileHandle"/>), as asyncio's <c>get_extra_info('pipe')</c>.</summary>
    public override object? GetExtraInfo(string name, object? defaultValue = null) => name == "pipe" ? _fd : defaultValue;

    /// <summary>A pipe has no half-close: EOF for the child means closing our end, once the buffer is written.</summary>
    public override void WriteEof()
    {
        _loop.CheckThread(nameof(WriteEof));
        if (_closing || _eofRequested)
        {
            return;
        }
        _eofRequested = true;
        _writeBlocked = true;
        Close();
    }

    private protected override void ShutdownSendCore() => Close();

    private protected override void UpdateIo()
    {
        if (!_registered)
        {
            return;
        }
        IoEvents interest = _isWriteEnd
            ? (_buffer.Length > 0 && !_aborted ? IoEvents.Write : IoEvents.None)
            : (WantsRead ? IoEvents.Read : IoEvents.None);
        if (interest != _interest)
        {
            _interest = interest;
            _poller.Modify(_fd, interest);
        }
    }

    private protected override void StartWriting() => UpdateIo();

    public void OnIoReady(IoEvents events)
    {
        if (_isWriteEnd)
        {
            if (_buffer.Length > 0 && !_ioClosed)
            {
                WriteReady();
            }
        }
        else if (WantsRead)
        {
            ReadReady();
        }
    }

    private protected override unsafe int ReceiveCore(Span<byte> buffer, out Exception? error)
    {
        error = null;
        int fd = (int)_fd.DangerousGetHandle();
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                n = ProcessLibC.read(fd, p, (nuint)buffer.Length);
            }
            if (n >= 0)
            {
                return (int)n;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ProcessLibC.EINTR)
            {
                continue;
            }
            if (errno != ProcessLibC.EAGAIN)
            {
                error = new IOException(
                    $"Reading {_kind} failed: read(2) returned errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}). The pipe is closed; the process's other streams are unaffected.",
                    errno);
            }
            return -1;
        }
    }

    private protected override unsafe int SendCore(ReadOnlySpan<byte> data, out Exception? error)
    {
        error = null;
        int fd = (int)_fd.DangerousGetHandle();
        int total = 0;
        while (total < data.Length)
        {
            nint n;
            fixed (byte* p = data[total..])
            {
                n = ProcessLibC.write(fd, p, (nuint)(data.Length - total));
            }
            if (n >= 0)
            {
                total += (int)n;
                continue;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ProcessLibC.EINTR)
            {
                continue;
            }
            if (errno == ProcessLibC.EAGAIN)
            {
                break;
            }
            error = errno == ProcessLibC.EPIPE
                ? OsThrowHelper.BrokenPipe(_kind)
                : new IOException(
                    $"Writing {_kind} failed: write(2) returned errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}). The pipe is closed; stop writing to it.",
                    errno);
            return -1;
        }
        return total;
    }

    private protected override void CloseIo()
    {
        if (_registered)
        {
            _registered = false;
            if (!_loop.IsClosed)
            {
                _poller.Unregister(_fd);
            }
        }
        _fd.Dispose();
    }

    /// <summary>The loop closes under a live pipe: release the descriptor now (no callback can run any more).</summary>
    internal void ReleaseOnLoopClosed() => ReleaseIo();
}
