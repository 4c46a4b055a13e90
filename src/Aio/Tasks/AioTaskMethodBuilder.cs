// Coroutines: `async AioTask` and `async AioTask<T>` methods.
//
// Design note. Calling such a method is asyncio's `create_task(coro())`: it returns a pending task at
// once and the body starts on the loop's next iteration. The builder makes the task itself the box of
// the compiler's state machine: Start copies the state machine into a CoroutineTask (no Task, no
// delegate body, no separate box; an `async AioTask` method's box is a CoroutineTask<NoResult, …>) and
// queues its first step. A coroutine parked on an Aio wait hands the wait a static step and is woken as
// a CoroutineStep ring item; any other awaiter gets one Action per task that runs MoveNext as a step of
// the task on the loop thread – from any other thread, or from outside the task's step, it posts the
// step instead, so even ConfigureAwait(false) cannot move a coroutine off its loop. A coroutine normally
// belongs to the loop running on the calling thread; a loop that creates a task from a coroutine body
// before it runs (loop.CreateTask(async () => …), Runner.Run) names itself in a thread-static that the
// builder reads only when no loop is running. SetResult and
// SetException finish the task inside its last step. The ExecutionContext flows as with any async
// method: captured when the task is created and at each suspension, restored around each step, and the
// context the step was entered in is put back afterwards.
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;

namespace Aio;

/// <summary>
/// The async method builder of <c>async AioTask</c> methods (used by the compiler, not called directly):
/// calling such a method creates a task on the running loop whose body starts on the next iteration.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct AioTaskMethodBuilder
{
    private AioTask? _task;

    /// <summary>Creates a builder (compiler use).</summary>
    public static AioTaskMethodBuilder Create() => default;

    /// <summary>The task the method returns.</summary>
    public readonly AioTask Task => _task!;

    /// <summary>Creates the task around <paramref name="stateMachine"/> and schedules its first step (compiler use).</summary>
    /// <exception cref="InvalidOperationException">No event loop is running on this thread.</exception>
    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        EventLoop loop = Coroutines.RunningLoop(out ExecutionContext? flow);
        var task = new CoroutineTask<NoResult, TStateMachine>(loop, flow);
        _task = task;                     // set before the state machine is copied: the copy's builder points at the task
        task.Launch(ref stateMachine);
    }

    /// <summary>Not used: the state machine lives in the task from <see cref="Start{TStateMachine}"/> on (compiler use).</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "The compiler's builder pattern calls it on the instance.")]
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    /// <summary>The body returned: the task succeeds (compiler use).</summary>
    public readonly void SetResult() => _task!.OnCoroutineReturned();

    /// <summary>The body threw <paramref name="exception"/>: the task fails or is cancelled (compiler use).</summary>
    public readonly void SetException(Exception exception) => _task!.OnCoroutineThrew(exception);

    /// <summary>Suspends the task on <paramref name="awaiter"/> (compiler use).</summary>
    public readonly void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine
    {
        var box = Unsafe.As<CoroutineTask<NoResult, TStateMachine>>(_task!);
        Coroutines.Suspend(box, ref box.Flow, ref awaiter);
    }

    /// <summary>Suspends the task on <paramref name="awaiter"/> (compiler use).</summary>
    public readonly void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine
    {
        var box = Unsafe.As<CoroutineTask<NoResult, TStateMachine>>(_task!);
        Coroutines.SuspendUnsafe(box, ref box.Flow, ref awaiter);
    }
}

/// <summary>
/// The async method builder of <c>async AioTask&lt;T&gt;</c> methods (used by the compiler, not called
/// directly): calling such a method creates a task on the running loop whose body starts on the next iteration.
/// </summary>
/// <typeparam name="T">The method's result type.</typeparam>
[EditorBrowsable(EditorBrowsableState.Never)]
public struct AioTaskMethodBuilder<T>
{
    private AioTask<T>? _task;

    /// <summary>Creates a builder (compiler use).</summary>
    [SuppressMessage("Design", "CA1000", Justification = "The compiler's builder pattern requires a static Create on the builder type.")]
    public static AioTaskMethodBuilder<T> Create() => default;

    /// <summary>The task the method returns.</summary>
    public readonly AioTask<T> Task => _task!;

    /// <summary>Creates the task around <paramref name="stateMachine"/> and schedules its first step (compiler use).</summary>
    /// <exception cref="InvalidOperationException">No event loop is running on this thread.</exception>
    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        EventLoop loop = Coroutines.RunningLoop(out ExecutionContext? flow);
        var task = new CoroutineTask<T, TStateMachine>(loop, flow);
        _task = task;                     // set before the state machine is copied: the copy's builder points at the task
        task.Launch(ref stateMachine);
    }

    /// <summary>Not used: the state machine lives in the task from <see cref="Start{TStateMachine}"/> on (compiler use).</summary>
    [SuppressMessage("Performance", "CA1822", Justification = "The compiler's builder pattern calls it on the instance.")]
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    /// <summary>The body returned <paramref name="result"/>: the task succeeds with it (compiler use).</summary>
    public readonly void SetResult(T result) => _task!.OnCoroutineReturned(result);

    /// <summary>The body threw <paramref name="exception"/>: the task fails or is cancelled (compiler use).</summary>
    public readonly void SetException(Exception exception) => _task!.OnCoroutineThrew(exception);

    /// <summary>Suspends the task on <paramref name="awaiter"/> (compiler use).</summary>
    public readonly void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine
    {
        var box = Unsafe.As<CoroutineTask<T, TStateMachine>>(_task!);
        Coroutines.Suspend(box, ref box.Flow, ref awaiter);
    }

    /// <summary>Suspends the task on <paramref name="awaiter"/> (compiler use).</summary>
    public readonly void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine
    {
        var box = Unsafe.As<CoroutineTask<T, TStateMachine>>(_task!);
        Coroutines.SuspendUnsafe(box, ref box.Flow, ref awaiter);
    }
}

