using System.Runtime.CompilerServices;
using Aio.Internal;
using Aio.LowLevel;

namespace Aio;

public sealed partial class EventLoop
{
    private AioTask? _currentTask;        // the task whose step is running; null between steps
    private AioTask? _liveHead;           // registry of pending tasks: intrusive doubly linked list
    private int _liveCount;
    private int _taskNumbers;
    private int _waitIds;                 // last wait id handed out (AioTask.BeginWait)
    private int _outsideForeign;          // outside work that may deliver (foreign awaits, portable-back-end I/O): see OutsideWorkPending
    private int _outsideReporting;        // outside work that will report back (executor items): virtual time waits for it


    internal AioTask? CurrentTaskInternal => _currentTask;

    /// <summary>The task whose step is running now, or null (between steps, in plain callbacks).</summary>
    public AioTask? CurrentTask
    {
        get
        {
            CheckThread(nameof(CurrentTask));
            return _currentTask;
        }
    }

    internal int NextTaskNumber() => ++_taskNumbers;

    /// <summary>A fresh wait id (never 0: ready items that resume no wait carry 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int NextWaitId()
    {
        int id = ++_waitIds;
        return id != 0 ? id : ++_waitIds;
    }

    /// <summary>Creates a pending future on this loop.</summary>
    public AioFuture<T> CreateFuture<T>()
    {
        CheckThread(nameof(CreateFuture));
        CheckClosed(nameof(CreateFuture));
        return new AioFuture<T>(this);
    }

    /// <summary>Creates a pending future with no value on this loop (a one-shot signal).</summary>
    public AioFuture CreateFuture()
    {
        CheckThread(nameof(CreateFuture));
        CheckClosed(nameof(CreateFuture));
        return new AioFuture(this);
    }

    /// <summary>
    /// Wraps <paramref name="body"/> in a task and schedules its first step for the next iteration;
    /// returns the task at once (asyncio's <c>create_task</c>). Keep the task, or await it: an exception
    /// nobody retrieves is reported.
    /// </summary>
    public AioTask<T> CreateTask<T>(Func<Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return StartTask(new AioTask<T>(this, body, name), null);
    }

    /// <summary>Wraps <paramref name="body"/> (no result) in a task and schedules its first step for the next iteration.</summary>
    public AioTask CreateTask(Func<Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return StartTask(new AioTask(this, body, name), null);
    }

    /// <summary>Creates a task from a body that takes <paramref name="state"/>: with a static lambda, no closure is allocated (hot paths).</summary>
    public AioTask<T> CreateTask<TState, T>(Func<TState, Task<T>> body, TState state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return StartTask(new StatefulTask<TState, T>(this, body, state, name), null);
    }

    // A lambda passed to CreateTask (and to every API that makes a task from a body) is a coroutine: with
    // OverloadResolutionPriority, `async () => { … }` binds to the Func<AioTask> overloads below, so the
    // compiler builds it with AioTaskMethodBuilder and the task is the lambda's own state machine – on the
    // loop for good, ConfigureAwait(false) or not. A Func<Task> (a variable, a method group, a lambda that
    // returns a Task without being async) still takes the delegate overloads above.

