// AioTask: a plain C# async body run step by step on the loop, with asyncio's task semantics.
//
// Design note. A task's body is an ordinary async method (Func<Task>). The loop runs each step of it
// with the task as "current task" and the task's own SynchronizationContext installed, so:
//   - an await of an Aio awaitable (Sleep, a future, a primitive) parks the task: the awaitable calls
//     BeginWait (which records what the task waits on and how to abort that wait) and stores the
//     continuation in the task itself; whoever completes the wait calls EventLoop.Reschedule, which
//     queues the continuation on the ready ring tagged with the task. No allocation per wait.
//   - an await of a foreign Task captures the task's context; its completion is Post-ed back to the
//     loop (from any thread) as a step of this task.
// After every step the loop checks the body's Task: when it is complete, the task finishes.
//
// Cancellation is Trio's: each task has a root scope (the task itself) and a stack of CancelScopes
// (innermost first, linked by _parent). A task is "effectively cancelled" when a scope on that chain is
// cancelled before a shielded one is met; for a TaskGroup child, the chain goes on into the group's
// scope in the parent task. Cancelling a scope wakes each affected parked task through its wait's abort.
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;

namespace Aio;

/// <summary>
/// A task: an async body scheduled on an <see cref="EventLoop"/>, with a name, cancellation and done
/// callbacks (asyncio's <c>Task</c>). Created by <see cref="EventLoop.CreateTask(Func{Task}, string?)"/>,
/// <see cref="Asyncio.CreateTask(Func{Task}, string?)"/> or <see cref="TaskGroup.CreateTask(Func{Task}, string?)"/>;
/// its body starts on the loop's next iteration.
/// </summary>
/// <remarks>
/// A task belongs to its loop: use it on the loop's thread only. Await it for its outcome; a task whose
/// exception nobody retrieves is reported to the loop's exception handler.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public class AioTask : AioFuture
{
    private static readonly object s_sleepMarker = new();   // _waitObj of a sleep
    private static readonly object s_yieldMarker = new();   // _waitObj of a Sleep(0)

    private protected object? _start;        // the body delegate until the first step (its type is the subclass's business); null after
    private protected Task? _body;           // the body's Task, from the first step on
    private readonly int _number;
    private TaskContext? _context;           // created at the first step

    // The current wait. A task waits in at most one Aio wait at a time.
    internal int _waitId;                    // incremented by every BeginWait; identifies the wait to its waker
    internal bool _suspended;                // parked in wait _waitId and not yet rescheduled
    internal bool _waitLevelTriggered;       // resuming normally still throws CancelledError if the scope is cancelled
    private bool _resumeQueued;              // the continuation is on the ready ring (or would be, once set)

    internal bool ResumeQueued => _resumeQueued;

    internal void ClearResumeQueued() => _resumeQueued = false;
    private Action<object?>? _continuation;  // what to run to resume; set when the awaiter suspends
    private object? _continuationState;
    internal object? _waitObj;               // while parked: IWaitAbort, a marker, or null; once resumed: the Exception to throw, or null

    // Cancellation (see the design note).
    internal CancelScope? _innermost;        // innermost entered scope of this task; null: the task root
    internal bool _cancelRequested;          // Cancel() was called (the root scope is cancelled)
    internal bool _cancelDelivered;          // a CancelledError was thrown into the body since the last request
    private TaskExtras? _extras;             // rarely used state, allocated on first use (most tasks never need it)

    /// <summary>Task state most tasks never use, kept out of the task object to keep it small (W3: bytes per sleeping task).</summary>
    private sealed class TaskExtras
    {
        public CancelScope? Outermost;           // outermost entered scope of the task; null when none
        public CancelScope? ParentScope;         // for a TaskGroup child: the group's scope; null otherwise
        public CancellationTokenSource? RootCts; // Asyncio.CurrentToken at the root, created on request
        public string? CancelMessage;            // message of the first Cancel() request
        public int Cancelling;                   // number of Cancel() requests
        public string? Name;                     // the name given; null: "Task-{_number}" (most hot-path tasks have no name)
    }

    private TaskExtras Extras => _extras ??= new TaskExtras();

    internal CancelScope? _outermost
    {
        get => _extras?.Outermost;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.Outermost = value;
            }
        }
    }

    internal CancelScope? _parentScope
    {
        get => _extras?.ParentScope;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.ParentScope = value;
            }
        }
    }

    private string? _cancelMessage => _extras?.CancelMessage;

    // Bookkeeping.
    internal bool _foreignSuspended;         // suspended on a foreign await (counted in the loop's _foreignWaits)
    internal bool _loopTimerThisStep;        // this step created a TimeProvider timer on the loop
    internal bool _bodyHooked;               // a completion hook is registered on _body (for ConfigureAwait(false) bodies)
    internal AioTask? _prevLive, _nextLive;  // the loop's registry of pending tasks (intrusive list)

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop)
    {
        _start = body;
        if (name is not null)
        {
            Extras.Name = name;
        }
        _number = loop.NextTaskNumber();
    }

    /// <summary>The task's name; defaults to <c>Task-N</c>.</summary>
    public string Name
    {
        get => _extras?.Name ?? $"Task-{_number}";
        set => Extras.Name = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>How many times <see cref="Cancel"/> was called on this task while it was pending.</summary>
    public int Cancelling => _extras?.Cancelling ?? 0;

    /// <summary>
    /// Requests cancellation: the task's scope is cancelled, its current Aio wait (and every later one,
    /// until the body returns) throws <see cref="CancelledError"/>, and an awaited future or task is
    /// cancelled too. A task cancelled before its first step never runs its body. Returns false if the
    /// task is already done.
    /// </summary>
    public override bool Cancel(string? message = null)
    {
        _loop.CheckThread(nameof(Cancel));
        if (Done)
        {
            return false;
        }
        TaskExtras extras = Extras;
        extras.Cancelling++;
        if (!_cancelRequested)
        {
            _cancelRequested = true;
            _cancelDelivered = false;
            extras.CancelMessage = message;
        }
        _loop.DeliverTaskTree(this);
        return true;
    }

    /// <summary>Rethrows the task's exception, or throws <see cref="CancelledError"/>; returns if it succeeded.</summary>
    /// <exception cref="InvalidStateError">The task is not done yet.</exception>
    public void Result() => ThrowIfFailed();

    /// <summary>Lets <c>await task</c> suspend the current task until this one is done.</summary>
    public new AioAwaiter GetAwaiter() => new(this);

    // ----------------------------------------------------------------- steps

    internal TaskContext Context => _context ??= new TaskContext(this);

    internal bool Started => _body is not null;

    /// <summary>The first step: runs the body up to its first suspension (or not at all if cancelled before).</summary>
    internal void Start()
    {
        if (_cancelRequested || IsEffectivelyCancelled())
        {
            _start = null;
            _body = Task.CompletedTask;
            FinishCancelled(_cancelMessage ?? FindCancelMessage());
            return;
        }
        try
        {
            _body = InvokeBody();
        }
        catch (Exception e)
        {
            // A non-async delegate threw before returning a Task: the task fails with it.
            _body = Task.FromException(e);
        }
        _start = null;
    }

    private protected virtual Task InvokeBody() => ((Func<Task>)_start!)();

    internal Task? Body => _body;

    /// <summary>Finishes the task from its completed body (asyncio's rules for what counts as cancelled).</summary>
    internal void Finish()
    {
        Task body = _body!;
        if (body.IsCompletedSuccessfully)
        {
            if (!_cancelDelivered && IsEffectivelyCancelled())
            {
                // Cancellation was requested but the body returned without another Aio await: cancelled, as in asyncio.
                FinishCancelled(_cancelMessage ?? FindCancelMessage());
                return;
            }
            CaptureResult(body);
            Complete(FutureState.Succeeded);
            return;
        }
        Exception error = ExtractException(body);
        if (error is OperationCanceledException && (error is CancelledError || IsEffectivelyCancelled()))
        {
            _error = error as CancelledError;
            FinishCancelled(error.Message);
            return;
        }
        _error = error;
        Complete(FutureState.Faulted);
    }

    private void FinishCancelled(string? message)
    {
        _error ??= new CancelledError(message);
        Complete(FutureState.Cancelled);
    }

    private protected virtual void CaptureResult(Task body)
    {
    }

    private static Exception ExtractException(Task body)
    {
        if (body.IsCanceled)
        {
            try
            {
                body.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                return e;
            }
        }
        AggregateException agg = body.Exception!;
        return agg.InnerExceptions.Count == 1 ? agg.InnerExceptions[0] : agg;
    }

    private protected override void OnCompleted()
    {
        _loop.UnregisterLive(this);
        _continuation = null;
        _continuationState = null;
        _waitObj = null;
        if (_extras?.RootCts is { } cts)
        {
            cts.Dispose();
            _extras.RootCts = null;
        }
    }

    // ----------------------------------------------------------------- waits

    /// <summary>
    /// Starts a wait of this (the current) task on an Aio awaitable: records how to abort it and returns its id.
    /// The awaiter then calls <see cref="SetContinuation"/>; the waker calls <see cref="Resume"/>.
    /// </summary>
    internal int BeginWait(object? abort, bool levelTriggered)
    {
        if (_suspended && _waitObj == s_sleepMarker)
        {
            // A Sleep that was created but never awaited: its timer entry is dead now.
            _loop.OnSleepAbandoned();
        }
        _suspended = true;
        _resumeQueued = false;
        _waitLevelTriggered = levelTriggered;
        _waitObj = abort;
        _continuation = null;
        _continuationState = null;
        return ++_waitId;
    }

    internal void SetContinuation(Action<object?> continuation, object? state)
    {
        if (_waitObj == s_yieldMarker && _suspended)
        {
            // Sleep(0): resume at once, so the continuation runs on the next iteration. Nothing can wake
            // a queued yield again (Resume needs _suspended), so the continuation need not be kept.
            _suspended = false;
            _waitObj = null;
            _resumeQueued = true;
            _loop.EnqueueStep(this, continuation, state);
            return;
        }
        _continuation = continuation;
        _continuationState = state;
        if (_resumeQueued)
        {
            // Woken between BeginWait and the awaiter suspending (a task that woke its own wait).
            _loop.EnqueueStep(this, continuation, state);
        }
    }

    /// <summary>Resumes the parked task (called by whoever completes its wait); returns false for a stale wait id.</summary>
    internal bool Resume(int waitId, Exception? error)
    {
        if (!_suspended || _waitId != waitId)
        {
            return false;
        }
        _suspended = false;
        _waitObj = error;
        _resumeQueued = true;
        if (_continuation is not null)
        {
            _loop.EnqueueStep(this, _continuation, _continuationState);
        }
        return true;
    }

    /// <summary>Ends the current wait when the awaiter's GetResult runs: throws what the waker or a cancellation left.</summary>
    internal void EndWait()
    {
        object? outcome = _waitObj;
        _waitObj = null;
        _resumeQueued = false;
        _continuation = null;
        _continuationState = null;
        if (outcome is Exception e)
        {
            if (e is OperationCanceledException)
            {
                _cancelDelivered = true;
            }
            throw e;
        }
        if (_waitLevelTriggered)
        {
            ThrowIfCancelled();
        }
    }

    /// <summary>Level-triggered check: throws <see cref="CancelledError"/> if this task's scope is cancelled.</summary>
    internal void ThrowIfCancelled()
    {
        if (TryGetCancellation(out string? message))
        {
            _cancelDelivered = true;
            throw new CancelledError(message);
        }
    }

    internal bool IsSleepingOn(int waitId) => _suspended && _waitId == waitId && _waitObj == s_sleepMarker;

    /// <summary>Starts a sleep until <paramref name="when"/>: arms a loop timer, or for a delay of 0 or less, a one-iteration yield.</summary>
    internal ValueTask Sleep(double when, bool yieldOnly)
    {
        if (TryGetCancellation(out string? message))
        {
            _cancelDelivered = true;
            return ValueTask.FromException(new CancelledError(message));
        }
        int id = BeginWait(yieldOnly ? s_yieldMarker : s_sleepMarker, levelTriggered: true);
        if (!yieldOnly)
        {
            _loop.PushSleep(when, this, id);
        }
        return new ValueTask(Context, (short)id);
    }

    /// <summary>Parks this task until <see cref="Resume"/> is called with the returned id (the low-level wait of primitives).</summary>
    internal ValueTask Park(IWaitAbort? abort, out int waitId)
    {
        waitId = BeginWait(abort, levelTriggered: false);
        return new ValueTask(Context, (short)waitId);
    }

    /// <summary>The wait's abort when this task's scope is cancelled while it is parked.</summary>
    internal void DeliverCancelIfParked()
    {
        if (!_suspended || Done || !TryGetCancellation(out string? message))
        {
            return;
        }
        object? wait = _waitObj;
        if (wait is IWaitAbort abort)
        {
            if (!abort.AbortWait(this, _waitId, message))
            {
                return;
            }
        }
        else if (wait == s_sleepMarker)
        {
            _loop.OnSleepAbandoned();
        }
        Resume(_waitId, new CancelledError(message));
    }

    // ----------------------------------------------------------------- cancellation state

    /// <summary>Whether a cancellation reaches this task now (its scope chain, through shields and TaskGroup parents).</summary>
    internal bool IsEffectivelyCancelled() => TryGetCancellation(out _);

    internal bool TryGetCancellation(out string? message)
    {
        AioTask task = this;
        CancelScope? scope = _innermost;
        while (true)
        {
            for (; scope is not null; scope = scope._parent)
            {
                if (scope.CancelCalled)
                {
                    message = scope.CancelMessage;
                    return true;
                }
                if (scope.Shield)
                {
                    message = null;
                    return false;
                }
            }
            if (task._cancelRequested)
            {
                message = task._cancelMessage;
                return true;
            }
            scope = task._extras?.ParentScope;
            if (scope is null)
            {
                message = null;
                return false;
            }
            task = scope.Owner!;
        }
    }

    private string? FindCancelMessage() => TryGetCancellation(out string? m) ? m : null;

    /// <summary>The token of the task's root scope: cancelled when the task is cancelled.</summary>
    internal CancellationToken RootToken
    {
        get
        {
            if (IsEffectivelyCancelledAtRoot())
            {
                return new CancellationToken(true);
            }
            TaskExtras extras = Extras;
            extras.RootCts ??= new CancellationTokenSource();
            return extras.RootCts.Token;
        }
    }

    private bool IsEffectivelyCancelledAtRoot()
    {
        CancelScope? saved = _innermost;
        _innermost = null;
        try
        {
            return IsEffectivelyCancelled();
        }
        finally
        {
            _innermost = saved;
        }
    }

    internal void CancelRootTokenSoon()
    {
        if (_extras?.RootCts is { IsCancellationRequested: false } cts)
        {
            _loop.CallSoonInternal(static s => ((CancellationTokenSource)s!).Cancel(), cts);
        }
    }

    // ----------------------------------------------------------------- description

    private protected override string TypeName => "Task";

    /// <summary>asyncio-style description: <c>&lt;Task pending name='Task-1'&gt;</c>, <c>&lt;Task finished name='worker'&gt;</c>.</summary>
    public override string ToString()
    {
        string state = Done ? StateText : _cancelRequested ? "cancelling" : "pending";
        return $"<Task {state} name='{Name}'>";
    }

    /// <summary>The per-task SynchronizationContext (foreign awaits come back as steps of this task) and the source of Aio's ValueTask waits.</summary>
    internal sealed class TaskContext(AioTask task) : EventLoop.LoopSynchronizationContext, IValueTaskSource
    {
        private readonly AioTask _task = task;

        public override EventLoop Loop => _task._loop;

        public override AioTask Task => _task;

        public ValueTaskSourceStatus GetStatus(short token)
        {
            AioTask t = _task;
            if ((short)t._waitId != token)
            {
                throw new InvalidOperationException($"{t}: an Aio ValueTask was awaited twice or after a newer wait; await each Aio operation once, at once.");
            }
            return t._suspended ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;
        }

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _task.SetContinuation(continuation, state);

        public void GetResult(short token) => _task.EndWait();
    }
}

