// AioLock: asyncio's Lock, fair by hand-off.
//
// Design note. Release with tasks waiting does not unlock: it hands the lock to the oldest waiter,
// which owns it from that moment (it runs on a later iteration). So a newcomer can never barge past a
// woken waiter, and Locked stays true across the hand-off (asyncio lets locked() read False briefly).
// A waiter cancelled after the hand-off but before it ran finds, on resuming, that it owns a lock it no
// longer wants: it releases it at once (handing it on) and throws CancelledError. No wake-up is lost and
// no task ever holds the lock twice.
using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A mutual-exclusion lock for tasks (asyncio's <c>Lock</c>): FIFO-fair, cancellation-safe, not reentrant.
/// Use it as <c>using (await lk.AcquireAsync()) { ... }</c>.
/// </summary>
/// <remarks>
/// A lock belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.
/// <see cref="AcquireAsync"/> returns a <see cref="ValueTask{TResult}"/> rather than the API map's
/// <c>Task&lt;IDisposable&gt;</c>: an uncontended acquisition then completes synchronously with a cached
/// releaser and allocates nothing, and a contended one allocates nothing either (the lock is the
/// awaitable's source). Await it at once, exactly once.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The cached releaser only releases; it owns no resource to dispose.")]
public sealed class AioLock : IValueTaskSource<IDisposable>, IWaitTarget
{
    // Invariants (checked by AssertInvariants):
    //   !_locked  =>  _owner is null and nobody is parked in _waiters (Release hands the lock to a waiter
    //                 instead of unlocking, and tasks park only while it is locked).
    private readonly ParkingLot _waiters;  // tasks waiting to acquire, oldest first
    private readonly Releaser _releaser;   // the IDisposable every acquisition returns; cached: no allocation
    private readonly int _id;              // label number in hang reports
    private bool _locked;                  // held by a task, or handed to a woken waiter that has not run yet
    private AioTask? _owner;               // the holder; null when unlocked, when acquired outside a task, or while handed over and not yet resumed
    private EventLoop? _loop;              // the loop this lock belongs to; null until first used on a running loop (or created on one)

    /// <summary>Creates an unlocked lock.</summary>
    public AioLock()
    {
        _waiters = new ParkingLot(this);
        _releaser = new Releaser(this);
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>True while a task holds the lock (or it has been handed to a woken waiter).</summary>
    public bool Locked => _locked;

    /// <summary>The task holding the lock, or null (for diagnostics and AioCondition's ownership check).</summary>
    internal AioTask? Owner => _owner;

    /// <summary>
    /// Acquires the lock, waiting (FIFO) while another task holds it; the result releases it when disposed.
    /// Completes synchronously, without allocating, when the lock is free.
    /// </summary>
    /// <exception cref="CancelledError">The task is cancelled (also when already cancelled: every Aio await is a checkpoint). The lock is not held then.</exception>
    /// <exception cref="InvalidOperationException">Called outside the loop's thread, or outside a task when it would have to wait.</exception>
    public ValueTask<IDisposable> AcquireAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(AcquireAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (!_locked)
        {
            _locked = true;
            _owner = task;
            AssertInvariants();
            return new ValueTask<IDisposable>(_releaser);
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(AcquireAsync));
        short token = ParkedWait.Park(_waiters, task);
        return new ValueTask<IDisposable>(this, token);
    }

    /// <summary>Releases the lock: hands it to the oldest waiter if there is one, else unlocks it.</summary>
    /// <exception cref="InvalidOperationException">The lock is not locked.</exception>
    public void Release()
    {
        LoopAffinity.Check(ref _loop, this, nameof(Release));
        if (!_locked)
        {
            SyncThrowHelper.ReleaseUnlocked(this);
        }
        ReleaseCore();
    }

    private void ReleaseCore()
    {
        _owner = null;
        if (!_waiters.UnparkOne())
        {
            _locked = false;
        }
        AssertInvariants();
    }

    ValueTaskSourceStatus IValueTaskSource<IDisposable>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<IDisposable>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    IDisposable IValueTaskSource<IDisposable>.GetResult(short token)
    {
        // Throws if the task was cancelled while parked: it left the queue and never got the lock.
        AioTask task = ParkedWait.End(_loop, token);
        // Woken: Release handed us the lock.
        Debug.Assert(_locked, "A woken waiter of an AioLock owns it, so the lock must be locked.");
        if (task.IsEffectivelyCancelled())
        {
            // Handed the lock, then cancelled before running: pass it to the next waiter, then raise.
            ReleaseCore();
            task.ThrowIfCancelled();
        }
        _owner = task;
        AssertInvariants();
        return _releaser;
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_locked || _owner is null, "An unlocked AioLock must have no owner.");
        Debug.Assert(_locked || _waiters.Count == 0, "An unlocked AioLock must have no parked waiters: Release hands the lock to a waiter instead of unlocking.");
    }

    string IWaitTarget.Label => $"AioLock#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => "waits to acquire";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => _owner is null ? [] : [_owner];

    /// <summary>asyncio-style description: <c>&lt;AioLock [locked, waiters:2]&gt;</c>, <c>&lt;AioLock [unlocked]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _locked ? "locked" : "unlocked";
        int waiters = _waiters.Count;
        return waiters > 0 ? $"<AioLock [{state}, waiters:{waiters}]>" : $"<AioLock [{state}]>";
    }

    /// <summary>The releaser returned by every acquisition; disposing it releases the lock once.</summary>
    private sealed class Releaser(AioLock owner) : IDisposable
    {
        public void Dispose() => owner.Release();
    }
}
