// AioPipeWriter: the write end of a subprocess's standard input, written through the loop's epoll reactor.
//
// Design note. Write() tries the non-blocking write(2) at once when nothing is queued; what the pipe does not
// take is buffered and the descriptor is registered for Write until the buffer is empty (asyncio's transport
// write path). DrainAsync() waits until the buffer is at or below the low-water mark (16 KiB). EPIPE – the
// child closed its end or exited – ends the writer: the buffer is dropped, the descriptor closed, and
// DrainAsync throws IOException (CommunicateAsync ignores it, as asyncio's communicate does). .NET ignores
// SIGPIPE process-wide, so a write to a dead child returns EPIPE instead of killing us.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Os.Interop;
using Aio.Os.Internal;
using Aio.Polling;
using Microsoft.Win32.SafeHandles;

namespace Aio;

/// <summary>
/// A subprocess's standard input, written asynchronously on the loop (asyncio's <c>StreamWriter</c> for a
/// pipe): <see cref="Write"/> buffers, <see cref="DrainAsync"/> waits for the buffer to empty, <see cref="Close"/>
/// sends EOF once everything is written.
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioPipeWriter
{
    /// <summary>DrainAsync returns once at most this many bytes are still buffered.</summary>
    private const int LowWater = 16 * 1024;

    private readonly EventLoop _loop;
    private readonly IoHandler _handler;
    private SafeFileHandle? _fd;            // null once closed
    private bool _registered;               // registered for Write (the buffer is not empty)
    private byte[] _buffer = [];
    private int _start, _end;               // buffered bytes not yet written
    private bool _closing;                  // Close/WriteEof called: close once the buffer is empty
    private Exception? _error;              // EPIPE or another write error; ends the writer
    private AioFuture<bool>? _drainWaiter;  // the task waiting in DrainAsync
    private List<AioFuture<bool>>? _closedWaiters; // tasks in WaitClosedAsync; each has its own future

    [SupportedOSPlatform("linux")]
    internal AioPipeWriter(EventLoop loop, SafeFileHandle fd)
    {
        _loop = loop;
        _fd = fd;
        _handler = new IoHandler(this);
    }

    /// <summary>True once <see cref="Close"/> or <see cref="WriteEof"/> was called, or the child closed its end.</summary>
    public bool IsClosing => _closing || _fd is null;

    /// <summary>Bytes buffered and not yet taken by the pipe.</summary>
    public int BufferedCount => _end - _start;

    /// <summary>Queues <paramref name="data"/> for the child; never blocks. After the child closed its end the data is dropped (<see cref="DrainAsync"/> reports it).</summary>
    /// <exception cref="InvalidOperationException">The writer was closed.</exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        _loop.CheckThread(nameof(Write));
        if (_closing)
        {
            OsThrowHelper.WriteAfterClose(this);
        }
        if (_error is not null || _fd is null || data.IsEmpty)
        {
            return;
        }
        if (_start == _end && OperatingSystem.IsLinux())
        {
            int written = WriteSome(data);
            data = data[written..];
            if (data.IsEmpty || _fd is null)
            {
                return;
            }
        }
        Append(data);
        if (!_registered && _fd is not null)
        {
            _registered = true;
            _loop.Poller.Register(_fd, IoEvents.Write, _handler);
        }
    }

    /// <summary>
    /// Waits until the buffer is (almost) empty: call it after large writes so a slow child slows the writer down.
    /// </summary>
    /// <exception cref="IOException">The child closed its end of the pipe (broken pipe) or the write failed.</exception>
    public async Task DrainAsync()
    {
        _loop.CheckThread(nameof(DrainAsync));
        while (true)
        {
            if (_error is not null)
            {
                throw new IOException($"{this}: {_error.Message}", _error);
            }
            if (_end - _start <= LowWater || _fd is null)
            {
                return;
            }
            if (_drainWaiter is not null)
            {
                OsThrowHelper.ConcurrentDrain(this);
            }
            AioFuture<bool> waiter = _drainWaiter = new AioFuture<bool>(_loop);
            try
            {
                await waiter;
            }
            finally
            {
                _drainWaiter = null;
            }
        }
    }

    /// <summary>Closes the pipe once the buffered data is written: the child reads EOF. Same as <see cref="Close"/>.</summary>
    public void WriteEof() => Close();

    /// <summary>Closes the pipe once the buffered data is written; idempotent.</summary>
    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        _closing = true;
        if (_start == _end)
        {
            CloseDescriptor();
        }
    }

    /// <summary>Waits until the pipe is closed (after <see cref="Close"/>, once the buffer is written, or after a broken pipe).</summary>
    public async Task WaitClosedAsync()
    {
        _loop.CheckThread(nameof(WaitClosedAsync));
        if (_fd is null)
        {
            return;
        }
        var waiter = new AioFuture<bool>(_loop);
        (_closedWaiters ??= new List<AioFuture<bool>>()).Add(waiter);
        await waiter;
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        int used = _end - _start;
        if (_buffer.Length - _end < data.Length)
        {
            if (_buffer.Length - used >= data.Length && _start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, used);
            }
            else
            {
                var bigger = new byte[Math.Max(_buffer.Length * 2, used + data.Length)];
                Buffer.BlockCopy(_buffer, _start, bigger, 0, used);
                _buffer = bigger;
            }
            _start = 0;
            _end = used;
        }
        data.CopyTo(_buffer.AsSpan(_end));
        _end += data.Length;
    }

    /// <summary>One or more non-blocking writes; returns the bytes taken. On EPIPE or another error, fails the writer.</summary>
    [SupportedOSPlatform("linux")]
    private unsafe int WriteSome(ReadOnlySpan<byte> data)
    {
        int fd = (int)_fd!.DangerousGetHandle();
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
            if (errno != ProcessLibC.EAGAIN)
            {
                Fail(errno == ProcessLibC.EPIPE
                    ? new IOException("Broken pipe: the child closed its standard input (or exited).", errno)
                    : new IOException($"write failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})", errno));
            }
            break;
        }
        return total;
    }

    [SupportedOSPlatform("linux")]
    private void OnWritable()
    {
        if (_fd is null)
        {
            return;
        }
        int written = WriteSome(_buffer.AsSpan(_start, _end - _start));
        _start += written;
        if (_start == _end)
        {
            _start = _end = 0;
            if (_fd is not null && _registered)
            {
                _registered = false;
                _loop.Poller.Unregister(_fd);
            }
            if (_closing)
            {
                CloseDescriptor();
            }
        }
        if (_end - _start <= LowWater || _fd is null)
        {
            _drainWaiter?.TrySetResult(true);
        }
    }

    private void Fail(Exception error)
    {
        _error ??= error;
        _start = _end = 0;
        CloseDescriptor();
        _drainWaiter?.TrySetResult(true);
    }

    private void CloseDescriptor()
    {
        if (_fd is not { } fd)
        {
            return;
        }
        _fd = null;
        if (_registered)
        {
            _registered = false;
            if (!_loop.IsClosed)
            {
                _loop.Poller.Unregister(fd);
            }
        }
        fd.Dispose();
        if (_closedWaiters is { } waiters)
        {
            _closedWaiters = null;
            foreach (AioFuture<bool> w in waiters)
            {
                w.TrySetResult(true);
            }
        }
        _drainWaiter?.TrySetResult(true);
    }

    /// <summary>Closes at once, dropping buffered data (the process is gone, or the loop closes).</summary>
    internal void Abort()
    {
        _start = _end = 0;
        CloseDescriptor();
    }

    /// <summary>Description: <c>&lt;AioPipeWriter stdin buffered=0 closing=False&gt;</c>.</summary>
    public override string ToString() => $"<AioPipeWriter stdin buffered={_end - _start} closing={IsClosing}>";

    private sealed class IoHandler(AioPipeWriter writer) : IIoHandler
    {
        public void OnIoReady(IoEvents events)
        {
            if (OperatingSystem.IsLinux())
            {
                writer.OnWritable();
            }
        }

        public override string ToString() => writer.ToString();
    }
}