/// <summary>The result of an <c>async AioTask</c> method, which has none: its box is a <c>CoroutineTask&lt;NoResult, …&gt;</c>.</summary>
internal readonly struct NoResult;

/// <summary>The box of an <c>async AioTask&lt;T&gt;</c> (or, with <see cref="NoResult"/>, <c>async AioTask</c>) method: the task holds the compiler's state machine.</summary>
internal sealed class CoroutineTask<T, TStateMachine> : AioTask<T>
    where TStateMachine : IAsyncStateMachine
{
    public TStateMachine StateMachine = default!;

    /// <summary>The ExecutionContext the next step runs in (captured at creation and at each suspension).</summary>
    public ExecutionContext? Flow;

    public CoroutineTask(EventLoop loop, ExecutionContext? flow) : base(loop, null, null)
    {
        _isCoroutine = true;
        Flow = flow;
    }

    /// <summary>Takes the state machine and queues the first step (on the loop's thread, and that loop is open: Coroutines.RunningLoop).</summary>
    internal void Launch(ref TStateMachine stateMachine)
    {
        StateMachine = stateMachine;
        _ = Context;                      // allocated with the task: every step installs it
        _loop.ScheduleFirstStep(this);
    }

    private protected override void StartBody() => MoveNextCoroutine();

    internal override void MoveNextCoroutine()
    {
        if (!Done)
        {
            Coroutines.MoveNext(ref StateMachine, this, ref Flow);
        }
    }

    private protected override string CoroutineName => Coroutines.MethodName(typeof(TStateMachine));
}

/// <summary>The steps both coroutine boxes take, written once (on <see cref="AioTask"/> and the box's Flow field: no interface calls).</summary>
internal static class Coroutines
{
    /// <summary>
    /// A loop that is not running on this thread but is creating a task from a coroutine body (loop.CreateTask or
    /// Runner.Run before the loop runs): see <c>EventLoop.CreateCoroutine</c>. Read only when no
    /// loop is running, so calls of async AioTask methods on a running loop never look at it.
    /// </summary>
    [ThreadStatic] internal static EventLoop? t_creatingLoop;

