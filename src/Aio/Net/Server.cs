// Server: the listening side (asyncio's Server).
//
// Design note. A server owns one Listener per bound socket and knows every connection it accepted (the
// transports attach themselves when made and detach after ConnectionLost). Close() stops listening and
// leaves the connections alone, as asyncio does; CloseClients()/AbortClients() end them, and for stream
// servers also cancel the handler tasks (each connection's handler runs as a task the server owns).
// WaitClosedAsync() returns once the server is closed and its last connection is gone (asyncio 3.12+).
//
// Graceful shutdown (ShutdownAsync) is two-phase, the one protocol stream servers and the HTTP server share:
//   1. stop accepting: Close() – the listening sockets close at once, so new connections are refused;
//   2. notify: the ShuttingDown token is signalled; its callbacks run synchronously on the loop thread, and
//      handlers (or protocols) that registered one say goodbye, finish the request in flight, close idle
//      connections – whatever "wind down" means for them. Nothing is cancelled yet;
//   3. drain: wait until every handler has finished and every connection has ended, at most the grace period
//      (or until the caller is cancelled);
//   4. cancel the rest (shielded, so it completes even in a cancelled task): cancel the handlers still
//      running and wait for them – they may still write in their finally blocks, and their connection is
//      closed (flushing) when they end; then close the connections left, abort those that still hold
//      unsent data (the peer does not read), and wait until every connection is gone.
// A second call waits for the first to finish. ServeForeverAsync() serves until the awaiting task is
// cancelled, then runs this same shutdown with its shutdownGracePeriod (0 by default: notify, then cancel at
// once) before the CancelledError goes on: cancelling the task that serves is how a program stops a server
// and everything under it, and the ShuttingDown callbacks get their chance first.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aio.LowLevel;
using Aio.Net.Internal;

namespace Aio.Net;