    /// <summary>
    /// Creates a task from a coroutine body – <c>loop.CreateTask(async () =&gt; { … })</c> binds here – and
    /// schedules its first step for the next iteration (asyncio's <c>create_task</c>). The lambda is an
    /// <c>async AioTask</c> coroutine: every step of it runs on this loop, even after <c>ConfigureAwait(false)</c>.
    /// </summary>
    /// <param name="body">Creates the coroutine: an <c>async</c> lambda, or <c>() =&gt; Work()</c> for an <c>async AioTask</c> method.</param>
    /// <param name="name">The task's name; null: <c>Task-N</c>.</param>
    /// <exception cref="InvalidOperationException"><paramref name="body"/> returned a task that has already started, or belongs to another loop or a TaskGroup.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask CreateTask(Func<AioTask> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return CreateCoroutine(static (Func<AioTask> b, object? _) => b(), body, null, name, s_failedTask);
    }

    /// <summary>Creates a task from a coroutine body with a result; see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="body"/> returned a task that has already started, or belongs to another loop or a TaskGroup.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask<T> CreateTask<T>(Func<AioTask<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return CreateCoroutine(static (Func<AioTask<T>> b, object? _) => b(), body, null, name, FailedTasks<T>.Create);
    }

    /// <summary>Creates a task from a coroutine body that takes <paramref name="state"/> (a static lambda allocates no closure); see <see cref="CreateTask(Func{AioTask}, string?)"/>.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="body"/> returned a task that has already started, or belongs to another loop or a TaskGroup.</exception>
    [OverloadResolutionPriority(1)]
    public AioTask<T> CreateTask<TState, T>(Func<TState, AioTask<T>> body, TState state, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return CreateCoroutine(static (Func<TState, AioTask<T>> b, TState s) => b(s), body, state, name, FailedTasks<T>.Create);
    }

    /// <summary>Runs the coroutine <paramref name="main"/> as a task on this loop until it completes, and returns its result or throws its exception.</summary>
    /// <exception cref="InvalidOperationException">The loop was stopped before the task completed.</exception>
    [OverloadResolutionPriority(1)]
    public T RunUntilComplete<T>(Func<AioTask<T>> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        TakeOwnershipIfIdle();
        AioTask<T> task = CreateTask(main);
        RunUntilComplete(task);
        return task.Result();
    }

    /// <summary>Runs the coroutine <paramref name="main"/> as a task on this loop until it completes; throws its exception if it failed.</summary>
    /// <exception cref="InvalidOperationException">The loop was stopped before the task completed.</exception>
    [OverloadResolutionPriority(1)]
    public void RunUntilComplete(Func<AioTask> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        TakeOwnershipIfIdle();
        AioTask task = CreateTask(main);
        RunUntilComplete(task);
        task.Result();
    }

    /// <summary>
    /// Calls <paramref name="create"/> so that the coroutine it makes belongs to this loop, checks that it made a new
    /// one, and names it. When this loop is not the one running on this thread (it has not started yet, or another
    /// one runs here), the builder finds it through <c>Coroutines.t_creatingLoop</c>. A body that throws
    /// before returning a coroutine (a lambda that is not async) gives a task that fails with the exception, as a
    /// delegate body does.
    /// </summary>
    internal TTask CreateCoroutine<TBody, TArg, TTask>(Func<TBody, TArg, TTask> create, TBody body, TArg arg, string? name,
        Func<EventLoop, Exception, string?, TTask> failed)
        where TTask : AioTask
    {
        CheckThread(nameof(CreateTask));
        CheckClosed(nameof(CreateTask));
        TTask? task;
        try
        {
            task = ReferenceEquals(t_running, this) ? create(body, arg) : CreateOffLoop(create, body, arg);
        }
        catch (Exception e)
        {
            return StartTask(failed(this, e, name), null);
        }
        if (task is null || task.Started || task.Done || task._parentScope is not null || !ReferenceEquals(task.Loop, this))
        {
            ThrowHelper.NotANewCoroutine(task, this);
        }
        if (name is not null)
        {
            task.Name = name;
        }
        return task;
    }

    /// <summary>Calls <paramref name="create"/> with this loop as the one coroutines are created on, though it is not running on this thread.</summary>
    private TTask CreateOffLoop<TBody, TArg, TTask>(Func<TBody, TArg, TTask> create, TBody body, TArg arg)
    {
        EventLoop? running = t_running, creating = Coroutines.t_creatingLoop;
        t_running = null;                 // another loop running here (rare): its thread-static would win in the builder
        Coroutines.t_creatingLoop = this;
        try
        {
            return create(body, arg);
        }
        finally
        {
            t_running = running;
            Coroutines.t_creatingLoop = creating;
        }
    }

    private static readonly Func<EventLoop, Exception, string?, AioTask> s_failedTask =
        static (loop, e, name) => new AioTask(loop, (Func<Task>)(() => Task.FromException(e)), name);

    private static class FailedTasks<T>
    {
        public static readonly Func<EventLoop, Exception, string?, AioTask<T>> Create =
            static (loop, e, name) => new AioTask<T>(loop, (Func<Task<T>>)(() => Task.FromException<T>(e)), name);
    }

    internal TTask StartTask<TTask>(TTask task, CancelScope? parentScope) where TTask : AioTask
    {
        CheckThread(nameof(CreateTask));
        CheckClosed(nameof(CreateTask));
        task._parentScope = parentScope;
        ScheduleFirstStep(task);
        return task;
    }

    /// <summary>Registers a new task and queues its first step; the caller has checked the thread and that the loop is open.</summary>
    internal void ScheduleFirstStep(AioTask task)
    {
        RegisterLive(task);
        ref ReadyItem item = ref _ready.Enqueue();
        item.Kind = ReadyKind.StartTask;
        item.Task = task;
    }

    /// <summary>Every task of this loop that is not done yet.</summary>
    public IReadOnlyCollection<AioTask> AllTasks()
    {
        CheckThread(nameof(AllTasks));
        var list = new List<AioTask>(_liveCount);
        for (AioTask? t = _liveHead; t is not null; t = t._nextLive)
        {
            list.Add(t);
        }
        return list;
    }

    internal int LiveTaskCount => _liveCount;

    private void RegisterLive(AioTask task)
    {
        task._nextLive = _liveHead;
        if (_liveHead is not null)
        {
            _liveHead._prevLive = task;
        }
        _liveHead = task;
        _liveCount++;
    }

    internal void UnregisterLive(AioTask task)
    {
        if (task._prevLive is not null)
        {
            task._prevLive._nextLive = task._nextLive;
        }
        else if (ReferenceEquals(_liveHead, task))
        {
            _liveHead = task._nextLive;
        }
        else
        {
            return; // not registered
        }
        if (task._nextLive is not null)
        {
            task._nextLive._prevLive = task._prevLive;
        }
        task._prevLive = task._nextLive = null;
        _liveCount--;
        if (task._foreignSuspended)
        {
            task._foreignSuspended = false;
            EndOutsideWork(OutsideWorkKind.Foreign);
        }
    }

    // ----------------------------------------------------------------- steps

    /// <summary>Queues a step of <paramref name="task"/> on the ready ring; <paramref name="waitId"/>: the main wait it resumes, or 0.</summary>
    internal void EnqueueStep(AioTask task, Action<object?> continuation, object? state, int waitId)
    {
        ref ReadyItem item = ref _ready.Enqueue(); // a cleared slot
        item.Task = task;
        item.Arg = waitId;
        if (ReferenceEquals(state, task))
        {
            // Only a coroutine's own step passes the task as state (Coroutines.Step): no delegate to store or call.
            System.Diagnostics.Debug.Assert(ReferenceEquals(continuation, Coroutines.Step), "state == task marks a coroutine step");
            item.Kind = ReadyKind.CoroutineStep;
            return;
        }
        item.Kind = ReadyKind.Action;
        item.Callback = continuation;
        item.State = state;
    }

    private void RunTaskStep(AioTask task, in ReadyItem item)
    {
        if (task.Done)
        {
            // A step of a finished task: a late foreign continuation (its body completed off the loop), or an
            // async method it started that outlived it. It still runs as that task, so a wait it resumes finds
            // its task (a primitive hands over what the wake-up meant); the task's outcome does not change.
            _currentTask = task;
            InstallContext(task.Context);
            task.OnMainWaitStep(item.Arg);
            try
            {
                Dispatch(in item);
            }
            finally
            {
                _currentTask = null;
            }
            return;
        }
        _currentTask = task;
        InstallContext(task.Context);
        if (task._foreignSuspended)
        {
            task._foreignSuspended = false;
            EndOutsideWork(OutsideWorkKind.Foreign);
        }
        task._loopTimerThisStep = false;
        task.OnMainWaitStep(item.Arg);
        try
        {
            Dispatch(in item);
        }
        finally
        {
            _currentTask = null;
            AfterStep(task);
        }
    }

    /// <summary>After a step: finish the task if its body completed; deliver a pending cancellation to its new wait; track foreign waits.</summary>
    private void AfterStep(AioTask task)
    {
        if (task.Done || !task.Started)
        {
            return; // a coroutine finishes inside its step (the builder's SetResult/SetException)
        }
        Task? body = task.Body;
        if (body is { IsCompleted: true })
        {
            task.Finish();
            return;
        }
        if (task.IsParked)
        {
            task.DeliverCancelIfParked();
            return;
        }
        if (task.ResumeQueued)
        {
            return; // an Aio wait already completed (a Sleep(0), a wake during the step): its step is queued
        }
        // The body awaits something foreign (a Task, HttpClient, …): its continuation will be posted back.
        if (!task._loopTimerThisStep)
        {
            task._foreignSuspended = true;
            BeginOutsideWork(OutsideWorkKind.Foreign);
        }
        if (body is not null && !task._bodyHooked)
        {
            // A body that left the loop (ConfigureAwait(false)) completes elsewhere: post its completion back.
            task._bodyHooked = true;
            body.ContinueWith(static (_, s) =>
            {
                var t = (AioTask)s!;
                t.Loop.TryPostItem(new ReadyItem { Kind = ReadyKind.Action, Callback = s_finishIfComplete, State = t });
            }, task, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private static readonly Action<object?> s_finishIfComplete = static s =>
    {
        var t = (AioTask)s!;
        if (!t.Done && t.Body is { IsCompleted: true })
        {
            if (t._foreignSuspended)
            {
                t._foreignSuspended = false;
                t.Loop.EndOutsideWork(OutsideWorkKind.Foreign);
            }
            t.Finish();
        }
    };
}