    /// <summary>The loop a new coroutine belongs to – the running one, else the one creating it – and the ExecutionContext its first step runs in (the caller's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static EventLoop RunningLoop(out ExecutionContext? flow)
    {
        EventLoop? loop = EventLoop.TryGetRunningLoop();
        if (loop is null)
        {
            return CreatingLoop(out flow);
        }
        flow = ThreadContexts.Capture(loop.LoopThread!); // the running loop's thread is this one
        return loop;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static EventLoop CreatingLoop(out ExecutionContext? flow)
    {
        EventLoop loop = t_creatingLoop ?? ThrowHelper.NoLoopForCoroutine();
        flow = ExecutionContext.Capture(); // the loop has not run on this thread: its thread's fields are not this thread's
        return loop;
    }

    /// <summary>
    /// One step: MoveNext in the task's ExecutionContext, then the context the step was entered in back – the
    /// loop's own, or that of another async method of the same task that resumed this one inline. Only a step
    /// whose context differs pays for a switch; a step that suspended read its context at the suspension.
    /// </summary>
    public static void MoveNext<TStateMachine>(ref TStateMachine stateMachine, AioTask box, ref ExecutionContext? flow)
        where TStateMachine : IAsyncStateMachine
    {
        Thread thread = box.Loop.LoopThread!;
        ExecutionContext? entry = ThreadContexts.Current(thread);
        ExecutionContext? start = flow;
        if (start is not null && !ReferenceEquals(start, entry))
        {
            ExecutionContext.Restore(start);
        }
        box._coroutineSuspended = false;
        stateMachine.MoveNext();
        ExecutionContext? after = box._coroutineSuspended ? flow : ThreadContexts.Capture(thread);
        if (entry is not null && !ReferenceEquals(after, entry))
        {
            ExecutionContext.Restore(entry);
        }
    }

    public static void Suspend<TAwaiter>(AioTask box, ref ExecutionContext? flow, ref TAwaiter awaiter)
        where TAwaiter : INotifyCompletion
    {
        KeepFlow(box, ref flow);
        try
        {
            if (typeof(TAwaiter) != typeof(ValueTaskAwaiter) || !TryParkOnAioWait(box, ref Unsafe.As<TAwaiter, ValueTaskAwaiter>(ref awaiter)))
            {
                awaiter.OnCompleted(box.CoroutineContinuation);
            }
        }
        catch (Exception e)
        {
            // An awaiter that cannot take the continuation would leave the task pending forever: it fails instead.
            box.OnCoroutineThrew(e);
        }
    }

    public static void SuspendUnsafe<TAwaiter>(AioTask box, ref ExecutionContext? flow, ref TAwaiter awaiter)
        where TAwaiter : ICriticalNotifyCompletion
    {
        KeepFlow(box, ref flow);
        try
        {
            if (typeof(TAwaiter) != typeof(ValueTaskAwaiter) || !TryParkOnAioWait(box, ref Unsafe.As<TAwaiter, ValueTaskAwaiter>(ref awaiter)))
            {
                awaiter.UnsafeOnCompleted(box.CoroutineContinuation);
            }
        }
        catch (Exception e)
        {
            box.OnCoroutineThrew(e);
        }
    }

    /// <summary>The step ends in a suspension: the context it leaves with is the next step's.</summary>
    private static void KeepFlow(AioTask box, ref ExecutionContext? flow)
    {
        ExecutionContext? current = ThreadContexts.Capture(box.Loop.LoopThread!); // steps run on the loop thread
        if (!ReferenceEquals(flow, current))
        {
            flow = current; // most steps leave the context as they found it: no store
        }
        box._coroutineSuspended = true;
    }

    // An Aio wait (Sleep, Yield, a primitive's ValueTask) queues its continuation as a step of the current
    // task itself, so a coroutine parked on one needs no delegate of its own: the source gets a static
    // step with the task as its state. Finding the source means reading the ValueTask inside the awaiter
    // (private fields, read through UnsafeAccessor; checked once at start-up, else every await takes the
    // general path). Foreign sources keep the general path, which brings the step back to the loop.

    /// <summary>The continuation of a coroutine parked on an Aio wait, with the task as state (the loop queues it as a <c>CoroutineStep</c>).</summary>
    internal static readonly Action<object?> Step = static s => ((AioTask)s!).MoveNextCoroutine();

    private static readonly bool s_canReadValueTask = ProbeValueTaskAccess();

    /// <summary>True when Aio waits inside a ValueTask can be recognised on this runtime (else every await takes the general path).</summary>
    internal static bool ReadsValueTasks => s_canReadValueTask;

    [SuppressMessage("Reliability", "CA2012", Justification = "Reads the awaited ValueTask's fields; it is not consumed here.")]
    private static bool TryParkOnAioWait(AioTask box, ref ValueTaskAwaiter awaiter)
    {
        if (!s_canReadValueTask)
        {
            return false;
        }
        ref ValueTask task = ref AwaiterValue(ref awaiter);
        if (ValueTaskObject(ref task) is not ITaskStepSource source)
        {
            return false;
        }
        source.OnCompleted(Step, box, ValueTaskToken(ref task), ValueTaskSourceOnCompletedFlags.None);
        return true;
    }

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_value")]
    private static extern ref ValueTask AwaiterValue(ref ValueTaskAwaiter awaiter);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_obj")]
    private static extern ref object? ValueTaskObject(ref ValueTask task);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_token")]
    private static extern ref short ValueTaskToken(ref ValueTask task);

    [SuppressMessage("Design", "CA1031", Justification = "Any failure means the runtime's layout differs: take the general path.")]
    [SuppressMessage("Reliability", "CA2012", Justification = "A probe ValueTask whose fields are read, never awaited.")]
    private static bool ProbeValueTaskAccess()
    {
        try
        {
            var probe = new ProbeSource();
            ValueTaskAwaiter awaiter = new ValueTask(probe, 12345).GetAwaiter();
            ref ValueTask task = ref AwaiterValue(ref awaiter);
            return ReferenceEquals(ValueTaskObject(ref task), probe) && ValueTaskToken(ref task) == 12345;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private sealed class ProbeSource : IValueTaskSource
    {
        public ValueTaskSourceStatus GetStatus(short token) => ValueTaskSourceStatus.Pending;

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        {
        }

        public void GetResult(short token)
        {
        }
    }

    /// <summary>
    /// The method a compiler state machine type belongs to: <c>&lt;Work&gt;d__3</c> → <c>Work</c>; a local
    /// function's <c>&lt;&lt;Outer&gt;g__Work|2_0&gt;d</c> → <c>Work</c>; a lambda's → <c>Outer.lambda</c>.
    /// </summary>
    public static string MethodName(Type stateMachine)
    {
        string name = stateMachine.Name;
        int local = name.LastIndexOf("g__", StringComparison.Ordinal);
        if (local >= 0)
        {
            int end = name.IndexOf('|', local);
            return end > local + 3 ? name[(local + 3)..end] : name;
        }
        int open = name.LastIndexOf('<');
        int close = name.IndexOf('>', open + 1);
        if (open < 0 || close <= open + 1)
        {
            return name;
        }
        string method = name[(open + 1)..close];
        return name.Contains(">b__", StringComparison.Ordinal) ? method + ".lambda" : method;
    }
}