/// <summary>
/// A listening server made by <see cref="EventLoopNetExtensions.CreateServerAsync"/> or <see cref="Asyncio.StartServerAsync"/>:
/// accepts connections and gives each its own protocol (or stream handler task).
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only. <c>await using</c> closes it and its clients.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Server : IAsyncDisposable
{
    private readonly EventLoop _loop;
    private readonly Func<object, Server, ITransport?> _connect;   // makes the transport (and protocol) of an accepted socket or provided connection
    private readonly List<Listener> _listeners;
    private readonly HashSet<ITransport> _clients = new();
    private readonly TaskOwner _handlers;                           // stream servers: one handler task per connection
    private readonly ParkingLot _closedWaiters;
    private EndPoint[] _endPoints;
    private bool _serving;
    private bool _closed;
    private AioFuture? _servingForever;          // completed by Close(): ServeForeverAsync then returns
    private CancellationTokenSource? _shuttingDown;  // ShuttingDown's source; created on request or at shutdown
    private bool _shutdownStarted;               // ShutdownAsync (or a cancelled ServeForeverAsync) began

    internal Server(EventLoop loop, List<Listener> listeners, Func<object, Server, ITransport?> connect)
    {
        _loop = loop;
        _listeners = listeners;
        _connect = connect;
        _endPoints = listeners.Select(l => l.EndPoint).ToArray();
        _closedWaiters = new ParkingLot(this);
        _handlers = new TaskOwner("handlers", _ => WakeWaiters());
    }

    internal Server(EventLoop loop, Func<object, Server, ITransport?> connect)
        : this(loop, new List<Listener>(), connect)
    {
    }

    /// <summary>The loop the server runs on.</summary>
    public EventLoop Loop => _loop;

    /// <summary>The addresses the server listens on (with the ports the system chose for port 0). Empty once closed.</summary>
    public IReadOnlyList<EndPoint> Sockets => _closed ? Array.Empty<EndPoint>() : _endPoints;

    /// <summary>True while the server accepts connections.</summary>
    public bool IsServing => _serving && !_closed;

    /// <summary>How many connections are open now.</summary>
    public int ActiveConnections => _clients.Count;

    /// <summary>
    /// Signalled when a graceful shutdown begins (<see cref="ShutdownAsync"/>, or a cancelled
    /// <see cref="ServeForeverAsync"/>), after the server stopped accepting and before anything is cancelled – like
    /// .NET's <c>IHostApplicationLifetime.ApplicationStopping</c>. It is a notification, not a cancellation: register a
    /// callback to say goodbye or to wind a connection down (it runs on the loop thread, synchronously, inside the
    /// shutdown; a callback that throws is reported to the loop's exception handler and the shutdown goes on), or
    /// test <see cref="CancellationToken.IsCancellationRequested"/> between requests. A callback registered after
    /// the shutdown began runs at once.
    /// </summary>
    /// <remarks>Read it on the loop's thread.</remarks>
    public CancellationToken ShuttingDown
    {
        get
        {
            _loop.CheckThread(nameof(ShuttingDown));
            return (_shuttingDown ??= new CancellationTokenSource()).Token;
        }
    }

    /// <summary>Seconds accepting pauses after running out of descriptors or memory (asyncio: 1 s).</summary>
    internal double AcceptRetryDelay { get; set; } = 1.0;

    /// <summary>Test seam: when set and returning a non-zero errno, the next accept fails with it.</summary>
    internal Func<int>? AcceptFaultForTests { get; set; }

    /// <summary>How many accepts failed for lack of resources (diagnostics and tests).</summary>
    internal int AcceptErrors { get; set; }

    internal void AddListeners(List<Listener> listeners)
    {
        _listeners.AddRange(listeners);
        _endPoints = _listeners.Select(l => l.EndPoint).ToArray();
    }

    /// <summary>Starts accepting connections (idempotent). Servers start serving at creation unless asked not to.</summary>
    /// <exception cref="InvalidOperationException">The server is closed.</exception>
    public void StartServing()
    {
        _loop.CheckThread(nameof(StartServing));
        if (_closed)
        {
            NetThrowHelper.ServerClosed(this);
        }
        if (_serving)
        {
            return;
        }
        _serving = true;
        foreach (Listener l in _listeners)
        {
            l.StartAccepting();
        }
    }

    /// <summary>
    /// Serves until <see cref="Close"/> is called (then returns) or the calling task is cancelled – Ctrl+C under
    /// <see cref="Asyncio.Run(Func{Task}, bool?)"/>. Cancelled, it shuts the server down gracefully as
    /// <see cref="ShutdownAsync"/> does, shielded from the cancellation: stops accepting, signals
    /// <see cref="ShuttingDown"/>, waits up to <paramref name="shutdownGracePeriod"/> seconds for the handlers and
    /// connections to finish, cancels the rest and waits for them; then the <see cref="CancelledError"/> goes on,
    /// so the caller's <c>finally</c> runs once every connection is gone.
    /// </summary>
    /// <param name="shutdownGracePeriod">
    /// Seconds the handlers get to finish after <see cref="ShuttingDown"/> is signalled. Default 0: the
    /// <see cref="ShuttingDown"/> callbacks run, then whatever is left is cancelled at once.
    /// </param>
    /// <exception cref="InvalidOperationException">The server is closed, or another task serves it forever already.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="shutdownGracePeriod"/> is negative or NaN.</exception>
    public async Task ServeForeverAsync(double shutdownGracePeriod = 0)
    {
        CheckGracePeriod(shutdownGracePeriod);
        _ = Asyncio.CurrentTaskOrThrow(nameof(ServeForeverAsync));
        if (_servingForever is not null)
        {
            NetThrowHelper.AlreadyServingForever(this);
        }
        StartServing();
        AioFuture forever = _loop.CreateFuture();
        _servingForever = forever;
        try
        {
            await forever;
        }
        catch (OperationCanceledException)
        {
            // The serving task is cancelled (level-triggered: every await throws now), so shut down in a shielded
            // scope: the handlers get the same notification and grace period as with ShutdownAsync.
            await new CancelScope(shield: true).RunAsync(() => ShutdownAsync(shutdownGracePeriod));
            throw;
        }
        finally
        {
            _servingForever = null;
        }
    }

    /// <summary>Stops listening: closes the listening sockets. Open connections go on. Idempotent.</summary>
    public void Close()
    {
        _loop.CheckThread(nameof(Close));
        if (_closed)
        {
            return;
        }
        _closed = true;
        _serving = false;
        foreach (Listener l in _listeners)
        {
            l.Close();
        }
        if (_servingForever is { Done: false } forever)
        {
            forever.SetResult();
        }
        WakeWaiters();
    }

    /// <summary>Closes every open connection (flushing their buffers) and cancels the stream handler tasks.</summary>
    public void CloseClients()
    {
        _loop.CheckThread(nameof(CloseClients));
        foreach (ITransport t in _clients.ToArray())
        {
            t.Close();
        }
        CancelHandlers();
    }

    /// <summary>Aborts every open connection (discarding their buffers) and cancels the stream handler tasks.</summary>
    public void AbortClients()
    {
        _loop.CheckThread(nameof(AbortClients));
        foreach (ITransport t in _clients.ToArray())
        {
            t.Abort();
        }
        CancelHandlers();
    }

    private void CancelHandlers()
    {
        _handlers.CancelAll("The server closed its clients.");
    }

    /// <summary>Waits until the server is closed and every connection it accepted has ended (asyncio 3.12+).</summary>
    public async Task WaitClosedAsync()
    {
        while (!(_closed && _clients.Count == 0 && _handlers.Count == 0))
        {
            await _closedWaiters.ParkAsync();
        }
    }

    /// <summary>
    /// Shuts the server down gracefully, in two phases. First it stops accepting (<see cref="Close"/>: the listening
    /// sockets close at once, new connections are refused) and signals <see cref="ShuttingDown"/>, whose callbacks
    /// tell the connections to finish; then it waits up to <paramref name="gracePeriod"/> seconds for every stream
    /// handler to finish and every connection to end. Whatever is left then is cancelled: the handlers still running
    /// are cancelled and awaited (their <c>finally</c> blocks run), the connections left are closed, and those that
    /// still hold unsent data are aborted. Returns when every connection is gone. Idempotent: a second call waits
    /// for the first to finish.
    /// </summary>
    /// <remarks>
    /// Handler exceptions are reported to the loop's exception handler as usual, never lost. If the calling task is
    /// cancelled during the grace period, the rest is cancelled at once and awaited (shielded) before the
    /// <see cref="CancelledError"/> goes on. asyncio has the pieces (<c>close()</c>, <c>close_clients()</c>,
    /// <c>abort_clients()</c>, <c>wait_closed()</c>) but no grace period.
    /// </remarks>
    /// <param name="gracePeriod">Seconds the handlers get to finish; 0 cancels them right after the notification; infinity waits for them.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gracePeriod"/> is negative or NaN.</exception>
    /// <exception cref="InvalidOperationException">
    /// Called outside the loop's thread, outside a task, or from one of this server's connection handlers (it
    /// would wait for itself; start the shutdown in a task of its own and do not await it there).
    /// </exception>
    public async Task ShutdownAsync(double gracePeriod)
    {
        _loop.CheckThread(nameof(ShutdownAsync));
        CheckGracePeriod(gracePeriod);
        AioTask caller = Asyncio.CurrentTaskOrThrow(nameof(ShutdownAsync));
        if (_handlers.Contains(caller))
        {
            NetThrowHelper.ShutdownFromHandler(this);
        }
        if (_shutdownStarted)
        {
            await WaitClosedAsync();   // another call is shutting the server down: its end is ours
            return;
        }
        _shutdownStarted = true;
        Close();
        NotifyShuttingDown();
        try
        {
            if (double.IsPositiveInfinity(gracePeriod))
            {
                await WaitClosedAsync();
            }
            else if (gracePeriod > 0 && !IsDrained)
            {
                await CancelScope.AfterDelay(gracePeriod).RunAsync(WaitClosedAsync);
            }
        }
        finally
        {
            // The grace period is over (or the caller was cancelled): cancel what is left and wait for it, shielded.
            await new CancelScope(shield: true).RunAsync(CancelRemainingAsync);
        }
    }

    private bool IsDrained => _clients.Count == 0 && _handlers.Count == 0;

    private void CheckGracePeriod(double gracePeriod)
    {
        if (double.IsNaN(gracePeriod) || gracePeriod < 0)
        {
            NetThrowHelper.InvalidGracePeriod(this, gracePeriod);
        }
    }

    private void NotifyShuttingDown()
    {
        CancellationTokenSource cts = _shuttingDown ??= new CancellationTokenSource();
        try
        {
            cts.Cancel();
        }
        catch (AggregateException e)
        {
            foreach (Exception inner in e.InnerExceptions)
            {
                _loop.CallExceptionHandler(new ExceptionContext
                {
                    Message = $"A ShuttingDown callback of {this} threw; the shutdown goes on. Catch errors inside the callback.",
                    Exception = inner,
                    Source = this,
                });
            }
        }
    }

    private async Task CancelRemainingAsync()
    {
        // Handlers first: cancelled, they may still write a last word in their finally blocks; the connection of
        // each is closed (flushing) when it ends.
        CancelHandlers();
        while (_handlers.Count > 0)
        {
            await _closedWaiters.ParkAsync();
        }
        // Connections without a running handler (protocol servers, or a handler that returned without closing):
        // close them; one that still holds unsent data has a peer that does not read, and the grace is over.
        foreach (ITransport t in _clients.ToArray())
        {
            t.Close();
            if (t.GetWriteBufferSize() > 0)
            {
                t.Abort();
            }
        }
        await WaitClosedAsync();
    }

    /// <summary>Closes the server, closes its clients and waits until they are gone.</summary>
    public async ValueTask DisposeAsync()
    {
        Close();
        CloseClients();
        await WaitClosedAsync();
    }

    // ----------------------------------------------------------------- connections

    /// <summary>A connection was accepted: a <see cref="Socket"/>, or an <see cref="LowLevel.INetworkConnection"/> of the loop's network provider.</summary>
    internal void OnAccepted(object socket)
    {
        ITransport? transport;
        try
        {
            transport = _connect(socket, this);
        }
        catch (Exception e)
        {
            Release(socket);
            _loop.CallExceptionHandler(new ExceptionContext
            {
                Message = $"{this} could not set up an accepted connection (the protocol factory or transport failed); the connection was closed.",
                Exception = e,
                Source = this,
            });
            return;
        }
        if (transport is null)
        {
            Release(socket);
        }
    }

    private static void Release(object connection)
    {
        if (connection is Socket socket)
        {
            socket.Dispose();
        }
        else
        {
            ((INetworkConnection)connection).Close();
        }
    }

    internal void Attach(ITransport transport) => _clients.Add(transport);

    internal void Detach(ITransport transport)
    {
        _clients.Remove(transport);
        WakeWaiters();
    }

    /// <summary>The handler tasks of a stream server (one per connection), owned by the server until they end.</summary>
    internal TaskOwner Handlers => _handlers;

    private void WakeWaiters()
    {
        // Waiters re-check their own condition (closed and drained, or no handler left during a shutdown).
        if (_closedWaiters.Count > 0)
        {
            _closedWaiters.UnparkAll();
        }
    }

    /// <summary>asyncio-style: <c>&lt;Server sockets=(127.0.0.1:8888) serving clients=2&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _closed ? "closed" : _serving ? "serving" : "not serving";
        return $"<Server sockets=({string.Join(", ", _endPoints.Select(e => e.ToString()))}) {state} clients={_clients.Count}>";
    }
}
