using Aio.LowLevel;

namespace Aio.Http.Internal;

/// <summary>
/// Owns the handler tasks of one server: starts one Aio task per request (the one place that creates them) and
/// keeps it in an <see cref="TaskOwner"/> until it is done, so a shutdown can wait for the requests in flight.
/// </summary>
internal sealed class HandlerTasks
{
    private static readonly Func<HttpConnection, AioTask<bool>> s_body = static c => c.RunAsync();

    private readonly EventLoop _loop;
    private readonly TaskOwner _owner = new("http handlers");
    private readonly TaskOwner _helpers = new("websocket helpers");   // a WebSocket's going-away close, a broadcast group's senders

    public HandlerTasks(EventLoop loop) => _loop = loop;

    /// <summary>Handler tasks not done yet.</summary>
    public int Running => _owner.Count;

    public void Start(HttpConnection connection) => _owner.Adopt(_loop.CreateTask(s_body, connection));

    /// <summary>Keeps a helper task of a request (it ends with the request's connection); a shutdown waits for it too.</summary>
    public void Adopt(AioTask task) => _helpers.Adopt(task);

    /// <summary>The end of a shutdown's grace: cancels the helper tasks left.</summary>
    public void CancelHelpers(string message) => _helpers.CancelAll(message);

    /// <summary>Waits until no handler (or helper) task runs.</summary>
    public async ValueTask WaitIdleAsync()
    {
        await _owner.WaitAllAsync();
        await _helpers.WaitAllAsync();
    }

    public override string ToString() => $"<HandlerTasks running:{Running}>";
}
