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
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;

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
[AsyncMethodBuilder(typeof(AioTaskMethodBuilder))]
public class AioTask : AioFuture
{
    private static readonly object s_sleepMarker = new();   // _waitObj of a sleep
    private static readonly object s_yieldMarker = new();   // _waitObj of a Sleep(0)

    private protected object? _body;         // delegate body: the delegate until the first step, then the body's Task; coroutine: its continuation Action, once needed
    private bool _started;                   // the first step ran (or found the task cancelled)
    private readonly int _number;
    private TaskContext? _context;           // created at the first step

    // The current wait. A task waits in at most one Aio wait at a time.
    internal int _waitId;                    // id of the main wait (see "waits" below); identifies the wait to its waker
    internal bool _suspended;                // parked in wait _waitId and not yet rescheduled
    internal bool _waitLevelTriggered;       // resuming normally still throws CancelledError if the scope is cancelled
    private bool _resumeQueued;              // the continuation is on the ready ring (or would be, once set)
    private bool _stepQueued;                // the main wait's step is on the ready ring
    private bool _waitIsYield;               // the main wait is a Sleep(0) (kept as a flag: _waitObj stays null, no store barrier)
    private bool _waitAborted;               // a cancellation was delivered to the main wait (its abort runs once)

    internal bool ResumeQueued => _resumeQueued;

    private Action<object?>? _continuation;  // what to run to resume; set when the awaiter suspends
    private object? _continuationState;
    internal object? _waitObj;               // while parked: IWaitAbort, a marker, or null; once resumed: the Exception to throw, or null

    // Cancellation (see the design note).
    internal bool _cancelRequested;          // Cancel() was called (the root scope is cancelled)
    internal bool _cancelDelivered;          // a CancelledError was thrown into the body since the last request
    private TaskExtras? _extras;             // rarely used state, allocated on first use (most tasks never need it)

    /// <summary>Task state most tasks never use, kept out of the task object to keep it small (W3: bytes per sleeping task).</summary>
    private sealed class TaskExtras
    {
        public CancelScope? Innermost;           // innermost entered scope of the task; null: the task root
        public CancelScope? Outermost;           // outermost entered scope of the task; null when none
        public CancelScope? ParentScope;         // for a TaskGroup child: the group's scope; null otherwise
        public CancellationTokenSource? RootCts; // Asyncio.CurrentToken at the root, created on request
        public string? CancelMessage;            // message of the first Cancel() request
        public int Cancelling;                   // number of Cancel() requests
        public string? Name;                     // the name given; null: "Task-{_number}" (most hot-path tasks have no name)
        public SideWait? SideWaits;              // waits begun while the main wait was taken, newest first
        public bool ForeignCancelReported;       // debug mode: a cancellation that found the task in a foreign await was logged
    }

    private TaskExtras Extras => _extras ??= new TaskExtras();

