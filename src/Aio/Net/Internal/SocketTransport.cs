// SocketTransport: the stream transport over a connected socket (TCP or Unix), for both poller back ends.
//
// Design note. This is asyncio's _SelectorSocketTransport (and uvloop's UVStream) in C#. The state lives
// here; the two back ends differ only in how they learn that the socket is readable or writable:
//   - ReactorSocketTransport (epoll): the socket is non-blocking and registered with the loop's epoll,
//     level-triggered. On readiness the loop thread calls Socket.Receive/Send synchronously, with
//     `out SocketError` (no exception on EAGAIN): one system call per read or write, no thread hop.
//   - PortableSocketTransport (any OS): a zero-byte ReceiveAsync stands for "readable" (its completion is
//     posted to the loop, which then receives synchronously exactly as above), and the unsent tail of the
//     writes goes out with SendAsync, whose completion is posted back too.
// Hot path (the echo benchmark): a read lands in the loop's shared receive buffer (one per loop; the
// protocol sees a span valid during the call) and a write goes straight to the socket while nothing is
// buffered; only the tail the kernel did not take is copied into the WriteBuffer. Nothing allocates.
//
// Life cycle, as asyncio: the constructor schedules ConnectionMade (call-soon), reading starts after it.
// Close() stops reading and, once the write buffer is flushed, schedules ConnectionLost(null); Abort()
// and fatal errors drop the buffer and schedule ConnectionLost(error) at once. ConnectionLost runs
// exactly once, always after ConnectionMade, through the ready ring (never inside a protocol callback),
// and the socket is closed right after it. EOF from the peer calls EofReceived; unless it returns true
// the transport closes itself. A protocol callback that throws is reported to the loop's exception
// handler and aborts the connection; socket errors (reset, broken pipe) only end it, as asyncio does
// with OSError.
// Flow control: over the high-water mark the protocol's PauseWriting is called, at or below the low
// mark ResumeWriting; each exactly once per crossing.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Aio.Net.Internal;

/// <summary>The transport of a connected stream socket; the back end supplies readiness. See the design note.</summary>
[DebuggerDisplay("{ToString(),nq}")]
internal abstract class SocketTransport : ITransport
{
    internal const int DefaultHighWater = 64 * 1024;

    private static readonly Action<object?> s_start = static s => ((SocketTransport)s!).Start();
    private static readonly Action<object?> s_connectionLost = static s => ((SocketTransport)s!).CallConnectionLost();

    private protected readonly EventLoop _loop;
    private protected readonly Socket _socket;
    private protected readonly WriteBuffer _buffer = new();   // unsent tail of the writes (portable: not yet handed to SendAsync)
    private readonly Server? _server;                        // the server that accepted the connection; null for clients
    private readonly AioFuture<bool>? _waiter;               // completed once ConnectionMade returned (CreateConnectionAsync waits on it)
    private readonly EndPoint? _peer;                        // cached at construction: the socket may be closed when asked
    private readonly EndPoint? _local;
    private IBaseProtocol _protocol;
    private IProtocol? _streamProtocol;                      // _protocol when it is an IProtocol
    private IBufferedProtocol? _bufferedProtocol;            // _protocol when it is an IBufferedProtocol
    private int _high = DefaultHighWater;                    // bytes; PauseWriting above this
    private int _low = DefaultHighWater / 4;                 // bytes; ResumeWriting at or below this
    private bool _protocolPaused;                            // PauseWriting was called and ResumeWriting not yet
    private bool _readingPaused;                             // PauseReading was called
    private bool _madeCalled;                                // ConnectionMade was called (ConnectionLost may follow)
    private protected bool _started;                         // ConnectionMade returned normally: reading may start
    private protected bool _closing;                         // Close/Abort/fatal error: no more reads, writes dropped
    private protected bool _eofRequested;                    // WriteEof was called
    private bool _eofSent;                                   // the socket's sending half is shut down
    private protected bool _eofReceived;                     // the peer's EOF was read
    private protected bool _lostScheduled;                   // ConnectionLost is queued (or ran)
    private protected bool _aborted;                         // Abort or a fatal error dropped the buffer
    private bool _lostCalled;                                // ConnectionLost ran
    private protected bool _socketClosed;                    // the socket is disposed
    private Exception? _lostException;                       // what ConnectionLost gets
    private int _droppedWrites;                              // writes after close, dropped (asyncio warns about them)

    protected SocketTransport(EventLoop loop, Socket socket, IBaseProtocol protocol, Server? server, AioFuture<bool>? waiter)
    {
        _loop = loop;
        _socket = socket;
        _protocol = null!;
        SetProtocolCore(protocol);
        _server = server;
        _waiter = waiter;
        try
        {
            _peer = socket.RemoteEndPoint;
            _local = socket.LocalEndPoint;
        }
        catch (SocketException)
        {
            // Not connected any more (reset before we looked): ConnectionLost will tell.
        }
        server?.Attach(this);
        loop.CallSoonInternal(s_start, this);
    }

    /// <summary>Bytes not yet sent (portable: including the block in flight).</summary>
    private protected virtual int WriteBufferSize => _buffer.Length;

    /// <summary>Whether received data should be read now.</summary>
    private protected bool WantsRead => _started && !_readingPaused && !_closing && !_eofReceived;

