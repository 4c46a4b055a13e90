// LoopTestRunner: the test-framework-neutral half of Aio.Testing.Xunit's [LoopFact] / [LoopTheory].
//
// Design note. A test body runs as the main task of a fresh loop through AioTest.RunOn, which already fails on
// leftover tasks, leftover callbacks and errors that reached the loop's exception handler. On top of that:
// - the loop's hang detector is on, and a DeadlockDetectedException becomes a Hang failure with its report;
// - a deadline in loop time (virtual by default) becomes a Timeout failure with a dump of the pending tasks.
// The deadline is a loop timer, and a live timer keeps the hang detector quiet, so a deadlocked test would be
// reported as a timeout. Hence two stages: when the deadline timer fires it records the timeout and the task
// dump but does not cancel anything; the cancellation is posted from a thread-pool timer 100 ms (real) later.
// In that gap the loop has no timer of ours: if nothing else can wake it, the hang detector fires and the test
// fails as a hang (the more precise diagnosis); otherwise the post cancels the body and it fails as a timeout.
// On a virtual clock the deadline costs no real time, so a hang costs ~0 real time to find; on a real clock a
// hang is only noticed at the deadline. The post from another thread lands only on failing runs, so a passing
// run stays deterministic.
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Aio.LowLevel;
using Microsoft.Extensions.Logging;

namespace Aio.Testing;

/// <summary>How <see cref="LoopTestRunner"/> runs a test body.</summary>
public sealed class LoopTestOptions
{
    /// <summary>Run on the real monotonic clock instead of a <see cref="VirtualClock"/> with autojump (the default, false).</summary>
    public bool RealTime { get; set; }

    /// <summary>
    /// The test's deadline in seconds of loop time (virtual unless <see cref="RealTime"/>); 60 by default. A body
    /// still running then fails the test with a dump of its pending tasks. Zero, a negative number or infinity: no deadline.
    /// </summary>
    public double Timeout { get; set; } = 60;

    /// <summary>Turn the loop's hang detector on (the default, true): a deadlock fails the test with a report of who waits for what.</summary>
    public bool HangDetection { get; set; } = true;

    /// <summary>The I/O back end (<c>"epoll"</c>, <c>"portable"</c>, ...), or null for the platform's default.</summary>
    public string? Poller { get; set; }

    /// <summary>
    /// Where the run writes its lines: the loop's log (<see cref="EventLoop.Logger"/>) and every error that reaches the
    /// loop's exception handler, as it happens. Null: nowhere. Called on the loop thread.
    /// </summary>
    public Action<string>? Output { get; set; }
}

/// <summary>
/// Runs a test body (a delegate, or a test method found by reflection) as the main task of a fresh loop and turns
/// everything that should fail a test into one <see cref="AioTestFailureException"/> with a clear message and a
/// <see cref="AioTestFailureException.Kind"/>: tasks left pending, errors that reached the loop's exception handler
/// (a task exception nobody retrieved, a failing callback), a hang found by the loop's hang detector, and a deadline
/// in loop time. The body's own exception is rethrown unchanged. Test-framework adapters (Aio.Testing.Xunit's
/// <c>[LoopFact]</c>) are thin layers over it.
/// </summary>
public static class LoopTestRunner
{
    private const double ForeignWaitThreshold = 2.0;   // real seconds a foreign wait gets before virtual time jumps

    /// <summary>Runs <paramref name="body"/> on a fresh loop with the checks described on <see cref="LoopTestRunner"/>.</summary>
    /// <exception cref="AioTestFailureException">The body left work behind, hung, ran past its deadline or let an error reach the exception handler.</exception>
    public static void Run(Func<Task> body, LoopTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        Run(async () => { await body(); return true; }, options);
    }