/// <summary>A task whose body returns a value of type <typeparamref name="T"/>; <c>await</c> it for the value.</summary>
/// <typeparam name="T">The type of the body's result.</typeparam>
/// <remarks>Belongs to its loop: use it on the loop's thread only. See <see cref="AioTask"/>.</remarks>
public class AioTask<T> : AioTask
{
    private T _result = default!;

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop, body, name) { }

    private protected override Task InvokeBody() => ((Func<Task<T>>)_start!)();

    private protected override void CaptureResult(Task body) => _result = ((Task<T>)body).Result;

    /// <summary>The body's result; rethrows its exception, or throws <see cref="CancelledError"/> if the task was cancelled.</summary>
    /// <exception cref="InvalidStateError">The task is not done yet.</exception>
    public new T Result()
    {
        ThrowIfFailed();
        return _result;
    }

    internal T ResultUnchecked => _result;

    /// <summary>Lets <c>await task</c> suspend the current task until this one is done, and gives its result.</summary>
    public new AioTaskAwaiter<T> GetAwaiter() => new(this);

    /// <summary>A <see cref="Task{T}"/> that completes like this task.</summary>
    public new Task<T> AsTask()
    {
        _loop.CheckThread(nameof(AsTask));
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        AddDoneCallback(f =>
        {
            try
            {
                tcs.TrySetResult(((AioTask<T>)f).Result());
            }
            catch (Exception e)
            {
                tcs.TrySetException(e);
            }
        });
        return tcs.Task;
    }
}

/// <summary>A task with state passed to a static body, so hot paths create tasks without a closure.</summary>
internal sealed class StatefulTask<TState, T>(EventLoop loop, Func<TState, Task<T>> body, TState state, string? name)
    : AioTask<T>(loop, body, name)
{
    private TState _arg = state;

    private protected override Task InvokeBody()
    {
        TState arg = _arg;
        _arg = default!;
        return ((Func<TState, Task<T>>)_start!)(arg);
    }
}

/// <summary>Awaiter of an <see cref="AioTask{T}"/>.</summary>
public readonly struct AioTaskAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly AioTask<T> _task;

    internal AioTaskAwaiter(AioTask<T> task) => _task = task;

    /// <summary>True when the task is done (the await does not suspend).</summary>
    public bool IsCompleted => _task.IsCompletedForAwait();

    /// <summary>The task's result, or its exception rethrown.</summary>
    public T GetResult() => _task.Result();

    /// <inheritdoc />
    public void OnCompleted(Action continuation) => _task.OnAwait(continuation);

    /// <inheritdoc />
    public void UnsafeOnCompleted(Action continuation) => _task.OnAwait(continuation);
}
