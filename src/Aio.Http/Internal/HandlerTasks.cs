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

    public HandlerTasks(EventLoop loop) => _loop = loop;

    /// <summary>Handler tasks not done yet.</summary>
    public int Running => _owner.Count;

    public void Start(HttpConnection connection) => _owner.Adopt(_loop.CreateTask(s_body, connection));

    /// <summary>Waits until no handler task runs.</summary>
    public ValueTask WaitIdleAsync() => _owner.WaitAllAsync();

    public override string ToString() => $"<HandlerTasks running:{Running}>";
}