    /// <summary>Runs <paramref name="body"/> like <see cref="Run(Func{Task}, LoopTestOptions?)"/> and returns its value.</summary>
    /// <exception cref="AioTestFailureException">The body left work behind, hung, ran past its deadline or let an error reach the exception handler.</exception>
    public static T Run<T>(Func<Task<T>> body, LoopTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        options ??= new LoopTestOptions();
        // The deadline is a timer, so a virtual clock that gives up on a slow foreign wait (a Task.Run on a busy thread
        // pool) would jump straight to it and fail the test as a timeout: a test gets 2 s of real time per foreign
        // wait instead of the loop's default 0.25 s.
        IClock clock = options.RealTime ? MonotonicClock.Instance : new VirtualClock { ForeignWaitThreshold = ForeignWaitThreshold };
        var loop = new EventLoop(clock, options.Poller) { HangDetection = options.HangDetection };
        Action<string>? output = options.Output;
        if (output is not null)
        {
            loop.Logger = new OutputLogger(output);
        }
        var deadline = new Deadline(loop, options);
        SynchronizationContext? outer = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);   // the loop, not the test framework, runs the body
        try
        {
            return AioTest.RunOn(loop, () => deadline.RunAsync(body), output is null ? null : c => output($"Loop exception handler: {c}"));
        }
        catch (DeadlockDetectedException e)
        {
            string found = deadline.TimedOut ? $" (found when its {deadline.Describe()} deadline fired at t={Format(deadline.TimedOutAt)} and left no timer armed)" : "";
            throw new AioTestFailureException(AioTestFailureKind.Hang,
                $"The test hung: every pending task waits for something that nothing can deliver any more{found}. Fix the waits in this report:\n{e.Report}", e);
        }
        finally
        {
            deadline.Dispose();
            SynchronizationContext.SetSynchronizationContext(outer);
        }
    }

    /// <summary>
    /// Runs the test method <paramref name="method"/> on <paramref name="instance"/> (null for a static method) with
    /// <paramref name="arguments"/> as the main task of a fresh loop. The method may return <see cref="Task"/>,
    /// <see cref="ValueTask"/> (generic or not), an <see cref="AioFuture"/> / <see cref="AioTask"/>, or nothing
    /// (a synchronous method runs on the loop thread); <c>async void</c> is refused because it cannot be awaited.
    /// </summary>
    /// <exception cref="AioTestFailureException">See <see cref="Run(Func{Task}, LoopTestOptions?)"/>.</exception>
    /// <exception cref="NotSupportedException">The method is <c>async void</c> or returns something that cannot be awaited.</exception>
    public static void RunMethod(MethodInfo method, object? instance, object?[]? arguments, LoopTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        CheckReturnType(method);
        Run(() => AwaitResult(method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, arguments, CultureInfo.InvariantCulture)), options);
    }

    private static void CheckReturnType(MethodInfo method)
    {
        Type r = method.ReturnType;
        if (r == typeof(void))
        {
            if (method.GetCustomAttribute<AsyncStateMachineAttribute>() is not null)
            {
                throw new NotSupportedException($"The test method {method.DeclaringType?.Name}.{method.Name} is 'async void', which cannot be awaited: return Task or AioTask instead.");
            }
            return;
        }
        if (typeof(Task).IsAssignableFrom(r) || typeof(AioFuture).IsAssignableFrom(r) || r == typeof(ValueTask)
            || (r.IsGenericType && r.GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            return;
        }
        throw new NotSupportedException($"The test method {method.DeclaringType?.Name}.{method.Name} returns {r.Name}, which a loop test cannot await: return void, Task, ValueTask or AioTask.");
    }

    private static Task AwaitResult(object? result) => result switch
    {
        null => Task.CompletedTask,
        Task t => t,
        ValueTask vt => vt.AsTask(),
        AioFuture f => AwaitFuture(f),
        _ => (Task)result.GetType().GetMethod(nameof(ValueTask<int>.AsTask))!.Invoke(result, null)!,   // ValueTask<T>
    };

    private static async Task AwaitFuture(AioFuture future) => await future;

    private static string Format(double t) => t.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The test's deadline in loop time; see the design note at the top of the file.</summary>
    private sealed class Deadline(EventLoop loop, LoopTestOptions options) : IDisposable
    {
        private readonly double _seconds = options.Timeout;
        private CancelScope? _scope;
        private Timer? _post;
        private string _dump = "";

        public bool TimedOut { get; private set; }

        public double TimedOutAt { get; private set; }

        public string Describe() => $"{Format(_seconds)} s {(options.RealTime ? "real" : "virtual")}-time";

        public async Task<T> RunAsync<T>(Func<Task<T>> body)
        {
            if (!(_seconds > 0) || double.IsPositiveInfinity(_seconds))
            {
                return await body();
            }
            _scope = new CancelScope();
            TimerHandle timer = loop.CallLater(_seconds, OnDeadline);
            T value;
            try
            {
                value = await _scope.RunAsync(body, default!);
            }
            catch (Exception e) when (TimedOut)
            {
                throw TimeoutFailure(e);
            }
            finally
            {
                timer.Cancel();
            }
            if (TimedOut)
            {
                throw TimeoutFailure(null);
            }
            return value;
        }

        private AioTestFailureException TimeoutFailure(Exception? inner) => new(AioTestFailureKind.Timeout,
            $"The test did not finish within its {Describe()} deadline (LoopTimeout): it was still running at t={Format(TimedOutAt)}" +
            $" and was cancelled. Make it finish sooner or raise LoopTimeout. Tasks at the deadline:\n{_dump}", inner);

        private void OnDeadline()
        {
            TimedOut = true;
            TimedOutAt = loop.Time();
            _dump = loop.DumpTasks();
            if (!loop.HangDetection)
            {
                _scope!.Cancel($"the test's {Describe()} deadline passed");
                return;
            }
            // Leave the loop without a timer of ours for a moment: a deadlock is reported as a hang meanwhile.
            _post = new Timer(static s =>
            {
                var self = (Deadline)s!;
                try
                {
                    self.CancelFromThread();
                }
                catch (InvalidOperationException)
                {
                    // The loop closed meanwhile (the hang detector ended the run): nothing left to cancel.
                }
            }, this, TimeSpan.FromMilliseconds(100), System.Threading.Timeout.InfiniteTimeSpan);
        }

        private void CancelFromThread() => loop.CallSoonThreadSafe(() => _scope!.Cancel($"the test's {Describe()} deadline passed"));

        public void Dispose() => _post?.Dispose();
    }

    /// <summary>Writes the loop's log records as lines to the run's output.</summary>
    private sealed class OutputLogger(Action<string> output) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            string line = $"[{logLevel} {eventId.Id}] {formatter(state, exception)}";
            output(exception is null ? line : $"{line}\n{exception}");
        }
    }
}
