// AioCondition: asyncio's Condition on top of an AioLock and a ParkingLot of waiters.
//
// Design note. WaitAsync releases the lock, parks until notified, and re-acquires the lock before it
// returns or throws — even when cancelled — so the caller's 'using' block always releases a lock it
// holds. The re-acquisition runs in a shielded CancelScope: a cancellation that arrives meanwhile is
// raised after the lock is back. A waiter that was notified and then cancelled before it ran passes the
// notification to the next waiter (asyncio 3.13), so Notify(1) is never lost to a cancellation.
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A condition variable for tasks (asyncio's <c>Condition</c>): tasks holding its lock wait with
/// <see cref="WaitAsync"/> until another task calls <see cref="Notify"/> or <see cref="NotifyAll"/>.
/// </summary>
/// <remarks>A condition belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioCondition : IWaitTarget
{
    private readonly AioLock _lock;        // the underlying lock; shared when passed to the constructor
    private readonly ParkingLot _waiters;  // tasks waiting for a notification, oldest first
    private readonly int _id;              // label number in hang reports
    private EventLoop? _loop;              // the loop this condition belongs to; null until first used on a loop (or created on one)

    /// <summary>Creates a condition over <paramref name="lk"/>, or over a new lock when null.</summary>
    public AioCondition(AioLock? lk = null)
    {
        _lock = lk ?? new AioLock();
        _waiters = new ParkingLot(this);
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>Who owns this condition for hang reports (an AioBarrier built on it), or null.</summary>
    internal IWaitTarget? ReportAs { get; set; }

    /// <summary>True while the underlying lock is held.</summary>
    public bool Locked => _lock.Locked;

    /// <summary>How many tasks wait for a notification.</summary>
    internal int WaiterCount => _waiters.Count;

    /// <summary>Acquires the underlying lock (see <see cref="AioLock.AcquireAsync"/>); dispose the result to release it.</summary>
    public ValueTask<AioLock.Releaser> AcquireAsync() => _lock.AcquireAsync();

    /// <summary>Releases the underlying lock.</summary>
    /// <exception cref="InvalidOperationException">The lock is not locked.</exception>
    public void Release() => _lock.Release();

    /// <summary>
    /// Releases the lock, waits until notified, and re-acquires the lock before returning — also when
    /// cancelled, so the caller always holds the lock afterwards. Like asyncio's, a wake-up does not prove
    /// the state changed: re-check it, or use <see cref="WaitForAsync{T}"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The current task does not hold the lock.</exception>
    /// <exception cref="CancelledError">The task was cancelled (the lock is held again when this is thrown).</exception>
    public async Task WaitAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(WaitAsync));
        AioTask task = LoopAffinity.RequireTask(loop, nameof(WaitAsync));
        CheckHeld(task, nameof(WaitAsync));
        long ticket = _lock.Ticket; // the caller's releaser must release the re-acquired lock
        _lock.Release();
        ExceptionDispatchInfo? error = null;
        try
        {
            await _waiters.ParkAsync();
            if (task.IsEffectivelyCancelled())
            {
                // Notified, then cancelled before running: the notification goes to the next waiter.
                _waiters.UnparkOne();
            }
        }
        catch (Exception e)
        {
            // Cancelled while parked (it left the queue without consuming a notification).
            error = ExceptionDispatchInfo.Capture(e);
        }
        await ReacquireAsync();
        _lock.RestoreTicket(ticket);
        error?.Throw();
        task.ThrowIfCancelled();
    }

    private async Task ReacquireAsync()
    {
        // Shielded: the lock must be held again whatever happens; the cancellation is raised afterwards.
        await new CancelScope(shield: true).RunAsync(async () => { await _lock.AcquireAsync(); });
    }

    /// <summary>
    /// Waits until <paramref name="predicate"/> returns a "true" value — anything but the default of
    /// <typeparamref name="T"/> (false, 0, null) — and returns it. Checks it first; calls
    /// <see cref="WaitAsync"/> between checks, so the lock must be held unless it is already true.
    /// </summary>
    /// <exception cref="InvalidOperationException">The predicate is false and the current task does not hold the lock.</exception>
    public async Task<T> WaitForAsync<T>(Func<T> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        T result = predicate();
        while (EqualityComparer<T>.Default.Equals(result, default!))
        {
            await WaitAsync();
            result = predicate();
        }
        return result;
    }

    /// <summary>Wakes up to <paramref name="n"/> waiting tasks, oldest first; each re-acquires the lock in turn.</summary>
    /// <exception cref="InvalidOperationException">The current task does not hold the lock.</exception>
    public void Notify(int n = 1)
    {
        EventLoop? loop = LoopAffinity.Check(ref _loop, this, nameof(Notify));
        CheckHeld(loop?.CurrentTaskInternal, nameof(Notify));
        if (n > 0)
        {
            _waiters.Unpark(n);
        }
    }

    /// <summary>Wakes every waiting task, oldest first.</summary>
    /// <exception cref="InvalidOperationException">The current task does not hold the lock.</exception>
    public void NotifyAll()
    {
        EventLoop? loop = LoopAffinity.Check(ref _loop, this, nameof(NotifyAll));
        CheckHeld(loop?.CurrentTaskInternal, nameof(NotifyAll));
        _waiters.UnparkAll();
    }

    private void CheckHeld(AioTask? task, string member)
    {
        if (!_lock.Locked)
        {
            SyncThrowHelper.ConditionNotLocked(this, member);
        }
        if (_lock.Owner is { } owner && task is not null && !ReferenceEquals(owner, task))
        {
            SyncThrowHelper.ConditionLockedByOther(this, member, owner);
        }
    }

    string IWaitTarget.Label => ReportAs?.Label ?? $"AioCondition#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => ReportAs?.DescribeWait(lot) ?? "waits for a notification of";

    string IWaitTarget.DescribeWaitInChain(ParkingLot lot) => ReportAs?.DescribeWaitInChain(lot) ?? "waits for a notification of";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => [];

    /// <summary>asyncio-style description: <c>&lt;AioCondition [locked, waiters:2]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _lock.Locked ? "locked" : "unlocked";
        int waiters = _waiters.Count;
        return waiters > 0 ? $"<AioCondition [{state}, waiters:{waiters}]>" : $"<AioCondition [{state}]>";
    }
}
