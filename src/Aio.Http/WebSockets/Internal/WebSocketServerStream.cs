// WebSocketServerStream: the connection under a server-side .NET WebSocket, and the guard around it.
//
// Design note. After the 101 this becomes the transport's protocol (a buffered one: the transport receives straight into
// our buffer) and the Stream that WebSocket.CreateFromStream reads and writes. .NET's ManagedWebSocket does the framing;
// what it lacks is checked here, on the bytes as they ARRIVE, not when the WebSocket gets round to reading them: a small
// frame-header inspector (it reads each frame's 2-14 header bytes and counts the payload off, it never decodes a frame)
// rejects an unmasked client frame (1002) and a data frame whose declared length takes the message over the size limit
// (1009) — a header declaring 2^40 bytes is answered at once. A violation writes the close frame itself, fails the
// WebSocket's read (it aborts), and closes the connection once the close frame is out. The same inspector sees every
// frame the peer sends, so the heartbeat (a PING written between the WebSocket's frames, which it writes whole) counts
// any frame as a sign of life and a missing answer closes a dead peer, all on the loop's clock.
//
// Receives that need not wait. The inspector also remembers where each frame ends, and a read never hands the
// WebSocket bytes past the end of the frame it is reading: so between two messages ManagedWebSocket holds nothing
// of the next frame, and ReceiveReady can tell whether a whole frame is here. AioWebSocket waits for that in its own
// parking lot before it calls ReceiveAsync, which then runs to the end without suspending (its reads complete at
// once) — one park and one wake per message instead of a chain of suspended state machines in .NET's reader.
//
// Threads: the loop calls the protocol methods; ManagedWebSocket calls ReadAsync/WriteAsync on the loop thread too,
// except after an internal mutex hands over on the thread pool: such calls are marshalled to the loop. Pending reads
// and drains complete through ManualResetValueTaskSourceCore without forced asynchrony, so ManagedWebSocket's
// ConfigureAwait(false) continuations run inline on the loop thread.
using System.Buffers;
using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;
using System.Threading.Tasks.Sources;
using Aio.LowLevel;

namespace Aio.Http.Internal;

internal sealed class WebSocketServerStream : Stream, IBufferedProtocol, IValueTaskSource<int>
{
    private const int InitialBuffer = 16 * 1024;
    private const int MaxBuffered = 256 * 1024;      // reading pauses past this many unread bytes

    private readonly EventLoop _loop;
    private readonly ITransport _transport;
    private readonly long _maxMessageSize;
    private readonly Action<bool>? _onLost;       // the HTTP connection's hook: leave the registry, cancel the handler unless we failed it
    private byte[] _buf;
    private int _readPos;       // first byte not yet handed to the WebSocket
    private int _end;           // end of the received bytes
    private bool _eof;
    private bool _lost;
    private bool _readPaused;
    private bool _writePaused;
    private Exception? _failure;                     // the read fails with this (a violation, a dead peer, the connection lost)

    // The pending read.
    private ManualResetValueTaskSourceCore<int> _readCore;
    private Memory<byte> _readBuffer;
    private bool _readPending;
    private CancellationTokenRegistration _readReg;

    // Drain waiters (writes wait while the transport is over its high-water mark).
    private readonly List<TaskCompletionSource> _drainWaiters = new();

    // The frame-header inspector.
    private readonly byte[] _hdr = new byte[14];
    private int _hdrLen;
    private long _payloadLeft;
    private long _messageLength;                     // data bytes of the current message so far
    private bool _closeSent;                         // a close frame of our own (violation, heartbeat) went out

    // Frame boundaries (see "Receives that need not wait" at the top), as positions in the byte stream.
    private long _arrived;                           // bytes received so far
    private long _handedOut;                         // bytes handed to the WebSocket so far
    private readonly Queue<long> _frameEnds = new(); // where the frames whose header arrived end, oldest first
    private ParkingLot? _readyLot;                   // a receive waiting for ReceiveReady

