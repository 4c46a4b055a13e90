using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Aio.Internal;

/// <summary>
/// Every error message of the core in one place, so hot methods stay small and the wording can be
/// reviewed as a set. Each message says what happened, on which object, and what to do.
/// </summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void WrongThread(EventLoop loop, string member) =>
        throw new InvalidOperationException(
            (LeftTheLoop(loop) is { } left ? $"{member} was called on thread-pool thread {Environment.CurrentManagedThreadId}, " + left :
            $"{member} was called from thread {Environment.CurrentManagedThreadId}, but {loop} belongs to thread " +
            $"{loop.OwnerThreadId}. ") +
            "Loop objects are not thread-safe: from another thread use loop.CallSoonThreadSafe or Asyncio.RunCoroutineThreadSafe.");

    /// <summary>
    /// For a call from a thread-pool thread while <paramref name="loop"/> (or, when null, some loop) runs on another
    /// thread: the sentence that says so and names the usual cause and the cure; null otherwise.
    /// </summary>
    private static string? LeftTheLoop(EventLoop? loop)
    {
        if (!Thread.CurrentThread.IsThreadPoolThread || (loop is null ? !EventLoop.AnyLoopRunning : !loop.IsRunning))
        {
            return null;
        }
        string which = loop is null ? "an event loop" : loop.ToString();
        return $"but {which} runs on another thread, and loop objects are used only on their loop's thread. The usual cause: " +
            "an 'await ….ConfigureAwait(false)' or a 'Task.Run' inside a Func<Task> body moved the rest of the body to the thread pool. " +
            "The cure: write the code as an 'async AioTask' coroutine (it always resumes on its loop), and leave out " +
            "ConfigureAwait(false) in code that uses the loop. ";
    }
    [DoesNotReturn]
    public static void BlockingWaitOnLoopThread(EventLoop loop, string what) =>
        throw new InvalidOperationException(
            $"{what} was waited for synchronously (Wait(), .Result or GetAwaiter().GetResult()) on the thread that runs {loop}. " +
            "Only that loop can complete it, and the loop cannot run while its own thread waits: the wait would never end. " +
            "Await it instead ('await task'; on the loop thread, never block), or wait for it from another thread.");

    [DoesNotReturn]
    public static void LoopClosed(string member) =>
        throw new InvalidOperationException($"EventLoop is closed; {member} cannot be used. Create a new EventLoop.");

    [DoesNotReturn]
    public static void LoopAlreadyRunning() =>
        throw new InvalidOperationException("This event loop is already running; a loop cannot be run re-entrantly. Await the work instead.");

    [DoesNotReturn]
    public static void AnotherLoopRunning() =>
        throw new InvalidOperationException(
            "Cannot run the event loop while another loop is running on this thread. Await the work on the running loop instead.");

    [DoesNotReturn]
    public static void CloseWhileRunning() =>
        throw new InvalidOperationException("Cannot close a running event loop; call Stop() and wait for RunForever to return first.");

    [DoesNotReturn]
    public static void StoppedBeforeComplete() =>
        throw new InvalidOperationException("Event loop stopped before the task completed (Stop() was called while RunUntilComplete was waiting).");

    [DoesNotReturn]
    public static void NoRunningLoop(string member) =>
        throw new InvalidOperationException(LeftTheLoop(null) is { } left
            ? $"{member} was called on thread-pool thread {Environment.CurrentManagedThreadId}, with no running event loop on this thread, " + left +
              "To hand work to the loop from another thread on purpose, use loop.CallSoonThreadSafe or Asyncio.RunCoroutineThreadSafe."
            : $"{member} needs a running event loop on this thread, and there is none. Start one with Asyncio.Run(main) or loop.RunUntilComplete(main).");

    public static InvalidOperationException StaleAioWait(AioTask task) =>
        new($"{task}: an Aio ValueTask was awaited twice, or after its wait had ended; await each Aio operation once, at once.");

    [DoesNotReturn]
    public static EventLoop NoLoopForCoroutine() =>
        throw new InvalidOperationException(LeftTheLoop(null) is { } left
            ? $"An async AioTask method was called on thread-pool thread {Environment.CurrentManagedThreadId}, with no event loop running on this thread, " + left +
              "To start a coroutine on the loop from another thread on purpose, use Asyncio.RunCoroutineThreadSafe."
            : "An async AioTask method was called with no event loop running on this thread: calling it creates a task, and a task needs " +
            "a running loop. Call it from code the loop runs (a task or a callback), or start it with Asyncio.Run(async () => await Method()).");

    [DoesNotReturn]
    public static void NotANewCoroutine(AioTask? task, EventLoop loop) =>
        throw new InvalidOperationException(
            $"The body passed to CreateTask returned {(task is null ? "null" : task.ToString())}, not a new task of {loop}: it has already started, " +
            "belongs to another loop or a TaskGroup, or is missing. Pass a body that creates the coroutine – async () => { ... } or () => Work() – " +
            "or await the existing task instead.");

    [DoesNotReturn]
    public static void NotInTask(string member) =>
        throw new InvalidOperationException(
            $"{member} must be awaited inside an AioTask on its loop (Asyncio.Run, loop.CreateTask or RunUntilComplete start one).");

    [DoesNotReturn]
    public static void FutureNotDone(AioFuture future) =>
        throw new InvalidStateError($"{future} is not done yet; await it or check Done first.");

    [DoesNotReturn]
    public static void FutureAlreadyDone(AioFuture future) =>
        throw new InvalidStateError($"{future} is already done; a future's result can be set only once.");

    [DoesNotReturn]
    public static void TaskResultSet(AioFuture task) =>
        throw new InvalidOperationException($"{task} is a task: its result comes from its body and cannot be set from outside.");

    [DoesNotReturn]
    public static void AwaitSelf(AioFuture task) =>
        throw new InvalidOperationException($"{task} cannot await itself: it would wait forever.");

    [DoesNotReturn]
    public static void OtherLoop(AioFuture future, EventLoop current) =>
        throw new InvalidOperationException($"{future} belongs to {future.Loop}, not to the running loop {current}; await it on its own loop.");

    [DoesNotReturn]
    public static void NaNDelay(string paramName) =>
        throw new ArgumentException("A delay or timeout cannot be NaN; pass a number of seconds (0 or more).", paramName);

    [DoesNotReturn]
    public static void ScopeNotInnermost(CancelScope scope) =>
        throw new InvalidOperationException(
            $"{scope} is being exited while a scope entered after it is still open. Cancel scopes are lexical: await RunAsync at once, do not keep its Task for later.");

    [DoesNotReturn]
    public static void ScopeReused(CancelScope scope) =>
        throw new InvalidOperationException($"{scope} has already been entered; a CancelScope can be run only once. Create a new one.");

    [DoesNotReturn]
    public static void ExecutorShutDown(EventLoop loop) =>
        throw new InvalidOperationException(
            $"The default executor of {loop} is shut down; RunInExecutor and ToThread cannot start new work. " +
            "Submit work before the loop shuts down, or run it on a new loop.");

    [DoesNotReturn]
    public static void UncatchableSignal(PosixSignal signal) =>
        throw new ArgumentException(
            $"Signal {DescribeSignal(signal)} cannot be caught (SIGKILL and SIGSTOP never reach a handler); pick another signal.", nameof(signal));

    [DoesNotReturn]
    public static void SignalsNotSupported(PosixSignal signal, Exception inner) =>
        throw new PlatformNotSupportedException(
            $"Cannot handle signal {DescribeSignal(signal)} on this platform ({RuntimeInformation.OSDescription}): {inner.Message}", inner);

    /// <summary>A signal's conventional name (SIGINT, SIGTERM, …) for messages.</summary>
    public static string DescribeSignal(PosixSignal signal) => (int)signal switch
    {
        < 0 => signal.ToString(),
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        12 => "SIGUSR2",
        15 => "SIGTERM",
        19 => "SIGSTOP",
        int n => $"signal {n}",
    };
}
