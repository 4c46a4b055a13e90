using Aio.Internal;
using System.Runtime.CompilerServices;

namespace Aio;

/// <summary>
/// asyncio's module-level functions: <c>using static Aio.Asyncio;</c> makes C# read like Python
/// (<c>Run(main)</c>, <c>await Sleep(1)</c>, <c>await Gather(a, b)</c>). Everything but
/// <see cref="Run(Func{Task}, bool?)"/> and <c>RunCoroutineThreadSafe</c>
/// works on the loop running on the calling thread.
/// </summary>
public static partial class Asyncio
{
    /// <summary>
    /// Runs <paramref name="main"/> on a new event loop until it completes, then cancels and awaits every
    /// task still pending, closes the loop, and returns (asyncio's <c>run</c>). Blocks the calling thread.
    /// Ctrl+C (SIGINT) or SIGTERM cancels <paramref name="main"/>, then throws <see cref="KeyboardInterrupt"/>;
    /// a second Ctrl+C ends the process at once. A <see cref="KeyboardInterrupt"/> the program does not catch ends
    /// the process with one line on standard error and exit code 130 (143 for SIGTERM), as in Python.
    /// </summary>
    /// <param name="main">The program's main coroutine.</param>
    /// <param name="debug">Debug mode for the loop; null follows <c>AIO_DEBUG</c>.</param>
    /// <exception cref="InvalidOperationException">A loop is already running on this thread.</exception>
    public static void Run(Func<Task> main, bool? debug = null)
    {
        using var runner = new Runner(debug);
        runner.Run(main);
    }

    /// <summary>Runs <paramref name="main"/> on a new event loop and returns its result; see <see cref="Run(Func{Task}, bool?)"/>.</summary>
    public static T Run<T>(Func<Task<T>> main, bool? debug = null)
    {
        using var runner = new Runner(debug);
        return runner.Run(main);
    }

    /// <summary>
    /// Runs the coroutine <paramref name="main"/> – <c>Run(async () =&gt; { … })</c> binds here – on a new event loop;
    /// see <see cref="Run(Func{Task}, bool?)"/>. The lambda is an <c>async AioTask</c> coroutine: every step of it
    /// runs on the loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <param name="main">Creates the main coroutine: an <c>async</c> lambda, or <c>() =&gt; MainAsync()</c> for an <c>async AioTask</c> method.</param>
    /// <param name="debug">Debug mode for the loop; null follows <c>AIO_DEBUG</c>.</param>
    /// <exception cref="InvalidOperationException">A loop is already running on this thread.</exception>
    [OverloadResolutionPriority(1)]
    public static void Run(Func<AioTask> main, bool? debug = null)
    {
        using var runner = new Runner(debug);
        runner.Run(main);
    }

    /// <summary>Runs the coroutine <paramref name="main"/> on a new event loop and returns its result; see <see cref="Run(Func{AioTask}, bool?)"/>.</summary>
    [OverloadResolutionPriority(1)]
    public static T Run<T>(Func<AioTask<T>> main, bool? debug = null)
    {
        using var runner = new Runner(debug);
        return runner.Run(main);
    }

    /// <summary>
    /// Suspends the current task for <paramref name="seconds"/> of loop time. 0 or less yields to the
    /// loop for exactly one iteration. Allocates nothing. Await it at once.
    /// </summary>
    /// <exception cref="ArgumentException">The delay is NaN.</exception>
    /// <exception cref="CancelledError">The task's scope is (or gets) cancelled.</exception>
    public static ValueTask Sleep(double seconds)
    {
        if (double.IsNaN(seconds))
        {
            ThrowHelper.NaNDelay(nameof(seconds));
        }
        AioTask task = CurrentTaskOrThrow(nameof(Sleep));
        return seconds <= 0
            ? task.Sleep(0, yieldOnly: true)
            : task.Sleep(task.Loop.Time() + seconds, yieldOnly: false);
    }

