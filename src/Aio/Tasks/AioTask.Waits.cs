// AioTask, waits: how a task parks in an Aio wait and is resumed (the class's design note is in AioTask.cs).
//
// Design note. A task's waits normally come one at a time: its body awaits one Aio awaitable, resumes,
// awaits the next. Such a wait lives in the task itself (the main wait, _wait), so it allocates nothing.
// But one task may run several async methods at once – `Task a = F(); await Sleep(1); await a;`, or
// Task.WhenAll over helpers that await Aio operations – and then a wait begins while the main one is still
// taken (parked with its continuation, or resumed with its step queued). Such a wait becomes a side wait:
// a small object on the task's side list holding the same WaitSlot, found by its id (the ValueTask token
// carries its low 16 bits), and dropped when its step has run.
//
// Both kinds are one WaitSlot and go through the same transitions (the slot's methods, each checked by
// AssertInvariants in debug builds); only where a resumption's step is queued differs (QueueMainStep,
// SideWait.QueueStep). The phases:
//
//   None ──Begin──▶ Parked ──Resume──▶ Resumed ──continuation set──▶ StepQueued ──step starts──▶ None
//                     │   ╲                                              ▲       (main; a side wait is dropped)
//                     │    ╲──continuation set, then Resume──────────────┘
//                     └──never awaited: abandoned (the next Begin, or DropAbandonedSideWaits) ──▶ None
//
// A cancellation aborts a parked wait (TryMarkAborted, then its abort object or kind decides); unless the
// abort keeps it, it is resumed with CancelledError like any wake-up. A yield resumes itself when its
// continuation is set (Parked ──▶ StepQueued at once).
//
// Why each detail exists (tests in ConcurrentWaitTests, CoroutineTests, CancellationTests pin them down):
//   - Resumed before the continuation is set: a task that wakes its own wait (its waker runs in the step
//     that began the wait); the step is queued when the awaiter suspends.
//   - Sleep(0) (Kind Yield) resumes itself when the awaiter suspends, so its continuation runs on the next
//     iteration; nothing can wake a queued yield again, so the main wait does not even keep the continuation.
//   - A wait begun and never awaited (an awaiter always suspends at once) is abandoned by the next Begin: a
//     sleep's timer entry is dead, a ParkingLot stops counting it.
//   - Aborted: a cancellation runs a wait's abort once; an abort that keeps the wait (an awaited task being
//     cancelled, a TaskGroup) must not run again after every later step of the task.
//   - When the task finishes, waits of async methods it started and left running (orphaned helpers) resume
//     with CancelledError, except waits on futures, which resume when the future is done.
//   - Tokens are 16 bits of loop-wide ids: a new wait's id is chosen so that its token differs from every
//     live wait's of the task (DistinctWaitId).
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;

namespace Aio;

public partial class AioTask
{
    private WaitSlot _wait;                  // the main wait (accessed in place: never copy it)

    private enum WaitPhase : byte
    {
        None,        // no wait in progress: none begun, it was abandoned, or its resumption's step has started
        Parked,      // begun and not resumed: Obj is its abort (or null)
        Resumed,     // resumed before the awaiter gave its continuation: the step is queued when it does
        StepQueued,  // resumed, and its step is on the ready ring
    }

    private enum WaitKind : byte
    {
        Other,       // a primitive's, a future's or a TaskGroup's wait: Obj is its abort
        Sleep,       // parked on a loop timer
        Yield,       // Sleep(0): resumes itself when the awaiter suspends
    }

    /// <summary>One Aio wait of a task: the main wait (a field of the task) or a side wait (in a <see cref="SideWait"/>).</summary>
    private struct WaitSlot
    {
        public object? Obj;                       // Parked: the IWaitAbort, or null; once resumed: the Exception to throw, or null
        public Action<object?>? Continuation;     // what resumes the awaiter; set when it suspends
        public object? State;
        public int Id;                            // identifies the wait to its waker; its low 16 bits are the ValueTask token
        public WaitPhase Phase;
        public WaitKind Kind;
        public bool LevelTriggered;               // resuming normally still throws CancelledError if a scope is cancelled
        public bool Aborted;                      // a cancellation ran its abort (it runs once)

