// StreamTransport: the state machine shared by every byte-stream transport – sockets (SocketTransport and
// its epoll and portable back ends) and subprocess pipes (Os/Internal/PipeTransport).
//
// Design note. This is the common part of asyncio's _SelectorSocketTransport and _UnixRead/WritePipeTransport.
// Subclasses supply the system calls (ReceiveCore, SendCore, ShutdownSendCore, CloseIo) and how readiness is
// learnt (UpdateIo, StartWriting); everything else lives here once: protocol dispatch (IProtocol or
// IBufferedProtocol), the write buffer with its water marks, WriteEof, Close, Abort, and the exactly-once
// ConnectionMade/ConnectionLost life cycle.
//
// Life cycle, as asyncio: the constructor schedules ConnectionMade (call-soon), reading starts after it.
// Close() stops reading and, once the write buffer is flushed, schedules ConnectionLost(null); Abort()
// and fatal errors drop the buffer and schedule ConnectionLost(error) at once. ConnectionLost runs
// exactly once, always after ConnectionMade, through the ready ring (never inside a protocol callback),
// and the descriptor is closed right after it. EOF from the peer calls EofReceived; unless it returns true
// (and the transport can still write) the transport closes itself. A protocol callback that throws is
// reported to the loop's exception handler and aborts the connection; I/O errors (reset, broken pipe) only
// end it, as asyncio does with OSError.
// The life cycle proper is one state, Open → Closing → LostScheduled → Lost, that only moves forward; half-close
// (WriteEof), read pausing, the protocol's write pause and the descriptor's release are flags beside it.
// Flow control: over the high-water mark the protocol's PauseWriting is called, at or below the low
// mark ResumeWriting; each exactly once per crossing.
// One-way transports (a pipe's read or write end) say so with HasReadSide/HasWriteSide: a read-only one
// rejects Write, a write-only one never reads.
using System.Diagnostics;
using System.Net.Sockets;
using Aio.Net;

namespace Aio.Streams.Internal;

