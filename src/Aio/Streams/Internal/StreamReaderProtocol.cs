using System.Net.Sockets;
using Aio.LowLevel;
using Aio.Net;

namespace Aio.Streams.Internal;

/// <summary>
/// The protocol under a stream pair (asyncio's StreamReaderProtocol + FlowControlMixin): feeds the reader,
/// tracks write flow control for <see cref="AioStreamWriter.DrainAsync"/>, and on a server starts the
/// handler task of the connection. Without a reader it serves a write-only transport (a subprocess's stdin).
/// </summary>
internal sealed class StreamReaderProtocol : IProtocol
{
    private static readonly Action<object?> s_invoke = static s => ((Action)s!)();

    private readonly EventLoop _loop;
    private readonly Func<AioStreamReader, AioStreamWriter, Task>? _handler;   // server: the per-connection handler
    private readonly TaskOwner? _handlers;   // server: owns the handler task (the server's handlers)
    private readonly ParkingLot _drainWaiters;
    private readonly ParkingLot _closeWaiters;
    private List<Action>? _foreignDrainWaiters;   // the Stream adapter's drain waits
    private bool _paused;                          // PauseWriting was called: drains wait
    private bool _connectionLost;
    private Exception? _lostError;                 // the ConnectionLost exception (null after a clean close)
    private AioTask? _handlerTask;

    public StreamReaderProtocol(EventLoop loop, AioStreamReader? reader, Func<AioStreamReader, AioStreamWriter, Task>? handler, TaskOwner? handlers)
    {
        _loop = loop;
        Reader = reader;
        _handler = handler;
        _handlers = handlers;
        _drainWaiters = new ParkingLot(this);
        _closeWaiters = new ParkingLot(this);
    }

    public AioStreamReader? Reader { get; }

    public AioStreamWriter? Writer { get; private set; }

    public ITransport? Transport { get; private set; }

    public bool ConnectionIsLost => _connectionLost;

    public bool IsPaused => _paused;

    public Exception? LostError => _lostError;

    public void ConnectionMade(ITransport transport)
    {
        Transport = transport;
        Reader?.SetTransport(transport);
        Writer ??= new AioStreamWriter(_loop, transport, this, Reader);
        if (_handler is not null)
        {
            AioStreamReader reader = Reader!;
            AioStreamWriter writer = Writer;
            Func<AioStreamReader, AioStreamWriter, Task> handler = _handler;
            _handlerTask = _loop.CreateTask(() => handler(reader, writer), "stream handler");
            _handlers?.Adopt(_handlerTask);
            _handlerTask.AddDoneCallback(OnHandlerDone);
        }
    }

    private void OnHandlerDone(AioFuture task)
    {
        if (task.Cancelled)
        {
            Transport?.Close();
            return;
        }
        Exception? error = task.Exception();
        if (error is not null)
        {
            _loop.CallExceptionHandler(new ExceptionContext
            {
                Message = "Unhandled exception in the stream handler of a connection (StartServerAsync); the connection is closed. Catch errors inside the handler to answer them yourself.",
                Exception = error,
                Future = task,
                Source = Transport,
            });
            Transport?.Close();
        }
    }

    /// <summary>
    /// Creates the writer now, before ConnectionMade (which is call-soon): a subprocess's stdin must exist as soon
    /// as the process object does. ConnectionMade then keeps it.
    /// </summary>
    internal AioStreamWriter CreateWriterEarly(ITransport transport)
    {
        Transport = transport;
        return Writer = new AioStreamWriter(_loop, transport, this, Reader);
    }

    /// <summary>Points the stream pair at a new transport (after a TLS upgrade).</summary>
    internal void ReplaceTransport(ITransport transport)
    {
        Transport = transport;
        Reader?.SetTransport(transport);
    }

    public void DataReceived(ReadOnlySpan<byte> data) => Reader?.FeedData(data);

    public bool EofReceived()
    {
        Reader?.FeedEof();
        // Keep the transport open: the writer may still answer (half-close). Over TLS the transport closes.
        return Transport is not ITlsTransport;
    }

    public void ConnectionLost(Exception? exception)
    {
        _connectionLost = true;
        _lostError = exception is SocketException se ? StreamThrowHelper.ConnectionLost(se) : exception;
        if (_lostError is null)
        {
            Reader?.FeedEof();
        }
        else
        {
            Reader?.SetException(_lostError);
        }
        // Drains waiting on a paused transport: wake them; they see the lost connection and throw.
        _paused = false;
        WakeDrainers();
        _closeWaiters.UnparkAll();
    }

    public void PauseWriting() => _paused = true;

    public void ResumeWriting()
    {
        _paused = false;
        WakeDrainers();
    }

    private void WakeDrainers()
    {
        _drainWaiters.UnparkAll();
        if (_foreignDrainWaiters is { Count: > 0 } list)
        {
            _foreignDrainWaiters = null;
            foreach (Action a in list)
            {
                _loop.CallSoonInternal(s_invoke, a);
            }
        }
    }

    /// <summary>
    /// asyncio's _drain_helper: throws if the connection is lost (the I/O error that ended it – a reset, a broken
    /// pipe – or a generic "connection lost"); waits while writing is paused.
    /// </summary>
    public async ValueTask DrainHelperAsync()
    {
        while (true)
        {
            if (_connectionLost)
            {
                throw _lostError as IOException ?? StreamThrowHelper.ConnectionLost(_lostError);
            }
            if (!_paused)
            {
                return;
            }
            await _drainWaiters.ParkAsync();
        }
    }

    /// <summary>For the Stream adapter: true if writing may go on now; else <paramref name="wake"/> runs when it may (or the connection is lost).</summary>
    internal bool TryDrainForeign(Action wake)
    {
        if (_connectionLost)
        {
            throw _lostError as IOException ?? StreamThrowHelper.ConnectionLost(_lostError);
        }
        if (!_paused)
        {
            return true;
        }
        (_foreignDrainWaiters ??= new List<Action>()).Add(wake);
        return false;
    }

    public async Task WaitClosedAsync()
    {
        while (!_connectionLost)
        {
            await _closeWaiters.ParkAsync();
        }
        if (_lostError is not null)
        {
            throw _lostError;
        }
    }

    public override string ToString() => $"<StreamReaderProtocol {(_connectionLost ? "lost" : _paused ? "paused" : "open")}>";
}

/// <summary>
/// Marks a transport that carries TLS: its stream protocol closes on EOF instead of keeping a half-closed
/// connection (TLS has no half-close). Declared here so the stream layer need not know the TLS transport.
/// </summary>
internal interface ITlsTransport : ITransport;