        /// <summary>Taken: another wait begun now must be a side wait (this one is awaited and not over, or its step is queued).</summary>
        public readonly bool IsTaken
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => Phase == WaitPhase.StepQueued || (Phase == WaitPhase.Parked && Continuation is not null);
        }

        /// <summary>Begun and never awaited (an awaiter sets the continuation at once when it suspends).</summary>
        public readonly bool IsAbandoned => Phase == WaitPhase.Parked && Continuation is null;

        /// <summary>Resumed, its step queued or to be queued when the continuation comes.</summary>
        public readonly bool IsResumed => Phase >= WaitPhase.Resumed;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Begin(int id, WaitKind kind, object? abort, bool levelTriggered)
        {
            Id = id;
            Phase = WaitPhase.Parked;
            Kind = kind;
            if (kind == WaitKind.Other)
            {
                Obj = abort;
            }
            else
            {
                Obj = null; // a sleep or a yield: a constant store, no GC write barrier on these hot paths
            }
            LevelTriggered = levelTriggered;
            Aborted = false;
            Continuation = null;
            State = null;
            AssertInvariants();
        }

        /// <summary>
        /// The awaiter suspended. Returns true when the step must be queued now: the wait was resumed already, or
        /// it is a yield, which resumes itself here (its continuation is not kept: nothing can wake it again).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool SetContinuation(Action<object?> continuation, object? state)
        {
            if (Kind == WaitKind.Yield && Phase == WaitPhase.Parked)
            {
                Phase = WaitPhase.Resumed;
                AssertInvariants();
                return true;
            }
            Continuation = continuation;
            State = state;
            AssertInvariants();
            return IsResumed;
        }

        /// <summary>The waker's call: a parked wait takes <paramref name="error"/> (null: woken normally) as its outcome; false if not parked.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Resume(Exception? error)
        {
            if (Phase != WaitPhase.Parked)
            {
                return false;
            }
            Phase = WaitPhase.Resumed;
            Obj = error;
            AssertInvariants();
            return true;
        }

        /// <summary>The resumption's step was put on the ready ring.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void StepQueued()
        {
            Phase = WaitPhase.StepQueued;
            AssertInvariants();
        }

        /// <summary>The resumption's step started: the wait is over, but its outcome stays in Obj until the awaiter's GetResult.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void StepStarted()
        {
            if (Phase != WaitPhase.Parked)
            {
                Phase = WaitPhase.None;
            }
            AssertInvariants();
        }

        /// <summary>The awaiter's GetResult: returns the outcome (null, or the Exception to throw) and forgets the wait's objects.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public object? End()
        {
            Debug.Assert(Phase != WaitPhase.StepQueued, "An Aio wait must not end while its step is still queued: its awaiter's GetResult runs in that step.");
            object? outcome = Obj;
            Obj = null;
            if (Phase == WaitPhase.Resumed)
            {
                Phase = WaitPhase.None; // woken before the awaiter suspended, so it never did: GetResult came at once
            }
            Continuation = null;
            State = null;
            AssertInvariants();
            return outcome;
        }

        /// <summary>A cancellation reaches the wait: true (and marked) if its abort is to run now, which happens once per wait.</summary>
        public bool TryMarkAborted(bool keepFutureWaits)
        {
            if (Phase != WaitPhase.Parked || Aborted || (keepFutureWaits && Obj is AioFuture))
            {
                return false;
            }
            Aborted = true;
            AssertInvariants();
            return true;
        }

        /// <summary>The wait was never awaited: it is dropped.</summary>
        public void Abandon()
        {
            Debug.Assert(IsAbandoned, "Only a parked wait that was never awaited can be abandoned.");
            Phase = WaitPhase.None;
            AssertInvariants();
        }

        /// <summary>Once the task is done and no step of this wait is pending: drop the references it keeps.</summary>
        public void Clear()
        {
            Continuation = null;
            State = null;
            Obj = null;
            AssertInvariants();
        }