    /// <summary>Suspends the current task for <paramref name="delay"/> of loop time; see <see cref="Sleep(double)"/>.</summary>
    public static ValueTask Sleep(TimeSpan delay) => Sleep(delay.TotalSeconds);

    /// <summary>Yields to the loop for exactly one iteration (same as <c>Sleep(0)</c>).</summary>
    public static ValueTask Yield() => CurrentTaskOrThrow(nameof(Yield)).Sleep(0, yieldOnly: true);

    /// <summary>Creates a task on the running loop; its body starts on the next iteration (asyncio's <c>create_task</c>).</summary>
    public static AioTask<T> CreateTask<T>(Func<Task<T>> body, string? name = null) => EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, name);

    /// <summary>Creates a task with no result on the running loop; its body starts on the next iteration.</summary>
    public static AioTask CreateTask(Func<Task> body, string? name = null) => EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, name);

    /// <summary>Creates a task whose body takes <paramref name="state"/>; with a static lambda, no closure is allocated.</summary>
    public static AioTask<T> CreateTask<TState, T>(Func<TState, Task<T>> body, TState state, string? name = null) =>
        EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, state, name);

    /// <summary>
    /// Creates a task from a coroutine body on the running loop – <c>CreateTask(async () =&gt; { … })</c> binds here –
    /// and schedules its first step for the next iteration (asyncio's <c>create_task</c>). The lambda is an
    /// <c>async AioTask</c> coroutine: every step of it runs on the loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread, or <paramref name="body"/> returned a task that has already started.</exception>
    [OverloadResolutionPriority(1)]
    public static AioTask CreateTask(Func<AioTask> body, string? name = null) => EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, name);

    /// <summary>Creates a task from a coroutine body with a result on the running loop; see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    [OverloadResolutionPriority(1)]
    public static AioTask<T> CreateTask<T>(Func<AioTask<T>> body, string? name = null) => EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, name);

    /// <summary>Creates a task from a coroutine body that takes <paramref name="state"/> (a static lambda allocates no closure); see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    [OverloadResolutionPriority(1)]
    public static AioTask<T> CreateTask<TState, T>(Func<TState, AioTask<T>> body, TState state, string? name = null) =>
        EventLoop.RunningLoopFor(nameof(CreateTask)).CreateTask(body, state, name);

    /// <summary>The task running now on this thread's loop, or null outside a task.</summary>
    /// <exception cref="InvalidOperationException">No loop is running on this thread.</exception>
    public static AioTask? CurrentTask() => EventLoop.RunningLoopFor(nameof(CurrentTask)).CurrentTask;

    /// <summary>Every task of the running loop that is not done yet.</summary>
    public static IReadOnlyCollection<AioTask> AllTasks() => EventLoop.RunningLoopFor(nameof(AllTasks)).AllTasks();

    /// <summary>
    /// The innermost cancel scope's token for the current task: cancelled when that scope (or the task) is
    /// cancelled. Pass it to foreign APIs (<c>HttpClient</c>, <c>Stream</c>) so they stop with the task.
    /// <see cref="CancellationToken.None"/> outside a task.
    /// </summary>
    public static CancellationToken CurrentToken
    {
        get
        {
            AioTask? task = EventLoop.TryGetRunningLoop()?.CurrentTaskInternal;
            if (task is null)
            {
                return CancellationToken.None;
            }
            return task._innermost is { } scope ? scope.Token : task.RootToken;
        }
    }

    internal static AioTask CurrentTaskOrThrow(string member)
    {
        EventLoop? loop = EventLoop.TryGetRunningLoop();
        if (loop is null)
        {
            ThrowHelper.NoRunningLoop(member);
        }
        AioTask? task = loop.CurrentTaskInternal;
        if (task is null)
        {
            ThrowHelper.NotInTask(member);
        }
        return task;
    }
}