/// <summary>The transport of a byte stream (socket or pipe); the subclass supplies the I/O. See the design note.</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal abstract class StreamTransport : ITransport
{
    internal const int DefaultHighWater = 64 * 1024;

    private static readonly Action<object?> s_start = static s => ((StreamTransport)s!).Start();
    private static readonly Action<object?> s_connectionLost = static s => ((StreamTransport)s!).CallConnectionLost();

    private protected readonly EventLoop _loop;
    private protected readonly WriteBuffer _buffer = new();   // unsent tail of the writes (portable: not yet handed to SendAsync)
    private readonly AioFuture<bool>? _waiter;               // completed once ConnectionMade returned (CreateConnectionAsync waits on it)
    private IBaseProtocol _protocol;
    private IProtocol? _streamProtocol;                      // _protocol when it is an IProtocol
    private IBufferedProtocol? _bufferedProtocol;            // _protocol when it is an IBufferedProtocol
    private int _high = DefaultHighWater;                    // bytes; PauseWriting above this
    private int _low = DefaultHighWater / 4;                 // bytes; ResumeWriting at or below this
    private bool _protocolPaused;                            // PauseWriting was called and ResumeWriting not yet
    private bool _readingPaused;                             // PauseReading was called
    private bool _madeCalled;                                // ConnectionMade was called (ConnectionLost may follow)
    private protected bool _started;                         // ConnectionMade returned normally: reading may start
    private Lifecycle _life;                                 // Open → Closing → LostScheduled → Lost, never backwards
    private protected bool _eofRequested;                    // WriteEof was called
    private protected bool _sendFileActive;                  // a SendFileAsync owns the sending side (Write throws)
    private protected bool _writeBlocked;                    // _eofRequested || _sendFileActive: Write's one check for both
    private bool _eofSent;                                   // the sending half is shut down
    private protected bool _eofReceived;                     // the peer's EOF was read
    private protected bool _aborted;                         // Abort or a fatal error dropped the buffer
    private protected bool _ioClosed;                        // the socket or descriptor is released
    private Exception? _lostException;                       // what ConnectionLost gets
    private int _droppedWrites;                              // writes after close, dropped (asyncio warns about them)

    /// <summary>The connection's life cycle; the I/O release (<see cref="_ioClosed"/>) and half-close are separate flags.</summary>
    private enum Lifecycle
    {
        Open,
        Closing,         // Close/Abort/fatal error (or the I/O released): no more reads, writes dropped
        LostScheduled,   // ConnectionLost is queued
        Lost,            // ConnectionLost ran
    }

    /// <summary>Close/Abort/fatal error: no more reads, writes dropped.</summary>
    private protected bool _closing => _life >= Lifecycle.Closing;

    protected StreamTransport(EventLoop loop, IBaseProtocol protocol, AioFuture<bool>? waiter)
    {
        _loop = loop;
        _protocol = null!;
        SetProtocolCore(protocol);
        _waiter = waiter;
        loop.CallSoonInternal(s_start, this);
    }

    /// <summary>Bytes not yet sent (portable: including the block in flight).</summary>
    private protected virtual int WriteBufferSize => _buffer.Length;

    /// <summary>False for the write end of a pipe: nothing is ever read.</summary>
    private protected virtual bool HasReadSide => true;

    /// <summary>False for the read end of a pipe: <see cref="Write"/> throws.</summary>
    private protected virtual bool HasWriteSide => true;

    /// <summary>Whether received data should be read now.</summary>
    private protected bool WantsRead => HasReadSide && _started && !_readingPaused && !_closing && !_eofReceived;

    /// <summary>The back end re-evaluates what it waits for (read: <see cref="WantsRead"/>; write: the buffer).</summary>
    private protected abstract void UpdateIo();

    /// <summary>The buffer went from empty to not empty: the back end starts flushing it.</summary>
    private protected abstract void StartWriting();

    /// <summary>The back end stops watching the socket or descriptor and releases it.</summary>
    private protected abstract void CloseIo();

    /// <summary>
    /// One non-blocking receive into <paramref name="buffer"/>: the byte count, 0 at EOF, or -1 when nothing is
    /// there now (<paramref name="error"/> null) or the receive failed (<paramref name="error"/> set).
    /// </summary>
    private protected abstract int ReceiveCore(Span<byte> buffer, out Exception? error);

    /// <summary>
    /// Non-blocking send of (a prefix of) <paramref name="data"/>: the bytes taken (0 when none can be taken now),
    /// or -1 with <paramref name="error"/> set when the send failed (broken pipe, reset).
    /// </summary>
    private protected abstract int SendCore(ReadOnlySpan<byte> data, out Exception? error);

    /// <summary>Shuts the sending half down (the peer reads EOF); may throw an I/O exception.</summary>
    private protected abstract void ShutdownSendCore();

    /// <summary>The transport's kind for messages and <see cref="ToString"/> ("TcpTransport", "WritePipeTransport stdin").</summary>
    private protected abstract string KindName { get; }

    /// <summary>The descriptor number for <see cref="ToString"/>, or "?".</summary>
    private protected abstract string DescriptorText { get; }

    /// <summary>Called once ConnectionLost ran and the I/O is closed (a server detaches the connection here).</summary>
    private protected virtual void OnClosed()
    {
    }

    /// <summary>Counts writes dropped after close (for diagnostics).</summary>
    internal int DroppedWrites => _droppedWrites;

    // ----------------------------------------------------------------- ITransport

    public bool IsClosing => _closing;

    public bool IsReading => HasReadSide && !_readingPaused && !_closing;

    public IBaseProtocol Protocol => _protocol;

    public void SetProtocol(IBaseProtocol protocol)
    {
        _loop.CheckThread(nameof(SetProtocol));
        SetProtocolCore(protocol);
    }

    private void SetProtocolCore(IBaseProtocol protocol)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        _streamProtocol = protocol as IProtocol;
        _bufferedProtocol = _streamProtocol is null ? protocol as IBufferedProtocol : null;
        if (_streamProtocol is null && _bufferedProtocol is null)
        {
            StreamThrowHelper.NotAStreamProtocol(protocol);
        }
        _protocol = protocol;
    }

    public abstract object? GetExtraInfo(string name, object? defaultValue = null);

    public void Write(ReadOnlySpan<byte> data)
    {
        _loop.CheckThread(nameof(Write));
        if (!HasWriteSide)
        {
            StreamThrowHelper.ReadOnlyTransport(this);
        }
        if (_writeBlocked)
        {
            WriteBlocked();
        }
        if (data.IsEmpty)
        {
            return;
        }
        if (_closing)
        {
            _droppedWrites++;
            return;
        }
        if (WriteBufferSize == 0)
        {
            // Fast path: straight to the kernel; only the part it does not take is buffered.
            int sent = SendCore(data, out Exception? error);
            if (error is not null)
            {
                FatalError(error, $"Fatal write error on {KindName}");
                return;
            }
            if (sent == data.Length)
            {
                return;
            }
            data = data[sent..];
            _buffer.Append(data);
            StartWriting();
        }
        else
        {
            _buffer.Append(data);
        }
        MaybePauseProtocol();
    }

    /// <summary>Write's slow path: the sending half is shut (WriteEof) or a SendFileAsync is sending.</summary>
    private void WriteBlocked()
    {
        if (_sendFileActive)
        {
            StreamThrowHelper.WriteDuringSendFile(this);
        }
        StreamThrowHelper.WriteAfterEof(this);
    }

    public bool CanWriteEof => HasWriteSide;

    public virtual void WriteEof()
    {
        _loop.CheckThread(nameof(WriteEof));
        if (_sendFileActive)
        {
            StreamThrowHelper.WriteDuringSendFile(this);
        }
        if (_closing || _eofRequested)
        {
            return;
        }
        _eofRequested = true;
        _writeBlocked = true;
        AssertInvariants();
        if (WriteBufferSize == 0)
        {
            ShutdownSend();
        }
    }

    /// <summary>
    /// Debug builds: the life cycle's consistency. Reading starts only after ConnectionMade; the sending half is shut
    /// only after WriteEof; a dropped buffer or a released descriptor means the transport is closing; ConnectionLost is
    /// queued with its error only once, after the transport started closing; the protocol is paused only while writing.
    /// </summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(!_started || _madeCalled, "A stream transport starts reading only after ConnectionMade was called.");
        Debug.Assert(!_eofSent || _eofRequested, "A stream transport shuts its sending half only after WriteEof was requested.");
        Debug.Assert(!_aborted || _life >= Lifecycle.LostScheduled, "An aborted stream transport must have ConnectionLost queued or run.");
        Debug.Assert(!_ioClosed || _life >= Lifecycle.Closing, "A stream transport whose descriptor is released must be closing.");
        Debug.Assert(_lostException is null || _life >= Lifecycle.LostScheduled, "A stream transport records the error for ConnectionLost only when it queues ConnectionLost.");
    }

    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        if (_closing)
        {
            return;
        }
        _life = Lifecycle.Closing;
        AssertInvariants();
        UpdateIo();
        if (WriteBufferSize == 0)
        {
            ScheduleConnectionLost(null);
        }
    }

    public void Abort()
    {
        _loop.CheckThread(nameof(Abort));
        ForceClose(null);
    }

    public void PauseReading()
    {
        _loop.CheckThread(nameof(PauseReading));
        if (_closing || _readingPaused)
        {
            return;
        }
        _readingPaused = true;
        UpdateIo();
    }

    public void ResumeReading()
    {
        _loop.CheckThread(nameof(ResumeReading));
        if (_closing || !_readingPaused)
        {
            return;
        }
        _readingPaused = false;
        UpdateIo();
    }

    public int GetWriteBufferSize() => WriteBufferSize;

    public (int Low, int High) GetWriteBufferLimits() => (_low, _high);

    public void SetWriteBufferLimits(int? high = null, int? low = null)
    {
        _loop.CheckThread(nameof(SetWriteBufferLimits));
        (_low, _high) = ResolveLimits(high, low);
        MaybePauseProtocol();
        MaybeResumeProtocol();
    }

    /// <summary>asyncio's rule: high defaults to 64 KiB (or 4 × low), low to high / 4; 0 ≤ low ≤ high.</summary>
    internal static (int Low, int High) ResolveLimits(int? high, int? low)
    {
        int h = high ?? (low is int l0 ? 4 * l0 : DefaultHighWater);
        int l = low ?? h / 4;
        if (l < 0 || h < l)
        {
            throw new ArgumentOutOfRangeException(nameof(high), $"high ({h}) must be >= low ({l}) must be >= 0.");
        }
        return (l, h);
    }

    // ----------------------------------------------------------------- back end callbacks

    private void Start()
    {
        _madeCalled = true;
        try
        {
            _protocol.ConnectionMade(this);
        }
        catch (Exception e)
        {
            _waiter?.TrySetException(e);
            FatalError(e, "Exception in protocol.ConnectionMade()");
            return;
        }
        _started = true;
        UpdateIo();
        _waiter?.TrySetResult(true);
    }

    /// <summary>One read on readiness: receive once into the protocol's buffer or the loop's, and deliver.</summary>
    private protected void ReadReady()
    {
        if (!WantsRead)
        {
            return;
        }
        Exception? error;
        int n;
        if (_bufferedProtocol is { } buffered)
        {
            Memory<byte> memory;
            try
            {
                memory = buffered.GetBuffer(-1);
                if (memory.IsEmpty)
                {
                    StreamThrowHelper.EmptyProtocolBuffer(buffered);
                }
            }
            catch (Exception e)
            {
                FatalError(e, "Fatal error: protocol.GetBuffer() call failed.");
                return;
            }
            n = ReceiveCore(memory.Span, out error);
            if (n <= 0)
            {
                ReceiveEnded(n, error);
                return;
            }
            try
            {
                buffered.BufferUpdated(n);
            }
            catch (Exception e)
            {
                FatalError(e, "Fatal error: protocol.BufferUpdated() call failed.");
            }
            return;
        }

        Span<byte> span = _loop.ReceiveBuffer;
        n = ReceiveCore(span, out error);
        if (n <= 0)
        {
            ReceiveEnded(n, error);
            return;
        }
        try
        {
            _streamProtocol!.DataReceived(span[..n]);
        }
        catch (Exception e)
        {
            FatalError(e, "Fatal error: protocol.DataReceived() call failed.");
        }
    }

    private void ReceiveEnded(int n, Exception? error)
    {
        if (n == 0)
        {
            ReadEof();
        }
        else if (error is not null)
        {
            FatalError(error, $"Fatal read error on {KindName}");
        }
    }

    private void ReadEof()
    {
        _eofReceived = true;
        UpdateIo();
        bool keepOpen;
        try
        {
            keepOpen = _streamProtocol?.EofReceived() ?? _bufferedProtocol!.EofReceived();
        }
        catch (Exception e)
        {
            FatalError(e, "Fatal error: protocol.EofReceived() call failed.");
            return;
        }
        if (!keepOpen || !HasWriteSide)
        {
            Close();
        }
    }

    /// <summary>Readiness back ends: the descriptor is writable; send the buffer once.</summary>
    private protected void WriteReady()
    {
        if (_buffer.Length == 0)
        {
            UpdateIo();
            return;
        }
        int sent = SendCore(_buffer.Span, out Exception? error);
        if (error is not null)
        {
            _buffer.Clear();
            FatalError(error, $"Fatal write error on {KindName}");
            return;
        }
        if (sent == 0)
        {
            return;
        }
        _buffer.Consume(sent);
        AfterSent();
    }

    /// <summary>Some buffered bytes went out: resume the protocol at the low mark; when empty, stop watching and finish a close or EOF.</summary>
    private protected void AfterSent()
    {
        MaybeResumeProtocol();
        if (WriteBufferSize != 0)
        {
            return;
        }
        UpdateIo();
        if (_closing)
        {
            ScheduleConnectionLost(null);
        }
        else if (_eofRequested && !_eofSent)
        {
            ShutdownSend();
        }
    }

    private void ShutdownSend()
    {
        _eofSent = true;
        try
        {
            ShutdownSendCore();
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            FatalError(e, "Fatal error on shutdown of the sending half");
        }
    }

    private void MaybePauseProtocol()
    {
        if (_protocolPaused || WriteBufferSize <= _high)
        {
            return;
        }
        _protocolPaused = true;
        try
        {
            _protocol.PauseWriting();
        }
        catch (Exception e)
        {
            ReportProtocolError(e, "protocol.PauseWriting() failed");
        }
    }

    private void MaybeResumeProtocol()
    {
        if (!_protocolPaused || WriteBufferSize > _low)
        {
            return;
        }
        _protocolPaused = false;
        try
        {
            _protocol.ResumeWriting();
        }
        catch (Exception e)
        {
            ReportProtocolError(e, "protocol.ResumeWriting() failed");
        }
    }

    private void ReportProtocolError(Exception e, string message) =>
        _loop.CallExceptionHandler(new ExceptionContext { Message = message, Exception = e, Source = this });

    /// <summary>
    /// An error ends the connection: protocol errors are reported to the exception handler (I/O errors
    /// only end it, like asyncio's OSError), then the connection is aborted with <paramref name="error"/>.
    /// </summary>
    private protected void FatalError(Exception error, string message)
    {
        if (error is not (SocketException or IOException or ObjectDisposedException))
        {
            _loop.CallExceptionHandler(new ExceptionContext
            {
                Message = $"{message}; the connection is aborted. Protocol: {_protocol}",
                Exception = error,
                Source = this,
            });
        }
        ForceClose(error);
    }

    private void ForceClose(Exception? error)
    {
        if (_life >= Lifecycle.LostScheduled)
        {
            return;
        }
        _buffer.Clear();
        _aborted = true;
        _life = Lifecycle.Closing;
        UpdateIo();
        ScheduleConnectionLost(error);
    }

    private void ScheduleConnectionLost(Exception? error)
    {
        if (_life >= Lifecycle.LostScheduled)
        {
            return;
        }
        _life = Lifecycle.LostScheduled;
        _lostException = error;
        AssertInvariants();
        _loop.CallSoonInternal(s_connectionLost, this);
    }

    private void CallConnectionLost()
    {
        if (_life == Lifecycle.Lost)
        {
            return;
        }
        _life = Lifecycle.Lost;
        AssertInvariants();
        try
        {
            if (_madeCalled)
            {
                _protocol.ConnectionLost(_lostException);
            }
        }
        catch (Exception e)
        {
            ReportProtocolError(e, "protocol.ConnectionLost() failed");
        }
        finally
        {
            _buffer.Clear();
            ReleaseIo();
            OnClosed();
            _waiter?.TrySetException(_lostException ?? new SocketException((int)SocketError.ConnectionAborted));
        }
    }

    /// <summary>Releases the socket or descriptor once (no protocol callback); also used when the loop closes under the transport.</summary>
    private protected void ReleaseIo()
    {
        if (_ioClosed)
        {
            return;
        }
        _buffer.Clear();
        if (_life < Lifecycle.Closing)
        {
            _life = Lifecycle.Closing;
        }
        _ioClosed = true;
        AssertInvariants();
        CloseIo();
    }

    /// <summary>asyncio-style: <c>&lt;TcpTransport fd=7 read=polling write=&lt;idle, bufsize=0&gt;&gt;</c>.</summary>
    public override string ToString()
    {
        if (_ioClosed)
        {
            return $"<{KindName} closed>";
        }
        var text = new System.Text.StringBuilder();
        text.Append('<').Append(KindName).Append(" fd=").Append(DescriptorText);
        if (HasReadSide)
        {
            text.Append(" read=").Append(_closing ? "closing" : _readingPaused ? "paused" : _eofReceived ? "eof" : "polling");
        }
        if (HasWriteSide)
        {
            int size = WriteBufferSize;
            text.Append(" write=<").Append(size == 0 ? "idle" : "polling").Append(", bufsize=").Append(size).Append('>');
        }
        return text.Append('>').ToString();
    }
}