    /// <summary>The innermost entered scope of this task; null: the task root. Kept in the extras: most tasks never enter one.</summary>
    internal CancelScope? _innermost
    {
        get => _extras?.Innermost;
        set
        {
            if (value is not null || _extras is not null)
            {
                Extras.Innermost = value;
            }
        }
    }

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
    private protected bool _isCoroutine;        // the body is an async AioTask method's state machine (CoroutineTask)
    internal bool _coroutineSuspended;          // coroutine: the current step ended in a suspension (kept here, in the task's padding)
    internal AioTask? _prevLive, _nextLive;  // the loop's registry of pending tasks (intrusive list)

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop)
    {
        _body = body;
        if (name is not null)
        {
            Extras.Name = name;
        }
        _number = loop.NextTaskNumber();
    }

    /// <summary>The task's name; defaults to <c>Task-N</c>. Read it from any thread; set it on the loop's thread.</summary>
    public string Name
    {
        get => _extras?.Name ?? $"Task-{_number}";
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _loop.CheckThread(nameof(Name));
            Extras.Name = value;
        }
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

    internal TaskContext Context => _context ?? CreateContext();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TaskContext CreateContext() => _context = new TaskContext(this);

    internal bool Started => _started;

    /// <summary>The first step: runs the body up to its first suspension (or not at all if cancelled before).</summary>
    internal void Start()
    {
        _started = true;
        if (_cancelRequested || IsEffectivelyCancelled())
        {
            _body = null;
            FinishCancelled(_cancelMessage ?? FindCancelMessage());
            return;
        }
        StartBody();
    }

    /// <summary>Runs the body to its first suspension: a delegate body is invoked; a coroutine overrides this.</summary>
    private protected virtual void StartBody()
    {
        object start = _body!;
        _body = null; // Body reads _body as the Task: never the delegate, not even while it runs
        Task body;
        try
        {
            body = InvokeBody(start);
        }
        catch (Exception e)
        {
            // A non-async delegate threw before returning a Task: the task fails with it.
            body = Task.FromException(e);
        }
        _body = body;
    }

    private protected virtual Task InvokeBody(object start) => ((Func<Task>)start)();

    /// <summary>The Task of a delegate body; null before the first step and for a coroutine (an <c>async AioTask</c> method).</summary>
    internal Task? Body => _started && !_isCoroutine ? Unsafe.As<Task?>(_body) : null; // from the first step on, a delegate task's _body is its Task

    /// <summary>Finishes the task from its completed body Task (asyncio's rules for what counts as cancelled).</summary>
    internal void Finish()
    {
        Task body = Body!;
        if (body.IsCompletedSuccessfully)
        {
            CaptureResult(body);
            FinishSucceeded();
            return;
        }
        FinishFaulted(ExtractException(body));
    }

    /// <summary>The body returned: the task succeeds, unless a cancellation it never saw makes it cancelled (as in asyncio).</summary>
    private protected void FinishSucceeded()
    {
        if (!_cancelDelivered && IsEffectivelyCancelled())
        {
            // Cancellation was requested but the body returned without another Aio await: cancelled, as in asyncio.
            FinishCancelled(_cancelMessage ?? FindCancelMessage());
            return;
        }
        Complete(FutureState.Succeeded);
    }

    /// <summary>The body threw <paramref name="error"/>: the task fails, or is cancelled if that is what the error means.</summary>
    private protected void FinishFaulted(Exception error)
    {
        if (error is OperationCanceledException && (error is CancelledError || IsEffectivelyCancelled()))
        {
            _error = error as CancelledError;
            FinishCancelled(error.Message);
            return;
        }
        _error = error;
        Complete(FutureState.Faulted);
    }

    // ----------------------------------------------------------------- coroutines (async AioTask methods)

    /// <summary>A coroutine's next step: its state machine's MoveNext (see <see cref="AioTaskMethodBuilder"/>).</summary>
    internal virtual void MoveNextCoroutine() => throw new UnreachableException("Only a coroutine task has a state machine.");

    /// <summary>The method of a coroutine body, for descriptions; null for a delegate body.</summary>
    private protected virtual string? CoroutineName => null;

    /// <summary>A coroutine's continuation for awaiters that are not Aio's own: one Action per task, created on first use (kept in _body).</summary>
    internal Action CoroutineContinuation => (Action)(_body ??= new Action(ResumeCoroutine));

    private static readonly SendOrPostCallback s_resumeCoroutine = static s => ((AioTask)s!).MoveNextCoroutine();

    /// <summary>
    /// The coroutine's continuation for awaiters that are not Aio's own (a foreign Task, a custom awaitable;
    /// Aio waits queue a <c>CoroutineStep</c> instead): inside a step of this task, the next MoveNext runs at
    /// once; from anywhere else – another thread, a ConfigureAwait(false) completion, another task's step –
    /// it is posted as a step of this task.
    /// </summary>
    private protected void ResumeCoroutine()
    {
        if (_loop.IsRunningOnThisThread && ReferenceEquals(_loop.CurrentTaskInternal, this))
        {
            MoveNextCoroutine();
            return;
        }
        _loop.PostFromContext(s_resumeCoroutine, this, this);
    }

    /// <summary>The coroutine returned (builder's SetResult).</summary>
    internal void OnCoroutineReturned() => FinishSucceeded();

    /// <summary>The coroutine threw (builder's SetException).</summary>
    internal void OnCoroutineThrew(Exception error)
    {
        if (!Done)
        {
            FinishFaulted(error);
        }
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
        if (IsParked)
        {
            ReleaseOrphanedWaits(); // their records stay until their steps have run
        }
        if (!_suspended && !_stepQueued)
        {
            _continuation = null;
            _continuationState = null;
            _waitObj = null;
        }
        if (_extras is { } extras)
        {
            extras.RootCts?.Dispose();
            extras.RootCts = null;
        }
    }

    // ----------------------------------------------------------------- waits
    //
    // A task's waits normally come one at a time: its body awaits one Aio awaitable, resumes, awaits the
    // next. They use the task's own fields (the main wait: _waitId, _suspended, _continuation, …), so a
    // wait allocates nothing. But one task may run several async methods at once – `Task a = F();
    // await Sleep(1); await a;`, or Task.WhenAll over helpers that await Aio operations – and then a
    // wait begins while the main one is still taken (parked with its continuation, or resumed with its
    // step queued). Such a wait becomes a side wait: a small object on the task's side list, found by
    // its id (the ValueTask token carries it), resumed, cancelled and ended exactly like the main wait,
    // and dropped when its step has run.

    /// <summary>
    /// Starts a wait of this (the current) task on an Aio awaitable: records how to abort it and returns its id.
    /// The awaiter then calls <see cref="SetContinuation"/>; the waker calls <see cref="Resume"/>.
    /// </summary>
    internal int BeginWait(object? abort, bool levelTriggered)
    {
        int id = _loop.NextWaitId();
        bool mainTaken = _stepQueued || (_suspended && _continuation is not null);
        if (mainTaken || _extras?.SideWaits is not null)
        {
            id = DistinctWaitId(id, mainTaken);
        }
        if (mainTaken)
        {
            TaskExtras extras = Extras;
            extras.SideWaits = new SideWait(this, id, abort, levelTriggered) { Next = extras.SideWaits };
            return id;
        }
        if (_suspended)
        {
            // A wait that was begun but never awaited (its awaiter would have set the continuation at once).
            AbandonWait(_waitId, _waitObj);
        }
        _waitId = id;
        _suspended = true;
        _resumeQueued = false;
        _stepQueued = false;
        _waitAborted = false;
        _waitLevelTriggered = levelTriggered;
        if (ReferenceEquals(abort, s_yieldMarker))
        {
            _waitIsYield = true;
            _waitObj = null;
        }
        else
        {
            _waitIsYield = false;
            _waitObj = abort;
        }
        _continuation = null;
        _continuationState = null;
        return id;
    }

    /// <summary>The awaiter of wait <paramref name="token"/> suspended: <paramref name="continuation"/> resumes it.</summary>
    internal void SetContinuation(short token, Action<object?> continuation, object? state)
    {
        if ((short)_waitId != token)
        {
            FindSideWait(token, TokenMask)?.SetContinuation(continuation, state);
            return;
        }
        if (_waitIsYield && _suspended)
        {
            // Sleep(0): resume at once, so the continuation runs on the next iteration; nothing can wake a
            // queued yield again, so the continuation need not be kept.
            _suspended = false;
            _waitObj = null;
            _resumeQueued = true;
            _stepQueued = true;
            _loop.EnqueueStep(this, continuation, state, _waitId);
            return;
        }
        _continuation = continuation;
        _continuationState = state;
        if (_resumeQueued)
        {
            // Woken between BeginWait and the awaiter suspending (a task that woke its own wait).
            _stepQueued = true;
            _loop.EnqueueStep(this, continuation, state, _waitId);
        }
    }

    /// <summary>Resumes the parked task (called by whoever completes its wait); returns false for a stale wait id.</summary>
    internal bool Resume(int waitId, Exception? error)
    {
        if (_waitId != waitId)
        {
            return ResumeSideWait(waitId, error);
        }
        if (!_suspended)
        {
            return false;
        }
        _suspended = false;
        _waitObj = error;
        _resumeQueued = true;
        if (_continuation is not null)
        {
            _stepQueued = true;
            _loop.EnqueueStep(this, _continuation, _continuationState, waitId);
        }
        return true;
    }

    private bool ResumeSideWait(int waitId, Exception? error) => FindSideWait(waitId, ExactMask)?.Resume(error) ?? false;

    /// <summary>A ready item with this wait id is running: it is the main wait's resumption.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void OnMainWaitStep(int waitId)
    {
        if (waitId == _waitId)
        {
            _resumeQueued = false; // a future's await does not pass through EndWait
            _stepQueued = false;
        }
    }

    /// <summary>Ends wait <paramref name="token"/> when the awaiter's GetResult runs: throws what the waker or a cancellation left.</summary>
    internal void EndWait(short token)
    {
        if ((short)_waitId != token)
        {
            EndSideWait(token);
            return;
        }
        object? outcome = _waitObj;
        _waitObj = null;
        _resumeQueued = false;
        _continuation = null;
        _continuationState = null;
        if (outcome is not null)
        {
            ThrowOutcome(outcome, _waitLevelTriggered);
        }
        else if (_waitLevelTriggered && TryGetCancellation(out string? message))
        {
            ThrowCancelled(message);
        }
    }

    private void EndSideWait(short token)
    {
        SideWait side = FindSideWait(token, TokenMask) ?? throw ThrowHelper.StaleAioWait(this);
        RemoveSideWait(side);
        ThrowOutcome(side.WaitObj, side.LevelTriggered);
    }

    private void ThrowOutcome(object? outcome, bool levelTriggered)
    {
        if (outcome is Exception e)
        {
            if (e is OperationCanceledException)
            {
                MarkCancelDelivered();
            }
            throw e;
        }
        if (levelTriggered)
        {
            ThrowIfCancelled();
        }
    }

    /// <summary>The status of wait <paramref name="token"/> for its ValueTask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ValueTaskSourceStatus GetWaitStatus(short token) =>
        (short)_waitId != token ? GetSideWaitStatus(token) : _suspended ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

    private ValueTaskSourceStatus GetSideWaitStatus(short token) =>
        (FindSideWait(token, TokenMask) ?? throw ThrowHelper.StaleAioWait(this)).Suspended ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

    /// <summary>Level-triggered check: throws <see cref="CancelledError"/> if this task's scope is cancelled.</summary>
    internal void ThrowIfCancelled()
    {
        if (TryGetCancellation(out string? message))
        {
            ThrowCancelled(message);
        }
    }

    [DoesNotReturn]
    private void ThrowCancelled(string? message)
    {
        MarkCancelDelivered();
        throw new CancelledError(message);
    }

    /// <summary>Whether wait <paramref name="waitId"/> is still parked (not resumed, not cancelled).</summary>
    internal bool IsWaiting(int waitId) => _waitId == waitId ? _suspended : FindSideWait(waitId, ExactMask) is { Suspended: true };

    /// <summary>Whether wait <paramref name="waitId"/> is a sleep still parked on its timer.</summary>
    internal bool IsSleepingOn(int waitId) => _waitId == waitId
        ? _suspended && _waitObj == s_sleepMarker
        : FindSideWait(waitId, ExactMask) is { Suspended: true } side && side.WaitObj == s_sleepMarker;

    /// <summary>True while any wait of this task is parked or has its resumption queued (Aio will wake it; not a foreign wait).</summary>
    internal bool IsParked
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _suspended || _extras?.SideWaits is not null;
    }

    /// <summary>Starts a sleep until <paramref name="when"/>: arms a loop timer, or for a delay of 0 or less, a one-iteration yield.</summary>
    internal ValueTask Sleep(double when, bool yieldOnly)
    {
        if (TryGetCancellation(out string? message))
        {
            MarkCancelDelivered();
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

    /// <summary>
    /// This task's scope is cancelled: abort every wait it is parked in (each resumes with CancelledError, or
    /// cancels the future it awaits) and count the cancellation as delivered. A task in a foreign await cannot be
    /// reached: the cancellation stays undelivered (in debug mode that is logged once per task).
    /// </summary>
    internal void DeliverCancelIfParked()
    {
        // Runs after every step of a parked task (AfterStep): the no-cancellation test stays inline and first.
        if (Done || !TryGetCancellation(out string? message))
        {
            return;
        }
        DeliverCancel(message);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void DeliverCancel(string? message)
    {
        if (!IsParked)
        {
            if (_resumeQueued)
            {
                // Its Aio wait already completed (the wake-up came first in this iteration): the body has what it
                // awaited in time, so a scope's deadline falling due now does not turn its result into a timeout.
                // The task's own cancellation stays undelivered (asyncio: the next step sees it).
                MarkScopesDelivered();
            }
            else if (_foreignSuspended && _loop.Debug)
            {
                ReportCancelInForeignAwait(message);
            }
            return;
        }
        MarkCancelDelivered();
        AbortParkedWaits(message, keepFutureWaits: false);
    }

    /// <summary>
    /// A cancellation reached the body: a <see cref="CancelledError"/> is thrown into it, or an Aio wait of it
    /// was aborted. Marks the task and every cancelled scope it is in (up to a shield) as delivered: a scope
    /// whose cancellation was never delivered does not let its body count as finished in time.
    /// </summary>
    internal void MarkCancelDelivered()
    {
        _cancelDelivered = true;
        MarkScopesDelivered();
    }

    private void MarkScopesDelivered()
    {
        for (CancelScope? scope = _innermost; scope is not null; scope = scope._parent)
        {
            if (scope.CancelCalled)
            {
                scope.CancelDelivered = true;
            }
            if (scope.Shield)
            {
                break;
            }
        }
    }

    /// <summary>Debug mode: a cancellation found this task in a foreign await it cannot interrupt; say so once per task.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportCancelInForeignAwait(string? message)
    {
        if (_extras?.ForeignCancelReported == true || UsesCancellationToken())
        {
            return;
        }
        Extras.ForeignCancelReported = true;
        LoopLog.CancelInForeignAwait(_loop.Logger, ToString(), message ?? "cancelled");
    }

    /// <summary>Whether the body took a token that this cancellation cancels (it then stops the foreign work itself).</summary>
    private bool UsesCancellationToken()
    {
        if (_extras?.RootCts is not null)
        {
            return true;
        }
        for (CancelScope? scope = _innermost; scope is not null; scope = scope._parent)
        {
            if (scope.HasToken)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Aborts every wait this task is parked in: each resumes with <see cref="CancelledError"/>, unless its abort
    /// keeps it (an awaited task being cancelled, a TaskGroup). Each wait's abort runs once: a kept wait must not
    /// be aborted again after every later step of this task's other methods.
    /// </summary>
    private void AbortParkedWaits(string? message, bool keepFutureWaits)
    {
        if (_suspended && !_waitAborted && !(keepFutureWaits && _waitObj is AioFuture))
        {
            _waitAborted = true;
            AbortWait(_waitId, _waitObj, message);
        }
        for (SideWait? side = _extras?.SideWaits; side is not null; side = side.Next)
        {
            if (side.Suspended && !side.Aborted && !(keepFutureWaits && side.WaitObj is AioFuture))
            {
                side.Aborted = true;
                AbortWait(side.Id, side.WaitObj, message);
            }
        }
    }

    /// <summary>
    /// A wait id whose 16-bit token no other live wait of this task has (ids are loop-wide, tokens are not
    /// unique): so a token always finds its own wait. Also drops side waits that were begun and never awaited.
    /// </summary>
    private int DistinctWaitId(int id, bool mainTaken)
    {
        DropAbandonedSideWaits();
        for (int tries = 0; id == 0 || (mainTaken && (short)id == (short)_waitId) || FindSideWait(id, TokenMask) is not null; tries++)
        {
            if (tries > ushort.MaxValue)
            {
                throw new InvalidOperationException(
                    $"{this} has 65,536 Aio waits in progress at once (async methods it runs concurrently, each awaiting): a task's " +
                    "waits are told apart by a 16-bit token. Run that many concurrent operations as tasks (CreateTask, a coroutine, a TaskGroup).");
            }
            id = _loop.NextWaitId();
        }
        return id;
    }

    /// <summary>A side wait still parked with no continuation was never awaited (an awaiter suspends at once): it is dead.</summary>
    private void DropAbandonedSideWaits()
    {
        for (SideWait? side = _extras?.SideWaits; side is not null; side = side.Next)
        {
            if (side.Suspended && side.Continuation is null)
            {
                side.Suspended = false;
                AbandonWait(side.Id, side.WaitObj);
                RemoveSideWait(side);
            }
        }
    }

    /// <summary>A wait nobody awaited: its sleep's timer entry is dead, and a ParkingLot stops counting it.</summary>
    private void AbandonWait(int waitId, object? wait)
    {
        if (wait == s_sleepMarker)
        {
            _loop.OnSleepAbandoned();
        }
        else if (wait is ParkingLot lot)
        {
            ((IWaitAbort)lot).AbortWait(this, waitId, null);
        }
    }

    /// <summary>
    /// The task finished while async methods it started still wait (fire-and-forget helpers): a sleep, a yield or
    /// a primitive's wait resumes them with <see cref="CancelledError"/>; a wait on a future keeps going and
    /// resumes them when the future is done. Their steps still run as this (finished) task.
    /// </summary>
    private void ReleaseOrphanedWaits() =>
        AbortParkedWaits($"{this} finished while an async method it started was still waiting", keepFutureWaits: true);

    private void AbortWait(int waitId, object? wait, string? message)
    {
        if (wait is IWaitAbort abort)
        {
            if (!abort.AbortWait(this, waitId, message))
            {
                return; // the abort resumed the wait itself (a cancelled future wakes its waiters), or keeps it
            }
        }
        else if (wait == s_sleepMarker)
        {
            _loop.OnSleepAbandoned();
        }
        Resume(waitId, new CancelledError(message));
    }

    private const int ExactMask = -1;      // match a whole wait id
    private const int TokenMask = 0xFFFF;  // match the 16 bits a ValueTask token carries

    private SideWait? FindSideWait(int id, int mask)
    {
        for (SideWait? side = _extras?.SideWaits; side is not null; side = side.Next)
        {
            if (((side.Id ^ id) & mask) == 0)
            {
                return side;
            }
        }
        return null;
    }

    private void RemoveSideWait(SideWait wait)
    {
        if (_extras is not { } extras)
        {
            return;
        }
        if (ReferenceEquals(extras.SideWaits, wait))
        {
            extras.SideWaits = wait.Next;
            return;
        }
        for (SideWait? side = extras.SideWaits; side is not null; side = side.Next)
        {
            if (ReferenceEquals(side.Next, wait))
            {
                side.Next = wait.Next;
                return;
            }
        }
    }

    /// <summary>A wait begun while the main one was taken (see the note above): the main wait's fields, in an object.</summary>
    private sealed class SideWait(AioTask owner, int id, object? waitObj, bool levelTriggered)
    {
        public readonly AioTask Owner = owner;
        public readonly int Id = id;
        public readonly bool LevelTriggered = levelTriggered;
        public object? WaitObj = waitObj;   // like _waitObj
        public bool Suspended = true;
        public bool ResumeQueued;
        public bool Aborted;               // a cancellation was delivered (its abort runs once)
        public Action<object?>? Continuation;
        public object? State;
        public SideWait? Next;

        public void SetContinuation(Action<object?> continuation, object? state)
        {
            Continuation = continuation;
            State = state;
            if (WaitObj == s_yieldMarker && Suspended)
            {
                Suspended = false;
                WaitObj = null;
                ResumeQueued = true;
            }
            if (ResumeQueued)
            {
                Enqueue();
            }
        }

        public bool Resume(Exception? error)
        {
            if (!Suspended)
            {
                return false;
            }
            Suspended = false;
            WaitObj = error;
            ResumeQueued = true;
            if (Continuation is not null)
            {
                Enqueue();
            }
            return true;
        }

        private void Enqueue() => Owner._loop.EnqueueStep(Owner, s_runStep, this, 0);

        /// <summary>Runs the continuation as a step of the task; afterwards the wait is gone (a future's await never calls EndWait).</summary>
        private static readonly Action<object?> s_runStep = static s =>
        {
            var side = (SideWait)s!;
            try
            {
                side.Continuation!(side.State);
            }
            finally
            {
                side.Owner.RemoveSideWait(side);
            }
        };
    }

    // ----------------------------------------------------------------- cancellation state

    /// <summary>Whether a cancellation reaches this task now (its scope chain, through shields and TaskGroup parents).</summary>
    internal bool IsEffectivelyCancelled() => TryGetCancellation(out _);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryGetCancellation(out string? message)
    {
        if (_extras is null && !_cancelRequested)
        {
            message = null; // no scope, no TaskGroup parent, no Cancel(): most tasks, on every wait
            return false;
        }
        return TryGetCancellationSlow(out message);
    }

    private bool TryGetCancellationSlow(out string? message)
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

    /// <summary>
    /// asyncio-style description: <c>&lt;Task pending name='Task-1'&gt;</c>, <c>&lt;Task finished name='worker'&gt;</c>;
    /// a coroutine's names its method: <c>&lt;Task pending name='Task-2' coro=Fetch&gt;</c>.
    /// </summary>
    public override string ToString()
    {
        string state = Done ? StateText : _cancelRequested ? "cancelling" : "pending";
        return CoroutineName is { } coro ? $"<Task {state} name='{Name}' coro={coro}>" : $"<Task {state} name='{Name}'>";
    }

    /// <summary>The per-task SynchronizationContext (foreign awaits come back as steps of this task) and the source of Aio's ValueTask waits.</summary>
    internal sealed class TaskContext(AioTask task) : EventLoop.LoopSynchronizationContext, ITaskStepSource
    {
        private readonly AioTask _task = task;

        public override EventLoop Loop => _task._loop;

        public override AioTask Task => _task;

        public ValueTaskSourceStatus GetStatus(short token) => _task.GetWaitStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _task.SetContinuation(token, continuation, state);

        public void GetResult(short token) => _task.EndWait(token);
    }
}

/// <summary>A task whose body returns a value of type <typeparamref name="T"/>; <c>await</c> it for the value.</summary>
/// <typeparam name="T">The type of the body's result.</typeparam>
/// <remarks>Belongs to its loop: use it on the loop's thread only. See <see cref="AioTask"/>.</remarks>
[AsyncMethodBuilder(typeof(AioTaskMethodBuilder<>))]
public class AioTask<T> : AioTask
{
    private protected T _result = default!;

    internal AioTask(EventLoop loop, object? body, string? name) : base(loop, body, name) { }

    private protected override Task InvokeBody(object start) => ((Func<Task<T>>)start)();

    private protected override void CaptureResult(Task body) => _result = ((Task<T>)body).Result;

    /// <summary>The body's result; rethrows its exception, or throws <see cref="CancelledError"/> if the task was cancelled.</summary>
    /// <exception cref="InvalidStateError">The task is not done yet.</exception>
    public new T Result()
    {
        ThrowIfFailed();
        return _result;
    }

    internal T ResultUnchecked => _result;

    /// <summary>The coroutine returned <paramref name="result"/> (builder's SetResult).</summary>
    internal void OnCoroutineReturned(T result)
    {
        _result = result;
        OnCoroutineReturned();
    }

    /// <summary>Lets <c>await task</c> suspend the current task until this one is done, and gives its result.</summary>
    public new AioTaskAwaiter<T> GetAwaiter() => new(this);

    /// <summary>A <see cref="Task{T}"/> that completes like this task.</summary>
    /// <remarks>Only the loop completes it: a blocking wait for it on the loop's thread is refused (it would never end).</remarks>
    public new Task<T> AsTask()
    {
        _loop.CheckThread(nameof(AsTask));
        return LoopGate<T>.ForFuture(this, static f => ((AioTask<T>)f).Result());
    }
}

/// <summary>A task with state passed to a static body, so hot paths create tasks without a closure.</summary>
internal sealed class StatefulTask<TState, T>(EventLoop loop, Func<TState, Task<T>> body, TState state, string? name)
    : AioTask<T>(loop, body, name)
{
    private TState _arg = state;

    private protected override Task InvokeBody(object start)
    {
        TState arg = _arg;
        _arg = default!;
        return ((Func<TState, Task<T>>)start)(arg);
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