    // Heartbeat.
    private readonly double _heartbeat;              // seconds; 0: none
    private readonly double _heartbeatTimeout;
    private TimerHandle? _heartbeatTimer;
    private bool _pingOut;                           // a PING waits for a sign of life
    private bool _heardSincePing;

    public WebSocketServerStream(EventLoop loop, ITransport transport, AioWebSocketOptions options, Action<bool>? onLost)
    {
        _loop = loop;
        _transport = transport;
        _maxMessageSize = options.MaxMessageSize;
        _onLost = onLost;
        _buf = ArrayPool<byte>.Shared.Rent(InitialBuffer);
        _readCore.RunContinuationsAsynchronously = false;
        if (options.Heartbeat is TimeSpan hb && hb > TimeSpan.Zero)
        {
            _heartbeat = hb.TotalSeconds;
            _heartbeatTimeout = (options.HeartbeatTimeout ?? hb).TotalSeconds;
        }
    }

    /// <summary>The close status this side sent on its own (a violation of the peer, a dead peer), or null.</summary>
    public WebSocketCloseStatus? GuardStatus { get; private set; }

    /// <summary>What the guard found, for the error the receive reports.</summary>
    public string? GuardReason { get; private set; }

    public bool IsLost => _lost;

    /// <summary>Takes the bytes that arrived with the upgrade request, then starts the heartbeat.</summary>
    public void Start(ReadOnlySpan<byte> received)
    {
        if (received.Length > 0)
        {
            Memory<byte> b = GetBuffer(received.Length);
            while (b.Length < received.Length)
            {
                Grow(received.Length);
                b = GetBuffer(received.Length);
            }
            received.CopyTo(b.Span);
            BufferUpdated(received.Length);
        }
        if (_heartbeat > 0)
        {
            _heartbeatTimer = _loop.CallLater(_heartbeat, static s => s.OnHeartbeat(), this);
        }
    }

    // ===================================================================== protocol callbacks

    public void ConnectionMade(ITransport transport)
    {
    }

    public Memory<byte> GetBuffer(int sizeHint)
    {
        if (_end == _buf.Length)
        {
            if (_readPos > 0)
            {
                Buffer.BlockCopy(_buf, _readPos, _buf, 0, _end - _readPos);
                _end -= _readPos;
                _readPos = 0;
            }
            if (_end == _buf.Length)
            {
                Grow(sizeHint);
            }
        }
        return _buf.AsMemory(_end);
    }

