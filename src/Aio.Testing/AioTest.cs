using System.Text;
using Aio.LowLevel;

namespace Aio.Testing;

/// <summary>
/// Helpers for testing code that runs on Aio: run a test body on a fresh loop with virtual time, wait
/// until every other task is blocked, and fail a test that leaves tasks, callbacks or unobserved
/// exceptions behind (uvloop's test base, Trio's <c>MockClock(autojump_threshold=0)</c>).
/// </summary>
public static class AioTest
{
    /// <summary>
    /// Runs <paramref name="body"/> on a new loop (virtual time with autojump unless
    /// <paramref name="virtualTime"/> is false) and closes it. Throws <see cref="AioTestFailureException"/> if the
    /// body leaves tasks pending or an error reaches the loop's exception handler (a failing callback, a
    /// task exception nobody retrieved); rethrows the body's own exception.
    /// </summary>
    public static void Run(Func<Task> body, bool virtualTime = true, string? poller = null) =>
        Run(async () => { await body(); return true; }, virtualTime, poller);

    /// <summary>Runs <paramref name="body"/> like <see cref="Run(Func{Task}, bool, string?)"/> and returns its result.</summary>
    public static T Run<T>(Func<Task<T>> body, bool virtualTime = true, string? poller = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        IClock clock = virtualTime ? new VirtualClock() : MonotonicClock.Instance;
        var loop = new EventLoop(clock, poller);
        return RunOn(loop, body);
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="loop"/> with the checks of <see cref="Run(Func{Task}, bool, string?)"/>, then closes the loop.</summary>
    public static T RunOn<T>(EventLoop loop, Func<Task<T>> body) => RunOn(loop, body, null);

    /// <summary>
    /// <see cref="RunOn{T}(EventLoop, Func{Task{T}})"/>, telling <paramref name="onError"/> of each error as it reaches the
    /// loop's exception handler (<see cref="LoopTestRunner"/> writes them to the test's output).
    /// </summary>
    internal static T RunOn<T>(EventLoop loop, Func<Task<T>> body, Action<ExceptionContext>? onError)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(body);
        var errors = new List<ExceptionContext>();
        loop.ExceptionHandler = (_, context) =>
        {
            errors.Add(context);
            onError?.Invoke(context);
        };
        T result;
        try
        {
            result = loop.RunUntilComplete(body);
            IReadOnlyCollection<AioTask> leftovers = loop.AllTasks();
            if (leftovers.Count > 0)
            {
                string names = string.Join(", ", leftovers);
                loop.CancelAllTasks();
                throw new AioTestFailureException(AioTestFailureKind.LeakedTasks, $"The test body returned with {leftovers.Count} task(s) still pending: {names}. Await or cancel every task you start.", null);
            }
            if (loop.ReadyCount() > 0)
            {
                throw new AioTestFailureException(AioTestFailureKind.LeftoverCallbacks, $"The test body returned with {loop.ReadyCount()} callback(s) still scheduled.", null);
            }
        }
        finally
        {
            if (loop.HasUnreportedExceptions())
            {
                // A failed task whose exception nobody retrieved: collect it so its report arrives before Close.
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            if (!loop.IsClosed && !loop.IsRunning)
            {
                try
                {
                    loop.RunOnce();   // deliver reports posted by finalizers
                }
                catch (DeadlockDetectedException)
                {
                    // The run ended in a hang (that exception is on its way out); Close reports the stuck tasks.
                }
                loop.Close();
            }
        }
        if (errors.Count > 0)
        {
            var text = new StringBuilder($"{errors.Count} error(s) reached the loop's exception handler:");
            foreach (ExceptionContext c in errors)
            {
                text.Append('\n').Append(c);
            }
            throw new AioTestFailureException(AioTestFailureKind.UnobservedErrors, text.ToString(), errors[0].Exception);
        }
        return result;
    }

    /// <summary>
    /// Returns once every other task of the running loop is blocked (parked in an Aio wait or sleeping)
    /// and nothing is ready to run; virtual time does not move meanwhile (Trio's <c>wait_all_tasks_blocked</c>).
    /// </summary>
    public static async Task WaitAllTasksBlocked()
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        AioTask self = Asyncio.CurrentTask() ?? throw new InvalidOperationException($"{nameof(WaitAllTasksBlocked)} must be awaited inside an AioTask on the loop thread.");
        while (true)
        {
            await Asyncio.Yield();
            if (loop.ReadyCount() == 0 && loop.AllTasks().All(t => ReferenceEquals(t, self) || t.IsBlockedInAio()))
            {
                return;
            }
        }
    }
}

/// <summary>What made a test on Aio fail (<see cref="AioTestFailureException.Kind"/>).</summary>
public enum AioTestFailureKind
{
    /// <summary>Not one of the checks below (the exception was created without a kind).</summary>
    Other,

    /// <summary>The test body returned with tasks still pending.</summary>
    LeakedTasks,

    /// <summary>The test body returned with callbacks still scheduled.</summary>
    LeftoverCallbacks,

    /// <summary>Errors reached the loop's exception handler: a task exception nobody retrieved, a failing callback.</summary>
    UnobservedErrors,

    /// <summary>The loop's hang detector found that no pending task can ever wake.</summary>
    Hang,

    /// <summary>The test ran past its deadline in loop time.</summary>
    Timeout,
}

/// <summary>A test on Aio failed a check of <see cref="AioTest"/> or <see cref="LoopTestRunner"/>: leftovers, errors the loop reported, a hang or a timeout.</summary>
public sealed class AioTestFailureException : Exception
{
    /// <summary>Creates the failure of the check <paramref name="kind"/>, with the first error (if any) as inner exception.</summary>
    public AioTestFailureException(AioTestFailureKind kind, string message, Exception? innerException) : base(message, innerException) => Kind = kind;

    /// <summary>Which check failed.</summary>
    public AioTestFailureKind Kind { get; }

    /// <summary>Creates the failure.</summary>
    public AioTestFailureException(string message) : base(message) { }

    /// <summary>Creates the failure with the first error as inner exception.</summary>
    public AioTestFailureException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the failure with a default message.</summary>
    public AioTestFailureException() : base("An Aio test check failed.") { }
}
