// Server: the listening side (asyncio's Server).
//
// Design note. A server owns one Listener per bound socket and knows every connection it accepted (the
// transports attach themselves when made and detach after ConnectionLost). Close() stops listening and
// leaves the connections alone, as asyncio does; CloseClients()/AbortClients() end them, and for stream
// servers also cancel the handler tasks (each connection's handler runs as a task the server owns).
// WaitClosedAsync() returns once the server is closed and its last connection is gone (asyncio 3.12+).
// ServeForeverAsync() serves until the awaiting task is cancelled, then closes the server and its
// clients: cancelling the task that serves is how a program stops a server and everything under it.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aio.LowLevel;
using Aio.Net.Internal;

namespace Aio;

/// <summary>
/// A listening server made by <see cref="EventLoop.CreateServerAsync"/> or <see cref="Asyncio.StartServerAsync"/>:
/// accepts connections and gives each its own protocol (or stream handler task).
/// </summary>
/// <remarks>Belongs to its loop: use it on the loop's thread only. <c>await using</c> closes it and its clients.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class Server : IAsyncDisposable
{
    private readonly EventLoop _loop;
    private readonly Func<Socket, Server, ITransport?> _connect;   // makes the transport (and protocol) of an accepted socket
    private readonly List<Listener> _listeners;
    private readonly HashSet<ITransport> _clients = new();
    private readonly HashSet<AioTask> _handlers = new();            // stream servers: one handler task per connection
    private readonly ParkingLot _closedWaiters;
    private EndPoint[] _endPoints;
    private bool _serving;
    private bool _closed;
    private AioFuture? _servingForever;          // completed by Close(): ServeForeverAsync then returns

    internal Server(EventLoop loop, List<Listener> listeners, Func<Socket, Server, ITransport?> connect)
    {
        _loop = loop;
        _listeners = listeners;
        _connect = connect;
        _endPoints = listeners.Select(l => l.EndPoint).ToArray();
        _closedWaiters = new ParkingLot(this);
    }

    internal Server(EventLoop loop, Func<Socket, Server, ITransport?> connect)
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
    /// Serves until <see cref="Close"/> is called (then returns) or the calling task is cancelled (then closes
    /// the server, closes its clients – cancelling stream handlers – and rethrows the <see cref="CancelledError"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The server is closed, or another task serves it forever already.</exception>
    public async Task ServeForeverAsync()
    {
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
            Close();
            CloseClients();
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
        WakeIfClosed();
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
        foreach (AioTask h in _handlers.ToArray())
        {
            h.Cancel("The server closed its clients.");
        }
    }

    /// <summary>Waits until the server is closed and every connection it accepted has ended (asyncio 3.12+).</summary>
    public async Task WaitClosedAsync()
    {
        while (!(_closed && _clients.Count == 0 && _handlers.Count == 0))
        {
            await _closedWaiters.ParkAsync();
        }
    }

    /// <summary>Closes the server, closes its clients and waits until they are gone.</summary>
    public async ValueTask DisposeAsync()
    {
        Close();
        CloseClients();
        await WaitClosedAsync();
    }

    // ----------------------------------------------------------------- connections

    internal void OnAccepted(Socket socket)
    {
        ITransport? transport;
        try
        {
            transport = _connect(socket, this);
        }
        catch (Exception e)
        {
            socket.Dispose();
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
            socket.Dispose();
        }
    }

    internal void Attach(ITransport transport) => _clients.Add(transport);

    internal void Detach(ITransport transport)
    {
        _clients.Remove(transport);
        WakeIfClosed();
    }

    internal void AddHandler(AioTask handler)
    {
        _handlers.Add(handler);
        handler.AddDoneCallback(f =>
        {
            _handlers.Remove((AioTask)f);
            WakeIfClosed();
        });
    }

    private void WakeIfClosed()
    {
        if (_closed && _clients.Count == 0 && _handlers.Count == 0)
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
