namespace Aio.LowLevel;

/// <summary>
/// What test harnesses and tools built outside Aio need to see of a loop (Trio's <c>trio.lowlevel</c> and
/// <c>trio.testing</c> are the model): how much is scheduled, whether a task is blocked in an Aio wait, one
/// iteration on demand, and the shutdown sweep <see cref="Asyncio.Run(Func{Task}, bool?)"/> ends with.
/// </summary>
public static class LoopInspection
{
    /// <summary>How many callbacks and task steps are scheduled to run on the next iteration.</summary>
    /// <param name="loop">The loop to inspect (on its thread).</param>
    public static int ReadyCount(this EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        return loop.ReadyCount;
    }

    /// <summary>
    /// Whether <paramref name="task"/> is blocked in an Aio wait (a sleep, a primitive, a future, a
    /// TaskGroup): the loop will wake it. False while it is ready to run or suspended on a foreign await.
    /// </summary>
    /// <param name="task">A task of the running loop.</param>
    public static bool IsBlockedInAio(this AioTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task.IsParked;
    }

    /// <summary>
    /// Runs one iteration without blocking on a loop that is not running (delivers what other threads or
    /// finalizers posted, runs what is ready now).
    /// </summary>
    /// <param name="loop">A loop that is not running, on the calling thread.</param>
    public static void RunOnce(this EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        loop.RunOnceForTests();
    }

    /// <summary>
    /// Whether a future or task of <paramref name="loop"/> failed and its exception was neither retrieved nor reported
    /// yet, so that a report "exception was never retrieved" may still come (from a finalizer once it is collected, or
    /// at <see cref="EventLoop.Close"/>). A harness that wants every such report before it closes the loop forces a
    /// garbage collection only when this is true (a full collection per test is what made a suite slow).
    /// </summary>
    /// <param name="loop">The loop to inspect (any thread).</param>
    public static bool HasUnreportedExceptions(this EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        return loop.HasUnreportedExceptions;
    }

    /// <summary>
    /// Cancels every pending task of a loop that is not running and runs the loop until all of them have
    /// finished; a task that ended with an error instead goes to the exception handler (the sweep
    /// <see cref="Asyncio.Run(Func{Task}, bool?)"/> does when its main task returns).
    /// </summary>
    /// <param name="loop">A loop that is not running, on the calling thread.</param>
    public static void CancelAllTasks(this EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        Runner.CancelAllTasks(loop);
    }
}
