using System.Text;
using Aio.LowLevel;

namespace Aio.Http.Internal;

/// <summary>
/// What the connections of one server (or one TestClient) share: the application's chain, the limits, the log, the
/// handler tasks, the registry of open connections with its one-second heartbeat (timeouts), the cached Date field,
/// and the shutdown flag.
/// </summary>
internal sealed class HttpServerCore
{
    /// <summary>The size of a connection's first receive buffer.</summary>
    public const int BufferSize = 4096;
    private const int MaxPooledBuffers = 256;   // 1 MiB kept for reuse at most

    private readonly List<HttpConnection> _connections = new();
    private readonly Stack<byte[]> _buffers = new();   // receive buffers of idle connections, for the next busy one
    private readonly ParkingLot _closedWaiters;
    private TimerHandle? _heartbeat;
    private byte[] _date = [];
    private long _dateSecond = -1;

    public HttpServerCore(Application application, EventLoop loop)
    {
        Application = application;
        Loop = loop;
        Limits = application.Limits;
        Debug = application.Debug;
        Log = new HttpLog(application.LoggerFactory);
        Tasks = new HandlerTasks(loop);
        Pipeline = application.BuildPipeline();
        _closedWaiters = new ParkingLot(this);
    }

    public Application Application { get; }

    public EventLoop Loop { get; }

    public HttpLimits Limits { get; }

    public bool Debug { get; }

    public HttpLog Log { get; }

    public HandlerTasks Tasks { get; }

    public Handler Pipeline { get; }

    public bool IsShuttingDown { get; private set; }

    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// A receive buffer. A connection holds one only while bytes are buffered (an idle keep-alive connection holds
    /// none), so the buffers circulate fast; a pool of the server's own (the loop is single-threaded) keeps that
    /// from allocating, where ArrayPool.Shared runs dry with many connections busy in one iteration.
    /// </summary>
    public byte[] RentBuffer() => _buffers.TryPop(out byte[]? b) ? b : new byte[BufferSize];

    /// <summary>Takes a buffer back: a first-size one into the server's pool, a grown one to ArrayPool.Shared.</summary>
    public void ReturnBuffer(byte[] buffer)
    {
        if (buffer.Length == BufferSize)
        {
            if (_buffers.Count < MaxPooledBuffers)
            {
                _buffers.Push(buffer);
            }
        }
        else
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public bool Register(HttpConnection connection)
    {
        if (IsShuttingDown || (Limits.MaxConcurrentConnections is int max && _connections.Count >= max))
        {
            return false;
        }
        connection.RegistryIndex = _connections.Count;
        _connections.Add(connection);
        if (_heartbeat is null)
        {
            ScheduleHeartbeat();
        }
        return true;
    }

    public void Unregister(HttpConnection connection)
    {
        int i = connection.RegistryIndex;
        if (i < 0)
        {
            return;
        }
        HttpConnection last = _connections[^1];
        _connections[i] = last;
        last.RegistryIndex = i;
        _connections.RemoveAt(_connections.Count - 1);
        connection.RegistryIndex = -1;
        if (_connections.Count == 0)
        {
            _heartbeat?.Cancel();
            _heartbeat = null;
            _closedWaiters.UnparkAll();
        }
    }

    private void ScheduleHeartbeat() => _heartbeat = Loop.CallLater(1.0, static core => core.Heartbeat(), this);

    private void Heartbeat()
    {
        double now = Loop.Time();
        // Backwards: a connection that closes during the walk swaps the last one into its place.
        for (int i = _connections.Count - 1; i >= 0; i--)
        {
            if (i < _connections.Count)
            {
                _connections[i].OnHeartbeat(now);
            }
        }
        if (_connections.Count > 0)
        {
            ScheduleHeartbeat();
        }
        else
        {
            _heartbeat = null;
        }
    }

    /// <summary>"Date: &lt;IMF-fixdate&gt;\r\n", rebuilt at most once a second.</summary>
    public byte[] DateHeader()
    {
        long second = Environment.TickCount64 / 1000;
        if (second != _dateSecond)
        {
            _dateSecond = second;
            _date = Encoding.ASCII.GetBytes("Date: " + DateTime.UtcNow.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "\r\n");
        }
        return _date;
    }

    /// <summary>Shutdown, phase "notify": no new requests; idle connections close now, busy ones after their response.</summary>
    public void BeginShutdown()
    {
        if (IsShuttingDown)
        {
            return;
        }
        IsShuttingDown = true;
        foreach (HttpConnection c in _connections.ToArray())
        {
            c.OnShutdown();
        }
    }

    /// <summary>Shutdown, phase "cancel": cuts off the requests still running.</summary>
    public void CancelRequests()
    {
        foreach (HttpConnection c in _connections.ToArray())
        {
            c.CancelRequest("The server's shutdown grace period ended.");
        }
        Tasks.CancelHelpers("The server's shutdown grace period ended.");
    }

    /// <summary>Waits until every connection is gone.</summary>
    public async Task WaitConnectionsClosedAsync()
    {
        while (_connections.Count > 0)
        {
            await _closedWaiters.ParkAsync();
        }
    }

    public IReadOnlyList<HttpConnection> Connections => _connections;

    public override string ToString() => $"<HttpServerCore connections:{_connections.Count} handlers:{Tasks.Running}{(IsShuttingDown ? " shutting-down" : "")}>";
}
