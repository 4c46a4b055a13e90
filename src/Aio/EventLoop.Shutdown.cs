namespace Aio;

public sealed partial class EventLoop
{
    private readonly List<Func<Task>> _shutdownHooks = new();

    /// <summary>Registers work the runner awaits after cancelling the leftover tasks and before closing the loop (the executor's shutdown, say).</summary>
    internal void AddShutdownHook(Func<Task> hook) => _shutdownHooks.Add(hook);

    /// <summary>Runs the shutdown hooks on the loop, in registration order; a failing hook is reported and the others still run.</summary>
    internal void RunShutdownHooks()
    {
        foreach (Func<Task> hook in _shutdownHooks)
        {
            try
            {
                RunUntilComplete(hook);
            }
            catch (Exception e)
            {
                CallExceptionHandler(new ExceptionContext { Message = "Error during loop shutdown", Exception = e, Source = hook });
            }
        }
        _shutdownHooks.Clear();
    }
}
