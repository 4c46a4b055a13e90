// AioStreamReader: asyncio's StreamReader.
//
// Design note. A byte buffer fed by the connection's protocol (FeedData/FeedEof/SetException) and drained
// by the read methods, with asyncio's exact semantics (see the conformance tests in
// tests/Aio.Tests/Net/StreamReaderConformanceTests.cs): read(n) returns as soon as anything is there,
// readuntil leaves the buffer intact on LimitOverrunError, readexactly and readuntil clear it on
// IncompleteReadError, readline consumes the offending data on overrun. One task waits at a time (asyncio
// raises RuntimeError for a second one). Flow control: when more than 2 × limit bytes are buffered the
// transport is paused, and it is resumed when a read brings the buffer back to the limit or below, or when
// a reader must wait for data.
// Waiting: a task parks on a ParkingLot (so cancel scopes reach it); foreign code reading through the
// Stream adapter (SslStream, WebSocket) registers a callback instead, because it runs outside any task.
// Buffer: one array with a start offset; consumed bytes are dropped by moving the start, and the array is
// compacted or grown on append. Every read returns a fresh byte[] (asyncio returns bytes).
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Aio.Internal;
using Aio.LowLevel;
using Aio.Net.Internal;
using Aio.Streams.Internal;

namespace Aio.Net;

