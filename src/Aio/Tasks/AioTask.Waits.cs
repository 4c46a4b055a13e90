// AioTask, waits: how a task parks in an Aio wait and is resumed (the class's design note is in AioTask.cs;
// the note on main and side waits is at the top of the "waits" section below).
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;

namespace Aio;

public partial class AioTask
{
    private static readonly object s_sleepMarker = new();   // _waitObj of a sleep
    private static readonly object s_yieldMarker = new();   // _waitObj of a Sleep(0)

    // The main wait: usually a task's only one; waits begun while it is taken are side waits (see "waits" below).
    internal int _waitId;                    // id of the main wait; identifies the wait to its waker
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

}