    /// <summary>The back end re-evaluates what it waits for (read: <see cref="WantsRead"/>; write: the buffer).</summary>
    private protected abstract void UpdateIo();

    /// <summary>The buffer went from empty to not empty: the back end starts flushing it.</summary>
    private protected abstract void StartWriting();

    /// <summary>The back end stops watching the socket and disposes it.</summary>
    private protected abstract void CloseSocket();

    private protected abstract string KindName { get; }

    /// <summary>Counts writes dropped after close (for diagnostics).</summary>
    internal int DroppedWrites => _droppedWrites;

    // ----------------------------------------------------------------- ITransport

    public bool IsClosing => _closing;

    public bool IsReading => !_readingPaused && !_closing;

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
            NetThrowHelper.NotAStreamProtocol(protocol);
        }
        _protocol = protocol;
    }

    public object? GetExtraInfo(string name, object? defaultValue = null) => name switch
    {
        "peername" => _peer ?? defaultValue,
        "sockname" => _local ?? defaultValue,
        "socket" => _socket,
        _ => defaultValue,
    };

    public void Write(ReadOnlySpan<byte> data)
    {
        _loop.CheckThread(nameof(Write));
        if (_eofRequested)
        {
            NetThrowHelper.WriteAfterEof(this);
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
            // Fast path: straight to the socket; only the part the kernel does not take is buffered.
            int sent = _socket.Send(data, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                if (sent == data.Length)
                {
                    return;
                }
                data = data[sent..];
            }
            else if (error != SocketError.WouldBlock)
            {
                FatalError(new SocketException((int)error), "Fatal write error on socket transport");
                return;
            }
            _buffer.Append(data);
            StartWriting();
        }
        else
        {
            _buffer.Append(data);
        }
        MaybePauseProtocol();
    }

    public bool CanWriteEof => true;

    public void WriteEof()
    {
        _loop.CheckThread(nameof(WriteEof));
        if (_closing || _eofRequested)
        {
            return;
        }
        _eofRequested = true;
        if (WriteBufferSize == 0)
        {
            ShutdownSend();
        }
    }

    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        if (_closing)
        {
            return;
        }
        _closing = true;
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
        SocketError error;
        int n;
        if (_bufferedProtocol is { } buffered)
        {
            Memory<byte> memory;
            try
            {
                memory = buffered.GetBuffer(-1);
                if (memory.IsEmpty)
                {
                    NetThrowHelper.EmptyProtocolBuffer(buffered);
                }
            }
            catch (Exception e)
            {
                FatalError(e, "Fatal error: protocol.GetBuffer() call failed.");
                return;
            }
            n = _socket.Receive(memory.Span, SocketFlags.None, out error);
            if (error != SocketError.Success || n == 0)
            {
                ReceiveEnded(error);
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
        n = _socket.Receive(span, SocketFlags.None, out error);
        if (error != SocketError.Success || n == 0)
        {
            ReceiveEnded(error);
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

    private void ReceiveEnded(SocketError error)
    {
        if (error == SocketError.Success)
        {
            ReadEof();
        }
        else if (error != SocketError.WouldBlock)
        {
            FatalError(new SocketException((int)error), "Fatal read error on socket transport");
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
        if (!keepOpen)
        {
            Close();
        }
    }

    /// <summary>Epoll: the socket is writable; send the buffer once.</summary>
    private protected void WriteReady()
    {
        if (_buffer.Length == 0)
        {
            UpdateIo();
            return;
        }
        int sent = _socket.Send(_buffer.Span, SocketFlags.None, out SocketError error);
        if (error != SocketError.Success)
        {
            if (error != SocketError.WouldBlock)
            {
                _buffer.Clear();
                FatalError(new SocketException((int)error), "Fatal write error on socket transport");
            }
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
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e)
        {
            FatalError(e, "Fatal error on socket shutdown");
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
    /// An error ends the connection: protocol errors are reported to the exception handler (socket errors
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
        if (_lostScheduled)
        {
            return;
        }
        _buffer.Clear();
        _aborted = true;
        _closing = true;
        UpdateIo();
        ScheduleConnectionLost(error);
    }

    private void ScheduleConnectionLost(Exception? error)
    {
        if (_lostScheduled)
        {
            return;
        }
        _lostScheduled = true;
        _lostException = error;
        _loop.CallSoonInternal(s_connectionLost, this);
    }

    private void CallConnectionLost()
    {
        if (_lostCalled)
        {
            return;
        }
        _lostCalled = true;
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
            _socketClosed = true;
            CloseSocket();
            _server?.Detach(this);
            _waiter?.TrySetException(_lostException ?? new SocketException((int)SocketError.ConnectionAborted));
        }
    }

    /// <summary>asyncio-style: <c>&lt;TcpTransport fd=7 read=polling write=&lt;idle, bufsize=0&gt;&gt;</c>.</summary>
    public override string ToString()
    {
        if (_socketClosed)
        {
            return $"<{KindName} closed>";
        }
        string fd = _socket.SafeHandle.IsClosed ? "?" : _socket.SafeHandle.DangerousGetHandle().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string read = _closing ? "closing" : _readingPaused ? "paused" : _eofReceived ? "eof" : "polling";
        int size = WriteBufferSize;
        string write = size == 0 ? "idle" : "polling";
        return $"<{KindName} fd={fd} read={read} write=<{write}, bufsize={size}>>";
    }
}