/// <summary>
/// Reads from a connection with asyncio's <c>StreamReader</c> methods: <see cref="ReadAsync"/>,
/// <see cref="ReadLineAsync"/>, <see cref="ReadUntilAsync(ReadOnlyMemory{byte})"/>, <see cref="ReadExactlyAsync"/>;
/// <c>await foreach</c> yields the lines.
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only, from one task at a time.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioStreamReader : IAsyncEnumerable<byte[]>
{
    /// <summary>The default limit, 64 KiB (asyncio's).</summary>
    public const int DefaultLimit = 64 * 1024;

    private static readonly Action<object?> s_invoke = static s => ((Action)s!)();

    private readonly EventLoop _loop;
    private readonly int _limit;
    private readonly ParkingLot _waiters;
    private byte[] _buffer = Array.Empty<byte>();
    private int _start;              // first unread byte in _buffer
    private int _count;              // unread bytes
    private bool _eof;               // FeedEof was called
    private bool _paused;            // we paused the transport (buffer over 2 × limit)
    private Exception? _exception;   // SetException: every read throws it
    private ITransport? _transport;
    private Action? _foreignWaiter;  // the Stream adapter's wake-up, run through the ready ring

    /// <summary>Creates a reader on the running loop with the given <paramref name="limit"/> (asyncio's <c>StreamReader(limit)</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The limit is 0 or negative.</exception>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public AioStreamReader(int limit = DefaultLimit)
        : this(EventLoop.GetRunningLoop(), limit)
    {
    }

    internal AioStreamReader(EventLoop loop, int limit)
    {
        if (limit <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, "The limit must be positive (asyncio: 'Limit cannot be <= 0').");
        }
        _loop = loop;
        _limit = limit;
        _waiters = new ParkingLot(this);
    }

    /// <summary>The limit in bytes for lines and separator-delimited chunks.</summary>
    public int Limit => _limit;

    /// <summary>True when EOF was fed and the buffer is empty: every read now returns empty.</summary>
    public bool AtEof => _eof && _count == 0;

    /// <summary>Bytes buffered and not yet read.</summary>
    public int BufferedCount => _count;

    internal ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _count);

    /// <summary>The exception set with <see cref="SetException"/>, or null.</summary>
    public Exception? Exception() => _exception;

    internal void SetTransport(ITransport transport) => _transport = transport;

    // ----------------------------------------------------------------- feeding (the protocol side)

    /// <summary>Appends received bytes and wakes a waiting reader; pauses the transport over 2 × limit.</summary>
    public void FeedData(ReadOnlySpan<byte> data)
    {
        Debug.Assert(!_eof, "FeedData after FeedEof.");
        if (data.IsEmpty)
        {
            return;
        }
        Append(data);
        Wake();
        if (_transport is not null && !_paused && _count > 2 * _limit)
        {
            _paused = true;
            _transport.PauseReading();
        }
    }

    /// <summary>Marks the end of the stream and wakes a waiting reader.</summary>
    public void FeedEof()
    {
        _eof = true;
        Wake();
    }

    /// <summary>Makes every pending and later read throw <paramref name="exception"/>.</summary>
    public void SetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        _exception = exception;
        Wake();
    }

    private void Wake()
    {
        _waiters.UnparkAll();
        if (_foreignWaiter is { } w)
        {
            _foreignWaiter = null;
            _loop.CallSoonInternal(s_invoke, w);
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_buffer.Length - _start - _count < data.Length)
        {
            if (_buffer.Length - _count >= data.Length && _count <= _buffer.Length / 2)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _count);
            }
            else
            {
                byte[] bigger = GC.AllocateUninitializedArray<byte>(Math.Max(_count + data.Length, Math.Max(_buffer.Length * 2, 4096)));
                Buffer.BlockCopy(_buffer, _start, bigger, 0, _count);
                _buffer = bigger;
            }
            _start = 0;
        }
        data.CopyTo(_buffer.AsSpan(_start + _count));
        _count += data.Length;
    }

    private byte[] Take(int n)
    {
        byte[] result = _buffer.AsSpan(_start, n).ToArray();
        Consume(n);
        return result;
    }

    private void Consume(int n)
    {
        _start += n;
        _count -= n;
        if (_count == 0)
        {
            _start = 0;
            if (_buffer.Length > 4 * _limit)
            {
                _buffer = Array.Empty<byte>();   // a burst made it big: do not keep that much memory per idle connection
            }
        }
        MaybeResumeTransport();
    }

    private void ClearBuffer() => Consume(_count);

    private void MaybeResumeTransport()
    {
        if (_paused && _count <= _limit)
        {
            _paused = false;
            _transport?.ResumeReading();
        }
    }

    // ----------------------------------------------------------------- waiting

    private async ValueTask WaitForDataAsync(string member)
    {
        if (_waiters.Count > 0 || _foreignWaiter is not null)
        {
            StreamThrowHelper.ConcurrentRead(this, member);
        }
        Debug.Assert(!_eof, "Waiting for data after EOF.");
        PrepareWait();
        await _waiters.ParkAsync();
        // asyncio: a task cancelled after its waiter was woken still gets CancelledError at this await.
        Checkpoint.ThrowIfCancelled();
    }

    private void PrepareWait()
    {
        if (_paused)
        {
            _paused = false;
            _transport?.ResumeReading();
        }
    }

    /// <summary>For the Stream adapter: runs <paramref name="wake"/> (through the ready ring) when data, EOF or an error arrives.</summary>
    internal void WaitForDataForeign(Action wake)
    {
        if (_waiters.Count > 0 || _foreignWaiter is not null)
        {
            StreamThrowHelper.ConcurrentRead(this, "Stream.ReadAsync");
        }
        PrepareWait();
        _foreignWaiter = wake;
    }

    internal void CancelForeignWait() => _foreignWaiter = null;

    /// <summary>For the Stream adapter: copies up to <paramref name="destination"/>.Length buffered bytes; -1 if nothing is buffered and not at EOF.</summary>
    internal int TryReadInto(Span<byte> destination)
    {
        if (_exception is not null)
        {
            throw _exception;
        }
        if (_count == 0)
        {
            return _eof || destination.IsEmpty ? 0 : -1;
        }
        int n = Math.Min(destination.Length, _count);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        Consume(n);
        return n;
    }

    // ----------------------------------------------------------------- reads

    /// <summary>
    /// Reads up to <paramref name="n"/> bytes, returning as soon as at least one is there (asyncio's <c>read</c>).
    /// n = 0 returns empty at once; n = -1 reads until EOF. At EOF returns an empty array.
    /// </summary>
    /// <exception cref="CancelledError">The task was cancelled; buffered data stays for the next read.</exception>
    public Task<byte[]> ReadAsync(int n = -1)
    {
        _loop.CheckThread(nameof(ReadAsync));
        if (_exception is not null)
        {
            return Task.FromException<byte[]>(_exception);
        }
        if (n == 0)
        {
            return Task.FromResult(Array.Empty<byte>());
        }
        if (n > 0 && _count > 0)
        {
            return Task.FromResult(Take(Math.Min(n, _count)));
        }
        return ReadSlowAsync(n);
    }

    private async Task<byte[]> ReadSlowAsync(int n)
    {
        if (n < 0)
        {
            // Read until EOF, in blocks of the limit (asyncio reads so too, to keep flow control working).
            var blocks = new List<byte[]>();
            int total = 0;
            while (true)
            {
                byte[] block = await ReadAsync(_limit);
                if (block.Length == 0)
                {
                    break;
                }
                blocks.Add(block);
                total += block.Length;
            }
            var all = new byte[total];
            int at = 0;
            foreach (byte[] b in blocks)
            {
                b.CopyTo(all, at);
                at += b.Length;
            }
            return all;
        }
        if (_count == 0 && !_eof)
        {
            await WaitForDataAsync(nameof(ReadAsync));
        }
        if (_exception is not null)
        {
            throw _exception;
        }
        return Take(Math.Min(n, _count));
    }

    /// <summary>
    /// Reads one line, up to and including <c>\n</c> (asyncio's <c>readline</c>). At EOF returns what is left
    /// (without <c>\n</c>), or empty when nothing is.
    /// </summary>
    /// <exception cref="LimitOverrunError">The line is longer than the limit; the offending data was consumed (asyncio raises ValueError here).</exception>
    public async Task<byte[]> ReadLineAsync()
    {
        _loop.CheckThread(nameof(ReadLineAsync));
        try
        {
            return await ReadUntilCoreAsync(s_newline, nameof(ReadLineAsync));
        }
        catch (IncompleteReadError e)
        {
            return e.Partial;
        }
        catch (LimitOverrunError e)
        {
            if (Buffered.Length > e.Consumed && Buffered[e.Consumed] == (byte)'\n')
            {
                Consume(e.Consumed + 1);
            }
            else
            {
                ClearBuffer();
            }
            throw;
        }
    }

    private static readonly byte[][] s_newline = [[(byte)'\n']];

    /// <summary>
    /// Reads until <paramref name="separator"/> and returns the data including it (asyncio's <c>readuntil</c>).
    /// </summary>
    /// <exception cref="IncompleteReadError">EOF came first; <see cref="IncompleteReadError.Partial"/> holds the whole buffer, which is cleared.</exception>
    /// <exception cref="LimitOverrunError">No separator within the limit; the buffer is left intact.</exception>
    /// <exception cref="ArgumentException">The separator is empty.</exception>
    public Task<byte[]> ReadUntilAsync(ReadOnlyMemory<byte> separator)
    {
        _loop.CheckThread(nameof(ReadUntilAsync));
        if (separator.IsEmpty)
        {
            StreamThrowHelper.EmptySeparator();
        }
        return ReadUntilCoreAsync([separator.ToArray()], nameof(ReadUntilAsync));
    }

    /// <summary>Reads until the first of several separators (the one ending earliest wins; asyncio 3.13's tuple form).</summary>
    /// <exception cref="ArgumentException">No separator, or an empty one.</exception>
    public Task<byte[]> ReadUntilAsync(params byte[][] separators)
    {
        _loop.CheckThread(nameof(ReadUntilAsync));
        ArgumentNullException.ThrowIfNull(separators);
        if (separators.Length == 0)
        {
            throw new ArgumentException("Pass at least one separator.", nameof(separators));
        }
        byte[][] sorted = separators.OrderBy(s => s?.Length ?? 0).ToArray();
        if (sorted[0] is null || sorted[0].Length == 0)
        {
            StreamThrowHelper.EmptySeparator();
        }
        return ReadUntilCoreAsync(sorted, nameof(ReadUntilAsync));
    }

    private async Task<byte[]> ReadUntilCoreAsync(byte[][] separators, string member)
    {
        int minLength = separators[0].Length;
        int maxLength = separators[^1].Length;
        if (_exception is not null)
        {
            throw _exception;
        }
        int offset = 0;
        int matchStart;
        int matchEnd;
        while (true)
        {
            if (_count - offset >= minLength)
            {
                matchStart = -1;
                matchEnd = -1;
                ReadOnlySpan<byte> data = Buffered;
                foreach (byte[] sep in separators)
                {
                    int i = data[offset..].IndexOf(sep);
                    if (i >= 0)
                    {
                        int end = offset + i + sep.Length;
                        if (matchEnd < 0 || end < matchEnd)
                        {
                            matchEnd = end;
                            matchStart = offset + i;
                        }
                    }
                }
                if (matchEnd >= 0)
                {
                    break;
                }
                offset = Math.Max(0, _count + 1 - maxLength);
                if (offset > _limit)
                {
                    throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
                }
            }
            if (_eof)
            {
                byte[] chunk = Take(_count);
                throw new IncompleteReadError(chunk, null);
            }
            await WaitForDataAsync(member);
            if (_exception is not null)
            {
                throw _exception;
            }
        }
        if (matchStart > _limit)
        {
            throw new LimitOverrunError("Separator is found, but chunk is longer than limit", matchStart);
        }
        return Take(matchEnd);
    }

    /// <summary>Reads exactly <paramref name="n"/> bytes (asyncio's <c>readexactly</c>); not bound by the limit.</summary>
    /// <exception cref="IncompleteReadError">EOF came first; <see cref="IncompleteReadError.Partial"/> holds what was read, the buffer is cleared.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is negative.</exception>
    public Task<byte[]> ReadExactlyAsync(int n)
    {
        _loop.CheckThread(nameof(ReadExactlyAsync));
        if (n < 0)
        {
            StreamThrowHelper.NegativeCount(n);
        }
        if (_exception is not null)
        {
            return Task.FromException<byte[]>(_exception);
        }
        if (n == 0)
        {
            return Task.FromResult(Array.Empty<byte>());
        }
        if (_count >= n)
        {
            return Task.FromResult(Take(n));
        }
        return ReadExactlySlowAsync(n);
    }

    private async Task<byte[]> ReadExactlySlowAsync(int n)
    {
        while (_count < n)
        {
            if (_eof)
            {
                throw new IncompleteReadError(Take(_count), n);
            }
            await WaitForDataAsync(nameof(ReadExactlyAsync));
            if (_exception is not null)
            {
                throw _exception;
            }
        }
        return Take(n);
    }

    /// <summary>Yields the lines (<see cref="ReadLineAsync"/>) until EOF (asyncio's <c>async for line in reader</c>).</summary>
    public async IAsyncEnumerator<byte[]> GetAsyncEnumerator(CancellationToken cancellationToken = default)
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

    /// <summary>asyncio-style: <c>&lt;AioStreamReader 12 bytes eof limit=65536 paused&gt;</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string> { "AioStreamReader" };
        if (_count > 0)
        {
            parts.Add($"{_count} bytes");
        }
        if (_eof)
        {
            parts.Add("eof");
        }
        if (_limit != DefaultLimit)
        {
            parts.Add($"limit={_limit}");
        }
        if (_waiters.Count > 0 || _foreignWaiter is not null)
        {
            parts.Add("waiter");
        }
        if (_exception is not null)
        {
            parts.Add($"exception={_exception.GetType().Name}");
        }
        if (_transport is not null)
        {
            parts.Add($"transport={_transport}");
        }
        if (_paused)
        {
            parts.Add("paused");
        }
        return $"<{string.Join(' ', parts)}>";
    }
}
