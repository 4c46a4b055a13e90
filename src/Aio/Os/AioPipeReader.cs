// AioPipeReader: the read end of a subprocess pipe, read through the loop's epoll reactor.
//
// Design note. The descriptor is non-blocking and registered level-triggered for Read. On readiness the
// handler reads (64 KiB at a time, at most 256 KiB per event to stay fair) into a growable buffer and wakes
// the one waiting reader. When more than 2 × Limit bytes are buffered and nobody reads, the registration goes
// silent (interest None) until a read drains the buffer – back-pressure reaches the child through the pipe.
// read() returning 0 is EOF: the descriptor is unregistered and closed. An error other than EAGAIN ends the
// stream too; the next read throws it. This is the pipe half of asyncio's StreamReader; when the network
// layer's AioStreamReader lands it can take this role (see docs/processes.md).
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Aio.Os.Interop;
using Aio.Os.Internal;
using Aio.Polling;
using Microsoft.Win32.SafeHandles;

namespace Aio;

/// <summary>
/// A subprocess's standard output or standard error, read asynchronously on the loop (asyncio's
/// <c>StreamReader</c> for a pipe). Read it from one task at a time.
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioPipeReader
{
    private const int ChunkSize = 64 * 1024;
    private const int MaxPerEvent = 256 * 1024;

    private readonly EventLoop _loop;
    private readonly string _name;
    private readonly int _limit;
    private readonly IoHandler _handler;
    private SafeFileHandle? _fd;         // null once EOF was seen and the descriptor closed
    private byte[] _buffer = new byte[ChunkSize];
    private int _start;                  // first unread byte
    private int _end;                    // one past the last buffered byte
    private bool _eof;                   // the writer closed its end (or the read failed)
    private Exception? _error;           // the read error that ended the stream, thrown by the next read
    private bool _paused;                // registration silenced for back-pressure
    private AioFuture<bool>? _waiter;    // the reader waiting for data; null when none

    [SupportedOSPlatform("linux")]
    internal AioPipeReader(EventLoop loop, SafeFileHandle fd, string name, int limit)
    {
        _loop = loop;
        _fd = fd;
        _name = name;
        _limit = limit;
        _handler = new IoHandler(this);
        loop.Poller.Register(fd, IoEvents.Read, _handler);
    }

    /// <summary>True once the child closed its end and every buffered byte was read.</summary>
    public bool AtEof => _eof && _start == _end;

    /// <summary>
    /// Reads up to <paramref name="n"/> bytes: waits until at least one byte is there (or EOF), then returns
    /// what is buffered, at most <paramref name="n"/>. With <paramref name="n"/> &lt; 0 (the default), reads to
    /// EOF and returns everything. Returns an empty array at EOF.
    /// </summary>
    /// <exception cref="IOException">Reading the pipe failed.</exception>
    /// <exception cref="CancelledError">The task was cancelled; buffered data stays for the next read.</exception>
    public async Task<byte[]> ReadAsync(int n = -1)
    {
        _loop.CheckThread(nameof(ReadAsync));
        if (n == 0)
        {
            return [];
        }
        if (n < 0)
        {
            while (!_eof)
            {
                await WaitForDataAsync(int.MaxValue);
            }
            ThrowIfError();
            return Take(_end - _start);
        }
        while (_start == _end && !_eof)
        {
            await WaitForDataAsync(1);
        }
        if (_start == _end)
        {
            ThrowIfError();
        }
        return Take(Math.Min(n, _end - _start));
    }

    /// <summary>Reads one line, up to and including <c>\n</c>; at EOF returns what is left (possibly empty).</summary>
    /// <exception cref="IOException">Reading the pipe failed.</exception>
    public async Task<byte[]> ReadLineAsync()
    {
        _loop.CheckThread(nameof(ReadLineAsync));
        int searched = 0;
        while (true)
        {
            int i = Array.IndexOf(_buffer, (byte)'\n', _start + searched, _end - _start - searched);
            if (i >= 0)
            {
                return Take(i - _start + 1);
            }
            searched = _end - _start;
            if (_eof)
            {
                if (_start == _end)
                {
                    ThrowIfError();
                }
                return Take(_end - _start);
            }
            await WaitForDataAsync(searched + 1);
        }
    }

    /// <summary>Reads exactly <paramref name="n"/> bytes.</summary>
    /// <exception cref="EndOfStreamException">EOF came first; nothing is consumed then.</exception>
    public async Task<byte[]> ReadExactlyAsync(int n)
    {
        _loop.CheckThread(nameof(ReadExactlyAsync));
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        while (_end - _start < n)
        {
            if (_eof)
            {
                ThrowIfError();
                throw new EndOfStreamException($"{this}: {_end - _start} bytes read on a total of {n} expected bytes before EOF.");
            }
            await WaitForDataAsync(n);
        }
        return Take(n);
    }

    /// <summary>Reads lines until EOF (each with its <c>\n</c>, the last one possibly without).</summary>
    public async IAsyncEnumerable<byte[]> ReadLinesAsync()
    {
        while (true)
        {
            byte[] line = await ReadLineAsync();
            if (line.Length == 0)
            {
                yield break;
            }
            yield return line;
        }
    }

    private async ValueTask WaitForDataAsync(int wanted)
    {
        if (_waiter is not null)
        {
            OsThrowHelper.ConcurrentRead(this);
        }
        if (_paused && (_end - _start < 2 * _limit || wanted > _end - _start))
        {
            Resume();
        }
        AioFuture<bool> waiter = _waiter = new AioFuture<bool>(_loop);
        try
        {
            await waiter;
        }
        finally
        {
            _waiter = null;
        }
    }

    private byte[] Take(int count)
    {
        byte[] result = _buffer.AsSpan(_start, count).ToArray();
        _start += count;
        if (_start == _end)
        {
            _start = _end = 0;
        }
        if (_paused && _end - _start < 2 * _limit)
        {
            Resume();
        }
        return result;
    }

    private void ThrowIfError()
    {
        if (_error is not null)
        {
            throw new IOException($"{this}: reading the pipe failed: {_error.Message}", _error);
        }
    }

    private void Wake()
    {
        _waiter?.TrySetResult(true);
    }

    private void Resume()
    {
        if (_paused && _fd is not null)
        {
            _paused = false;
            _loop.Poller.Modify(_fd, IoEvents.Read);
        }
    }

    [SupportedOSPlatform("linux")]
    private unsafe void OnReadable()
    {
        if (_fd is null)
        {
            return;
        }
        int fd = (int)_fd.DangerousGetHandle();
        int total = 0;
        while (total < MaxPerEvent)
        {
            EnsureSpace(ChunkSize);
            nint n;
            fixed (byte* p = &_buffer[_end])
            {
                n = ProcessLibC.read(fd, p, (nuint)(_buffer.Length - _end));
            }
            if (n > 0)
            {
                _end += (int)n;
                total += (int)n;
                continue;
            }
            if (n == 0)
            {
                Finish(null);
                break;
            }
            int errno = Marshal.GetLastPInvokeError();
            if (errno == ProcessLibC.EINTR)
            {
                continue;
            }
            if (errno != ProcessLibC.EAGAIN)
            {
                Finish(new IOException($"read failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)})", errno));
            }
            break;
        }
        if (_fd is not null && _end - _start >= 2 * _limit && !_paused)
        {
            _paused = true;
            _loop.Poller.Modify(_fd, IoEvents.None);
        }
        if (total > 0 || _eof)
        {
            Wake();
        }
    }

    private void EnsureSpace(int needed)
    {
        if (_buffer.Length - _end >= needed)
        {
            return;
        }
        int used = _end - _start;
        if (_start > 0 && _buffer.Length - used >= needed && used < _buffer.Length / 2)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, used);
        }
        else
        {
            var bigger = new byte[Math.Max(_buffer.Length * 2, used + needed)];
            Buffer.BlockCopy(_buffer, _start, bigger, 0, used);
            _buffer = bigger;
        }
        _start = 0;
        _end = used;
    }

    /// <summary>EOF or a read error: unregister and close the descriptor, wake the reader.</summary>
    private void Finish(Exception? error)
    {
        _eof = true;
        _error ??= error;
        if (_fd is { } fd)
        {
            _fd = null;
            if (!_loop.IsClosed)
            {
                _loop.Poller.Unregister(fd);
            }
            fd.Dispose();
        }
        Wake();
    }

    /// <summary>Closes the read end early (the process object is done with it, or the loop closes).</summary>
    internal void CloseUnsynchronized()
    {
        if (_fd is not null)
        {
            Finish(null);
        }
    }

    /// <summary>Description: <c>&lt;AioPipeReader stdout buffered=12 eof=False&gt;</c>.</summary>
    public override string ToString() => $"<AioPipeReader {_name} buffered={_end - _start} eof={_eof}>";

    private sealed class IoHandler(AioPipeReader reader) : IIoHandler
    {
        public void OnIoReady(IoEvents events)
        {
            if (OperatingSystem.IsLinux())
            {
                reader.OnReadable();
            }
        }

        public override string ToString() => reader.ToString();
    }
}
