// AioLock: asyncio's Lock, fair by hand-off.
//
// Design note. Release with tasks waiting does not unlock: it hands the lock to the oldest waiter,
// which owns it from that moment (it runs on a later iteration). So a newcomer can never barge past a
// woken waiter, and Locked stays true across the hand-off (asyncio lets locked() read False briefly).
// A waiter cancelled after the hand-off but before it ran finds, on resuming, that it owns a lock it no
// longer wants: it releases it at once (handing it on) and throws CancelledError. No wake-up is lost and
// no task ever holds the lock twice.
//
// Each acquisition is numbered (_ticket, from _lastTicket, never reused) and its Releaser carries the number:
// disposing it releases only while that acquisition still holds the lock, so a second Dispose (or a Dispose
// after Release) does nothing instead of releasing the next owner's lock. The releaser is a struct: no
// allocation. AioCondition keeps the number across WaitAsync's release and re-acquisition (RestoreTicket).
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
/// <see cref="AcquireAsync"/> returns a <see cref="ValueTask{TResult}"/> of a <see cref="Releaser"/> struct rather than the API map's
/// <c>Task&lt;IDisposable&gt;</c>: an uncontended acquisition then completes synchronously and allocates
/// nothing, and a contended one allocates nothing either (the lock is the awaitable's source). Await it at
/// once, exactly once. The releaser releases the acquisition it came from once: disposing it again does nothing.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioLock : IValueTaskSource<AioLock.Releaser>, IWaitTarget
{
    // Invariants (checked by AssertInvariants):
    //   !_locked  =>  _owner is null and nobody is parked in _waiters (Release hands the lock to a waiter
    //                 instead of unlocking, and tasks park only while it is locked).
    private readonly ParkingLot _waiters;  // tasks waiting to acquire, oldest first
    private readonly int _id;              // label number in hang reports
    private bool _locked;                  // held by a task, or handed to a woken waiter that has not run yet
    private AioTask? _owner;               // the holder; null when unlocked, when acquired outside a task, or while handed over and not yet resumed
    private long _ticket;                  // the number of the acquisition holding the lock; 0 when unlocked or handed over and not yet resumed
    private long _lastTicket;              // the last number given out; acquisition numbers are never reused
    private EventLoop? _loop;              // the loop this lock belongs to; null until first used on a running loop (or created on one)

    /// <summary>Creates an unlocked lock.</summary>
    public AioLock()
    {
        _waiters = new ParkingLot(this);
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>True while a task holds the lock (or it has been handed to a woken waiter).</summary>
    public bool Locked => _locked;

    /// <summary>The task holding the lock, or null (for diagnostics and AioCondition's ownership check).</summary>
    internal AioTask? Owner => _owner;

    /// <summary>
    /// Acquires the lock, waiting (FIFO) while another task holds it; the result releases it when disposed
    /// (once: a second dispose does nothing). Completes synchronously, without allocating, when the lock is free.
    /// </summary>
    /// <exception cref="CancelledError">The task is cancelled (also when already cancelled: every Aio await is a checkpoint). The lock is not held then.</exception>
    /// <exception cref="InvalidOperationException">Called outside the loop's thread, or outside a task when it would have to wait.</exception>
    public ValueTask<Releaser> AcquireAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(AcquireAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (!_locked)
        {
            _locked = true;
            _owner = task;
            _ticket = ++_lastTicket;
            AssertInvariants();
            return new ValueTask<Releaser>(new Releaser(this, _ticket));
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(AcquireAsync));
        short token = ParkedWait.Park(_waiters, task);
        return new ValueTask<Releaser>(this, token);
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

    /// <summary>The releaser's Dispose: releases only while acquisition <paramref name="ticket"/> holds the lock.</summary>
    private void ReleaseOnce(long ticket)
    {
        LoopAffinity.Check(ref _loop, this, nameof(Release));
        if (ticket == _ticket && _locked)
        {
            ReleaseCore();
        }
    }

    /// <summary>The number of the acquisition holding the lock (0 while unlocked or handed over).</summary>
    internal long Ticket => _ticket;

    /// <summary>
    /// Makes the current acquisition carry <paramref name="ticket"/> again: AioCondition.WaitAsync releases and
    /// re-acquires the lock for its caller, whose releaser must still release it afterwards.
    /// </summary>
    internal void RestoreTicket(long ticket)
    {
        Debug.Assert(_locked && ticket <= _lastTicket, "Only a held lock takes back a ticket given out earlier.");
        if (ticket != 0)
        {
            _ticket = ticket;
        }
    }

    private void ReleaseCore()
    {
        _owner = null;
        _ticket = 0;
        if (!_waiters.UnparkOne())
        {
            _locked = false;
        }
        AssertInvariants();
    }

    ValueTaskSourceStatus IValueTaskSource<Releaser>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<Releaser>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    Releaser IValueTaskSource<Releaser>.GetResult(short token)
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
        _ticket = ++_lastTicket;
        AssertInvariants();
        return new Releaser(this, _ticket);
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_locked || _owner is null, "An unlocked AioLock must have no owner.");
        Debug.Assert(_locked || _ticket == 0, "An unlocked AioLock must have no current acquisition number.");
        Debug.Assert(_locked || _waiters.Count == 0, "An unlocked AioLock must have no parked waiters: Release hands the lock to a waiter instead of unlocking.");
    }

    string IWaitTarget.Label => $"AioLock#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => "waits to acquire";

    string IWaitTarget.DescribeWaitInChain(ParkingLot lot) => "waits";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => _owner is null ? [] : [_owner];

    /// <summary>asyncio-style description: <c>&lt;AioLock [locked, waiters:2]&gt;</c>, <c>&lt;AioLock [unlocked]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _locked ? "locked" : "unlocked";
        int waiters = _waiters.Count;
        return waiters > 0 ? $"<AioLock [{state}, waiters:{waiters}]>" : $"<AioLock [{state}]>";
    }

    /// <summary>
    /// Releases one acquisition of an <see cref="AioLock"/> when disposed: <c>using (await lk.AcquireAsync()) { ... }</c>.
    /// Disposing it again, or after the lock was released by <see cref="Release"/>, does nothing; so does disposing
    /// the default value.
    /// </summary>
    public readonly struct Releaser : IDisposable
    {
        private readonly AioLock? _lock;
        private readonly long _ticket;

        internal Releaser(AioLock lk, long ticket)
        {
            _lock = lk;
            _ticket = ticket;
        }

        /// <summary>Releases the lock if this acquisition still holds it; otherwise does nothing.</summary>
        /// <exception cref="InvalidOperationException">Called outside the lock's loop thread.</exception>
        public void Dispose() => _lock?.ReleaseOnce(_ticket);
    }
}