        [Conditional("DEBUG")]
        public readonly void AssertInvariants()
        {
            Debug.Assert(Phase == WaitPhase.None || Id != 0, "A wait in progress must have a nonzero id: ready items with id 0 resume no wait.");
            Debug.Assert(Phase != WaitPhase.Parked || Obj is null or IWaitAbort,
                "A parked wait's object must be its abort (an IWaitAbort) or nothing.");
            Debug.Assert(Phase != WaitPhase.Parked || Kind == WaitKind.Other || Obj is null,
                "A parked sleep or yield must keep no abort object: its kind says how to abort it.");
            Debug.Assert(!IsResumed || Obj is null || Obj is Exception,
                "A resumed wait's object must be the exception to throw at its awaiter, or nothing.");
            Debug.Assert(!(Phase == WaitPhase.Resumed && Kind == WaitKind.Yield && Continuation is not null),
                "A yield that has its continuation must have its step queued: it resumes itself when the awaiter suspends.");
        }
    }

    /// <summary>
    /// Starts a wait of this (the current) task on an Aio awaitable: records how to abort it and returns its id.
    /// The awaiter then calls <see cref="SetContinuation"/>; the waker calls <see cref="Resume"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int BeginWait(object? abort, bool levelTriggered) => BeginWait(WaitKind.Other, abort, levelTriggered);

    private int BeginWait(WaitKind kind, object? abort, bool levelTriggered)
    {
        int id = _loop.NextWaitId();
        bool mainTaken = _wait.IsTaken;
        if (mainTaken || _extras?.SideWaits is not null)
        {
            id = DistinctWaitId(id, mainTaken);
        }
        if (mainTaken)
        {
            TaskExtras extras = Extras;
            var side = new SideWait(this) { Next = extras.SideWaits };
            Debug.Assert((short)id != (short)_wait.Id, "A side wait's token must differ from the main wait's, or its ValueTask would find the main wait.");
            side.Slot.Begin(id, kind, abort, levelTriggered);
            extras.SideWaits = side;
            return id;
        }
        if (_wait.Phase == WaitPhase.Parked)
        {
            // A wait that was begun but never awaited (its awaiter would have set the continuation at once).
            _wait.Abandon();
            AbandonWait(_wait.Id, _wait.Kind, _wait.Obj);
        }
        _wait.Begin(id, kind, abort, levelTriggered);
        return id;
    }

    /// <summary>The awaiter of wait <paramref name="token"/> suspended: <paramref name="continuation"/> resumes it.</summary>
    internal void SetContinuation(short token, Action<object?> continuation, object? state)
    {
        if ((short)_wait.Id != token)
        {
            FindSideWait(token, TokenMask)?.SetContinuation(continuation, state);
            return;
        }
        if (_wait.SetContinuation(continuation, state))
        {
            // Resumed already: a Sleep(0), which resumes now so that the continuation runs on the next iteration,
            // or a wait woken between BeginWait and the awaiter suspending (a task that woke its own wait).
            QueueMainStep(continuation, state);
        }
    }

    /// <summary>Resumes the parked task (called by whoever completes its wait); returns false for a stale wait id.</summary>
    internal bool Resume(int waitId, Exception? error)
    {
        if (_wait.Id != waitId)
        {
            return ResumeSideWait(waitId, error);
        }
        if (!_wait.Resume(error))
        {
            return false;
        }
        if (_wait.Continuation is { } continuation)
        {
            QueueMainStep(continuation, _wait.State);
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void QueueMainStep(Action<object?> continuation, object? state)
    {
        _wait.StepQueued();
        _loop.EnqueueStep(this, continuation, state, _wait.Id);
    }

    private bool ResumeSideWait(int waitId, Exception? error) => FindSideWait(waitId, ExactMask)?.Resume(error) ?? false;

    /// <summary>A ready item with this wait id is running: it is the main wait's resumption.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void OnMainWaitStep(int waitId)
    {
        if (waitId == _wait.Id)
        {
            _wait.StepStarted(); // a future's await does not pass through EndWait
        }
    }

    /// <summary>Ends wait <paramref name="token"/> when the awaiter's GetResult runs: throws what the waker or a cancellation left.</summary>
    internal void EndWait(short token)
    {
        if ((short)_wait.Id != token)
        {
            EndSideWait(token);
            return;
        }
        object? outcome = _wait.End();
        if (outcome is not null)
        {
            ThrowOutcome(outcome, _wait.LevelTriggered);
        }
        else if (_wait.LevelTriggered && TryGetCancellation(out string? message))
        {
            ThrowCancelled(message);
        }
    }

    private void EndSideWait(short token)
    {
        SideWait side = FindSideWait(token, TokenMask) ?? throw ThrowHelper.StaleAioWait(this);
        RemoveSideWait(side);
        ThrowOutcome(side.Slot.End(), side.Slot.LevelTriggered);
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
        (short)_wait.Id != token ? GetSideWaitStatus(token)
        : _wait.Phase == WaitPhase.Parked ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

    private ValueTaskSourceStatus GetSideWaitStatus(short token) =>
        (FindSideWait(token, TokenMask) ?? throw ThrowHelper.StaleAioWait(this)).Slot.Phase == WaitPhase.Parked
            ? ValueTaskSourceStatus.Pending : ValueTaskSourceStatus.Succeeded;

    /// <summary>Whether wait <paramref name="waitId"/> is still parked (not resumed, not cancelled).</summary>
    internal bool IsWaiting(int waitId) => _wait.Id == waitId
        ? _wait.Phase == WaitPhase.Parked
        : FindSideWait(waitId, ExactMask) is { Slot.Phase: WaitPhase.Parked };

    /// <summary>Whether wait <paramref name="waitId"/> is a sleep still parked on its timer.</summary>
    internal bool IsSleepingOn(int waitId) => _wait.Id == waitId
        ? _wait.Phase == WaitPhase.Parked && _wait.Kind == WaitKind.Sleep
        : FindSideWait(waitId, ExactMask) is { Slot: { Phase: WaitPhase.Parked, Kind: WaitKind.Sleep } };

    /// <summary>True while any wait of this task is parked or has its resumption queued (Aio will wake it; not a foreign wait).</summary>
    internal bool IsParked
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _wait.Phase == WaitPhase.Parked || _extras?.SideWaits is not null;
    }

    /// <summary>The main wait was resumed and its step is queued, or will be once the awaiter suspends.</summary>
    internal bool ResumeQueued => _wait.IsResumed;

    /// <summary>The main wait is parked (for hang reports).</summary>
    internal bool MainWaitParked => _wait.Phase == WaitPhase.Parked;

    /// <summary>The main wait is a sleep parked on its timer (for hang reports).</summary>
    internal bool MainWaitSleeping => MainWaitParked && _wait.Kind == WaitKind.Sleep;

    /// <summary>What the parked main wait waits on: its abort (a ParkingLot, a future, a TaskGroup, …), or null (for hang reports).</summary>
    internal object? MainWaitAbort => MainWaitParked ? _wait.Obj : null;

    /// <summary>Starts a sleep until <paramref name="when"/>: arms a loop timer, or for a delay of 0 or less, a one-iteration yield.</summary>
    internal ValueTask Sleep(double when, bool yieldOnly)
    {
        if (TryGetCancellation(out string? message))
        {
            MarkCancelDelivered();
            return ValueTask.FromException(new CancelledError(message));
        }
        int id = BeginWait(yieldOnly ? WaitKind.Yield : WaitKind.Sleep, null, levelTriggered: true);
        if (!yieldOnly)
        {
            _loop.PushSleep(when, this, id);
        }
        return new ValueTask(Context, (short)id);
    }

    /// <summary>Parks this task until <see cref="Resume"/> is called with the returned id (the low-level wait of primitives).</summary>
    internal ValueTask Park(IWaitAbort? abort, out int waitId)
    {
        waitId = BeginWait(WaitKind.Other, abort, levelTriggered: false);
        return new ValueTask(Context, (short)waitId);
    }

    /// <summary>
    /// Aborts every wait this task is parked in: each resumes with <see cref="CancelledError"/>, unless its abort
    /// keeps it (an awaited task being cancelled, a TaskGroup). Each wait's abort runs once: a kept wait must not
    /// be aborted again after every later step of this task's other methods.
    /// </summary>
    private void AbortParkedWaits(string? message, bool keepFutureWaits)
    {
        if (_wait.TryMarkAborted(keepFutureWaits))
        {
            AbortWait(_wait.Id, _wait.Kind, _wait.Obj, message);
        }
        for (SideWait? side = _extras?.SideWaits; side is not null; side = side.Next)
        {
            if (side.Slot.TryMarkAborted(keepFutureWaits))
            {
                AbortWait(side.Slot.Id, side.Slot.Kind, side.Slot.Obj, message);
            }
        }
    }

    private void AbortWait(int waitId, WaitKind kind, object? abort, string? message)
    {
        if (abort is IWaitAbort waitAbort)
        {
            if (!waitAbort.AbortWait(this, waitId, message))
            {
                return; // the abort resumed the wait itself (a cancelled future wakes its waiters), or keeps it
            }
        }
        else if (kind == WaitKind.Sleep)
        {
            _loop.OnSleepAbandoned();
        }
        Resume(waitId, new CancelledError(message));
    }

    /// <summary>A wait nobody awaited: its sleep's timer entry is dead, and a ParkingLot stops counting it.</summary>
    private void AbandonWait(int waitId, WaitKind kind, object? abort)
    {
        if (kind == WaitKind.Sleep)
        {
            _loop.OnSleepAbandoned();
        }
        else if (abort is ParkingLot lot)
        {
            ((IWaitAbort)lot).AbortWait(this, waitId, null);
        }
    }

    /// <summary>
    /// The task finished while async methods it started still wait (fire-and-forget helpers): a sleep, a yield or
    /// a primitive's wait resumes them with <see cref="CancelledError"/>; a wait on a future keeps going and
    /// resumes them when the future is done. Their steps still run as this (finished) task, and their records stay
    /// until those steps have run; the main wait's references are dropped once no step of it is pending.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReleaseWaitsOfFinishedTask()
    {
        if (IsParked)
        {
            ReleaseOrphanedWaits();
        }
        if (_wait.Phase is not (WaitPhase.Parked or WaitPhase.StepQueued))
        {
            _wait.Clear();
        }
    }

    private void ReleaseOrphanedWaits() =>
        AbortParkedWaits($"{this} finished while an async method it started was still waiting", keepFutureWaits: true);

    /// <summary>
    /// A wait id whose 16-bit token no other live wait of this task has (ids are loop-wide, tokens are not
    /// unique): so a token always finds its own wait. Also drops side waits that were begun and never awaited.
    /// </summary>
    private int DistinctWaitId(int id, bool mainTaken)
    {
        DropAbandonedSideWaits();
        for (int tries = 0; id == 0 || (mainTaken && (short)id == (short)_wait.Id) || FindSideWait(id, TokenMask) is not null; tries++)
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
            if (side.Slot.IsAbandoned)
            {
                side.Slot.Abandon();
                AbandonWait(side.Slot.Id, side.Slot.Kind, side.Slot.Obj);
                RemoveSideWait(side);
            }
        }
    }

    private const int ExactMask = -1;      // match a whole wait id
    private const int TokenMask = 0xFFFF;  // match the 16 bits a ValueTask token carries

    private SideWait? FindSideWait(int id, int mask)
    {
        for (SideWait? side = _extras?.SideWaits; side is not null; side = side.Next)
        {
            if (((side.Slot.Id ^ id) & mask) == 0)
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

    /// <summary>A wait begun while the main one was taken (see the note above): a <see cref="WaitSlot"/> on the task's side list.</summary>
    private sealed class SideWait(AioTask owner)
    {
        public readonly AioTask Owner = owner;
        public WaitSlot Slot;              // accessed in place: never copy it
        public SideWait? Next;

        public void SetContinuation(Action<object?> continuation, object? state)
        {
            bool queue = Slot.SetContinuation(continuation, state);
            Slot.Continuation = continuation; // a side wait's step reads them here, a yield's too
            Slot.State = state;
            if (queue)
            {
                QueueStep();
            }
        }

        public bool Resume(Exception? error)
        {
            if (!Slot.Resume(error))
            {
                return false;
            }
            if (Slot.Continuation is not null)
            {
                QueueStep();
            }
            return true;
        }

        private void QueueStep()
        {
            Slot.StepQueued();
            Owner._loop.EnqueueStep(Owner, s_runStep, this, 0);
        }

        /// <summary>Runs the continuation as a step of the task; afterwards the wait is gone (a future's await never calls EndWait).</summary>
        private static readonly Action<object?> s_runStep = static s =>
        {
            var side = (SideWait)s!;
            side.Slot.StepStarted();
            try
            {
                side.Slot.Continuation!(side.Slot.State);
            }
            finally
            {
                side.Owner.RemoveSideWait(side);
            }
        };
    }
}
