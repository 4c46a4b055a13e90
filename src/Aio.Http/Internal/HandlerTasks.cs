using Aio.LowLevel;

namespace Aio.Http.Internal;

/// <summary>
/// Owns the handler tasks of one server: starts one Aio task per request and knows how many run, so a shutdown
/// can wait for them. The one place that creates them (public API only: EventLoop.CreateTask with a static body).
/// </summary>
internal sealed class HandlerTasks
{
    private static readonly Func<HttpConnection, AioTask<bool>> s_body = static c => c.RunAsync();

    private readonly EventLoop _loop;
    private readonly ParkingLot _idleWaiters;
    private int _running;

    public HandlerTasks(EventLoop loop)
    {
        _loop = loop;
        _idleWaiters = new ParkingLot(this);
    }

    public int Running => _running;

    public void Start(HttpConnection connection)
    {
        _running++;
        _loop.CreateTask(s_body, connection);
    }

    /// <summary>Called by the task itself as its last act.</summary>
    public void Finished()
    {
        if (--_running == 0)
        {
            _idleWaiters.UnparkAll();
        }
    }

    /// <summary>Waits until no handler task runs.</summary>
    public async Task WaitIdleAsync()
    {
        while (_running > 0)
        {
            await _idleWaiters.ParkAsync();
        }
    }

    public override string ToString() => $"<HandlerTasks running:{_running}>";
}