    private void Grow(int sizeHint)
    {
        byte[] bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buf.Length * 2, _end + sizeHint));
        Buffer.BlockCopy(_buf, _readPos, bigger, 0, _end - _readPos);
        _end -= _readPos;
        _readPos = 0;
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = bigger;
    }

    public void BufferUpdated(int bytes)
    {
        int start = _end;
        _end += bytes;
        if (_failure is not null)
        {
            _readPos = _end;       // the WebSocket is failed: what still arrives is dropped
            return;
        }
        long at = _arrived;
        _arrived += bytes;
        if (!Inspect(_buf.AsSpan(start, bytes), at))
        {
            return;
        }
        if (_readPending)
        {
            CompleteRead();
        }
        if (_readyLot is { Count: > 0 } lot && ReceiveReady)
        {
            lot.UnparkAll();
        }
        if (_end - _readPos > MaxBuffered && !_readPaused)
        {
            _readPaused = true;
            _transport.PauseReading();
        }
    }

    public bool EofReceived()
    {
        _eof = true;
        if (_readPending)
        {
            CompleteRead();
        }
        _readyLot?.UnparkAll();
        return true;     // keep the writing half: the WebSocket may still send its close frame
    }

    public void ConnectionLost(Exception? exception)
    {
        if (_lost)
        {
            return;
        }
        _lost = true;
        _eof = true;
        _heartbeatTimer?.Cancel();
        _failure ??= new IOException("The WebSocket's connection was lost" + (exception is null ? "." : ": " + exception.Message), exception);
        if (_readPending)
        {
            CompleteRead();
        }
        _readyLot?.UnparkAll();
        ReleaseDrainWaiters();
        _onLost?.Invoke(GuardStatus is null);
    }

    public void PauseWriting() => _writePaused = true;

    public void ResumeWriting()
    {
        _writePaused = false;
        ReleaseDrainWaiters();
    }

    private void ReleaseDrainWaiters()
    {
        if (_drainWaiters.Count == 0)
        {
            return;
        }
        TaskCompletionSource[] waiters = _drainWaiters.ToArray();
        _drainWaiters.Clear();
        foreach (TaskCompletionSource w in waiters)
        {
            w.TrySetResult();
        }
    }

    // ===================================================================== the inspector

    /// <summary>
    /// Follows the frames through newly arrived bytes (the first of them at stream position <paramref name="at"/>);
    /// false when they broke a rule (the WebSocket is failed).
    /// </summary>
    private bool Inspect(ReadOnlySpan<byte> data, long at)
    {
        int i = 0;
        while (i < data.Length)
        {
            if (_payloadLeft > 0)
            {
                long take = Math.Min(_payloadLeft, data.Length - i);
                _payloadLeft -= take;
                i += (int)take;
                continue;
            }
            _hdr[_hdrLen++] = data[i++];
            if (_hdrLen < 2)
            {
                continue;
            }
            int lengthCode = _hdr[1] & 0x7F;
            int need = 2 + (lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0) + ((_hdr[1] & 0x80) != 0 ? 4 : 0);
            if (_hdrLen < need)
            {
                continue;
            }
            _hdrLen = 0;
            if (!OnHeader(lengthCode))
            {
                return false;
            }
            _frameEnds.Enqueue(at + i + _payloadLeft);
        }
        return true;
    }

    private bool OnHeader(int lengthCode)
    {
        bool fin = (_hdr[0] & 0x80) != 0;
        int opcode = _hdr[0] & 0x0F;
        bool masked = (_hdr[1] & 0x80) != 0;
        long length = lengthCode switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(_hdr.AsSpan(2)),
            127 => (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(_hdr.AsSpan(2)), long.MaxValue),
            _ => lengthCode,
        };
        _heardSincePing = true;
        if (!masked)
        {
            Fail(WebSocketCloseStatus.ProtocolError, "unmasked frame from the client",
                "The client sent an unmasked frame (RFC 6455 §5.1: a client masks every frame).");
            return false;
        }
        if (opcode is 0 or 1 or 2)
        {
            _messageLength += length;
            if (_maxMessageSize > 0 && _messageLength > _maxMessageSize)
            {
                Fail(WebSocketCloseStatus.MessageTooBig, "message too big",
                    $"The client announced a message of at least {_messageLength} bytes, over AioWebSocketOptions.MaxMessageSize ({_maxMessageSize}).");
                return false;
            }
            if (fin)
            {
                _messageLength = 0;
            }
        }
        _payloadLeft = length;
        return true;
    }

    /// <summary>Sends our close frame (unless one went out), fails the WebSocket's reads and closes the connection.</summary>
    private void Fail(WebSocketCloseStatus status, string closeReason, string message)
    {
        GuardStatus = status;
        GuardReason = message;
        _failure = new WebSocketException(WebSocketError.Faulted, message + $" The WebSocket was closed with {(int)status}.");
        _readPos = _end;
        _heartbeatTimer?.Cancel();
        if (!_closeSent && !_lost)
        {
            _closeSent = true;
            byte[] reason = Encoding.UTF8.GetBytes(closeReason);
            Span<byte> frame = stackalloc byte[4 + reason.Length];
            frame[0] = 0x88;
            frame[1] = (byte)(2 + reason.Length);
            BinaryPrimitives.WriteUInt16BigEndian(frame[2..], (ushort)status);
            reason.CopyTo(frame[4..]);
            _transport.Write(frame);
        }
        if (!_lost)
        {
            _transport.Close();
        }
        if (_readPending)
        {
            CompleteRead();
        }
        _readyLot?.UnparkAll();
    }

    // ===================================================================== heartbeat

    private void OnHeartbeat()
    {
        _heartbeatTimer = null;
        if (_failure is not null || _lost)
        {
            return;
        }
        if (_pingOut)
        {
            _pingOut = false;
            if (!_heardSincePing)
            {
                Fail(WebSocketCloseStatus.PolicyViolation, "heartbeat timeout",
                    $"The client did not answer a heartbeat PING within {_heartbeatTimeout} s (AioWebSocketOptions.HeartbeatTimeout); it is taken as gone.");
                return;
            }
            _heartbeatTimer = _loop.CallLater(Math.Max(0, _heartbeat - _heartbeatTimeout), static s => s.OnHeartbeat(), this);   // PINGs go out every interval
            return;
        }
        _transport.Write([0x89, 0x00]);      // PING, empty: the WebSocket writes whole frames, so this falls between them
        _pingOut = true;
        _heardSincePing = false;
        _heartbeatTimer = _loop.CallLater(_heartbeatTimeout, static s => s.OnHeartbeat(), this);
    }

    // ===================================================================== Stream: reads

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Environment.CurrentManagedThreadId != _loop.OwnerThreadId)
        {
            return new ValueTask<int>(OnLoop(() => ReadAsync(buffer, cancellationToken)));
        }
        if (_readPending)
        {
            throw new InvalidOperationException("WebSocketServerStream: a read is already pending.");
        }
        if (_end > _readPos)
        {
            return new ValueTask<int>(Take(buffer.Span));
        }
        if (_failure is not null)
        {
            return ValueTask.FromException<int>(_failure);
        }
        if (_eof)
        {
            return new ValueTask<int>(0);
        }
        if (!cancellationToken.CanBeCanceled)
        {
            cancellationToken = Asyncio.CurrentToken;
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }
        _readCore.Reset();
        _readBuffer = buffer;
        _readPending = true;
        if (cancellationToken.CanBeCanceled)
        {
            _readReg = cancellationToken.UnsafeRegister(static s => ((WebSocketServerStream)s!).CancelRead(), this);
        }
        return new ValueTask<int>(this, _readCore.Version);
    }

    private void CancelRead()
    {
        if (Environment.CurrentManagedThreadId != _loop.OwnerThreadId)
        {
            if (!_loop.IsClosed)
            {
                try
                {
                    _loop.CallSoonThreadSafe(CancelRead);
                }
                catch (InvalidOperationException) when (_loop.IsClosed)
                {
                    // Closed meanwhile: no read is left to cancel.
                }
            }
            return;
        }
        if (!_readPending)
        {
            return;
        }
        _readPending = false;
        _readBuffer = default;
        _readCore.SetException(new OperationCanceledException("The WebSocket's read was cancelled."));
    }

    /// <summary>
    /// Whether a receive that starts a message (ManagedWebSocket holds no bytes then: see the note at the top) can run
    /// without waiting for the network: a whole frame is here, or 16 KiB of a bigger one, or the read will fail or end.
    /// </summary>
    public bool ReceiveReady
    {
        get
        {
            if (_failure is not null || _eof)
            {
                return true;
            }
            DropPassedFrames();
            return _frameEnds.Count > 0 && (_frameEnds.Peek() <= _arrived || _end - _readPos >= 16 * 1024);
        }
    }

    /// <summary>Parks the current task until <see cref="ReceiveReady"/> may have changed (bytes arrived, the end, a failure).</summary>
    public ValueTask WaitReceiveReadyAsync() => (_readyLot ??= new ParkingLot(this)).ParkAsync();

    private void DropPassedFrames()
    {
        while (_frameEnds.Count > 0 && _frameEnds.Peek() <= _handedOut)
        {
            _frameEnds.Dequeue();
        }
    }

    /// <summary>Hands out buffered bytes, never past the end of the frame they belong to.</summary>
    private int Take(Span<byte> destination)
    {
        int n = Math.Min(destination.Length, _end - _readPos);
        DropPassedFrames();
        if (_frameEnds.Count > 0)
        {
            n = (int)Math.Min(n, _frameEnds.Peek() - _handedOut);
        }
        _handedOut += n;
        _buf.AsSpan(_readPos, n).CopyTo(destination);
        _readPos += n;
        if (_readPos == _end)
        {
            _readPos = _end = 0;
        }
        if (_readPaused && _end - _readPos <= MaxBuffered / 2 && !_lost)
        {
            _readPaused = false;
            _transport.ResumeReading();
        }
        return n;
    }

    private void CompleteRead()
    {
        _readPending = false;
        _readReg.Dispose();
        _readReg = default;
        Memory<byte> destination = _readBuffer;
        _readBuffer = default;
        if (_end > _readPos)
        {
            _readCore.SetResult(Take(destination.Span));
        }
        else if (_failure is not null)
        {
            _readCore.SetException(_failure);
        }
        else
        {
            _readCore.SetResult(0);
        }
    }

    int IValueTaskSource<int>.GetResult(short token) => _readCore.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _readCore.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readCore.OnCompleted(continuation, state, token, flags);

    // ===================================================================== Stream: writes

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (Environment.CurrentManagedThreadId != _loop.OwnerThreadId)
        {
            return new ValueTask(OnLoop(async () => { await WriteAsync(buffer, cancellationToken); return 0; }));
        }
        if (_closeSent || _lost)
        {
            // Our own close frame went out (or the connection is gone): nothing may follow it.
            return _lost ? ValueTask.FromException(new IOException("The WebSocket's connection was lost.")) : ValueTask.CompletedTask;
        }
        _transport.Write(buffer.Span);
        if (!_writePaused)
        {
            return ValueTask.CompletedTask;
        }
        return WaitDrainAsync(cancellationToken);
    }

    private async ValueTask WaitDrainAsync(CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            cancellationToken = Asyncio.CurrentToken;
        }
        while (_writePaused && !_lost)
        {
            var waiter = new TaskCompletionSource();
            _drainWaiters.Add(waiter);
            using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetCanceled(), waiter))
            {
                await waiter.Task.ConfigureAwait(false);   // completed on the loop thread (ResumeWriting), so this continues there
            }
        }
    }

    /// <summary>Drops the connection (a slow client of a broadcast group).</summary>
    public void AbortConnection()
    {
        if (!_lost)
        {
            _transport.Abort();
        }
    }

    /// <summary>Whether writes wait now (the peer does not read).</summary>
    public bool WritePaused => _writePaused;

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    /// <summary>Runs <paramref name="operation"/> on the loop thread; the returned task completes with no context installed.</summary>
    private Task<int> OnLoop(Func<ValueTask<int>> operation)
    {
        var result = new TaskCompletionSource<int>();
        _loop.CallSoonThreadSafe(async () =>
        {
            int value;
            try
            {
                value = await operation().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                CompleteBare(result, 0, e);
                return;
            }
            CompleteBare(result, value, null);
        });
        return result.Task;
    }

    private static void CompleteBare(TaskCompletionSource<int> result, int value, Exception? error)
    {
        SynchronizationContext? saved = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            if (error is null)
            {
                result.TrySetResult(value);
            }
            else
            {
                result.TrySetException(error);
            }
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(saved);
        }
    }

    // ===================================================================== the rest of Stream

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The WebSocket's stream reads asynchronously only.");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The WebSocket's stream writes asynchronously only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>The WebSocket is done with the stream (closed or aborted): close the connection.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (Environment.CurrentManagedThreadId != _loop.OwnerThreadId)
            {
                if (!_loop.IsClosed)
                {
                    _loop.CallSoonThreadSafe(() => Dispose(true));
                }
                return;
            }
            _heartbeatTimer?.Cancel();
            if (!_lost && !_transport.IsClosing)
            {
                _transport.Close();
            }
        }
        base.Dispose(disposing);
    }

    public override string ToString() => $"<WebSocketServerStream buffered:{_end - _readPos}{(_failure is null ? "" : " failed")}>";
}
