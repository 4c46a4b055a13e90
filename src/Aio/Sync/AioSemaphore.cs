// AioSemaphore: asyncio's Semaphore, fair by hand-off (like AioLock).
//
// Design note. Release with tasks waiting gives its permit straight to the oldest waiter instead of
// incrementing the counter, so a newcomer cannot take it first (asyncio ≥ 3.11.1 is fair the same way:
// it decrements the counter at wake-up). A woken waiter that has not run yet is still ahead of everyone
// who asks later: while one exists (_woken > 0) the semaphore is Locked and AcquireAsync queues even if
// a permit is free (released meanwhile with nobody parked), so a task that releases and re-acquires at
// once cannot overtake it. When a woken waiter runs, it hands any free permits on to the tasks parked
// behind it (asyncio's wake-up loop at the end of acquire). A waiter cancelled after being handed a
// permit but before it ran gives the permit back through ReleaseCore, which hands it to the next waiter.
using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A counter of permits for tasks (asyncio's <c>Semaphore</c>): <see cref="AcquireAsync"/> takes one, waiting
/// (FIFO) while none is free; <see cref="Release"/> returns one and may exceed the initial value. Use it as
/// <c>using (await sem.AcquireAsync()) { ... }</c>.
/// </summary>
/// <remarks>
/// A semaphore belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.
/// <see cref="AcquireAsync"/> returns a <see cref="ValueTask{TResult}"/> (see <see cref="AioLock.AcquireAsync"/> for why).
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The cached releaser only releases; it owns no resource to dispose.")]
public class AioSemaphore : IValueTaskSource<IDisposable>, IWaitTarget
{
    // Invariants (checked by AssertInvariants):
    //   _value >= 0;  _woken >= 0;  _value > 0 and _woken == 0  =>  nobody is parked (Release hands a permit to a
    //   waiter rather than counting it, tasks park only when Locked, and the last woken waiter to run hands the
    //   free permits on);  _value <= _bound.
    private readonly ParkingLot _waiters;     // tasks waiting for a permit, oldest first
    private readonly List<AioTask> _holders;  // tasks holding a permit, oldest first (diagnostics; acquisitions outside a task are not listed)
    private readonly IDisposable _releaser;   // returned by every acquisition; cached: no allocation
    private readonly int _bound;              // the most _value may reach: int.MaxValue, or the initial value for AioBoundedSemaphore
    private readonly int _id;                 // label number in hang reports
    private int _value;                       // free permits (permits handed to woken waiters are not counted)
    private int _woken;                       // waiters handed a permit that have not run yet: they go first
    private EventLoop? _loop;                 // the loop this semaphore belongs to; null until first used on a loop (or created on one)

    /// <summary>Creates a semaphore with <paramref name="value"/> free permits.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is negative.</exception>
    public AioSemaphore(int value = 1) : this(value, int.MaxValue)
    {
    }

    private protected AioSemaphore(int value, int bound)
    {
        if (value < 0)
        {
            SyncThrowHelper.NegativeValue(nameof(value), value);
        }
        _value = value;
        _bound = bound;
        _waiters = new ParkingLot(this);
        _holders = new List<AioTask>();
        _releaser = new Releaser(this);
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>
    /// True when an acquisition would have to wait: no free permit, or tasks already waiting – including tasks
    /// handed a permit that have not run yet (asyncio counts them the same way).
    /// </summary>
    public bool Locked => _value == 0 || _waiters.Count > 0 || _woken > 0;

    /// <summary>The number of free permits.</summary>
    public int Value => _value;

    /// <summary>Takes a permit, waiting (FIFO) while none is free; the result returns it when disposed. Allocation-free.</summary>
    /// <exception cref="CancelledError">The task is cancelled; it holds no permit then.</exception>
    /// <exception cref="InvalidOperationException">Called outside the loop's thread, or outside a task when it would have to wait.</exception>
    public ValueTask<IDisposable> AcquireAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(AcquireAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (_value > 0 && _woken == 0)   // then nobody is parked either (see the invariants)
        {
            _value--;
            if (task is not null)
            {
                _holders.Add(task);
            }
            AssertInvariants();
            return new ValueTask<IDisposable>(_releaser);
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(AcquireAsync));
        return new ValueTask<IDisposable>(this, ParkedWait.Park(_waiters, task));
    }

    /// <summary>Returns a permit: hands it to the oldest waiter if there is one, else counts it as free.</summary>
    /// <exception cref="InvalidOperationException">An <see cref="AioBoundedSemaphore"/> would exceed its initial value.</exception>
    public void Release()
    {
        EventLoop? loop = LoopAffinity.Check(ref _loop, this, nameof(Release));
        if (_value >= _bound)
        {
            SyncThrowHelper.SemaphoreOverReleased(this, _bound);
        }
        ForgetHolder(loop?.CurrentTaskInternal);
        ReleaseCore();
    }

    private void ReleaseCore()
    {
        if (_waiters.UnparkOne())
        {
            _woken++;
        }
        else
        {
            _value++;
        }
        AssertInvariants();
    }

    private void ForgetHolder(AioTask? task)
    {
        // The releasing task is normally a holder; a release on someone's behalf forgets the oldest holder.
        int i = task is null ? -1 : _holders.LastIndexOf(task);
        if (i >= 0)
        {
            _holders.RemoveAt(i);
        }
        else if (_holders.Count > 0)
        {
            _holders.RemoveAt(0);
        }
    }

    ValueTaskSourceStatus IValueTaskSource<IDisposable>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<IDisposable>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    IDisposable IValueTaskSource<IDisposable>.GetResult(short token)
    {
        AioTask task = ParkedWait.End(_loop, token);
        // Woken: Release handed us a permit.
        _woken--;
        if (task.IsEffectivelyCancelled())
        {
            // Handed a permit, then cancelled before running: give it to the next waiter (or back), then raise.
            ReleaseCore();
            HandOnFreePermits();
            task.ThrowIfCancelled();
        }
        HandOnFreePermits();
        _holders.Add(task);
        AssertInvariants();
        return _releaser;
    }

    private void HandOnFreePermits()
    {
        // Permits released while woken waiters had not run were counted as free; tasks parked behind those waiters
        // (Locked made them wait) get them now, oldest first.
        while (_value > 0 && _waiters.UnparkOne())
        {
            _value--;
            _woken++;
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_value >= 0, "An AioSemaphore's free permit count must never be negative.");
        Debug.Assert(_woken >= 0, "An AioSemaphore's count of woken waiters must never be negative.");
        Debug.Assert(_value == 0 || _waiters.Count == 0 || _woken > 0, "An AioSemaphore with free permits must have no parked waiters unless woken waiters are still to run: Release hands permits to waiters first.");
        Debug.Assert(_value <= _bound, "A bounded semaphore's free permits must never exceed its initial value.");
    }

    string IWaitTarget.Label => $"{GetType().Name}#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => "waits to acquire";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => _holders.ToArray();

    /// <summary>asyncio-style description: <c>&lt;AioSemaphore [unlocked, value:2]&gt;</c>, <c>&lt;AioSemaphore [locked, waiters:1]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = Locked ? "locked" : $"unlocked, value:{_value}";
        int waiters = _waiters.Count;
        string name = GetType().Name;
        return waiters > 0 ? $"<{name} [{state}, waiters:{waiters}]>" : $"<{name} [{state}]>";
    }

    private sealed class Releaser(AioSemaphore owner) : IDisposable
    {
        public void Dispose() => owner.Release();
    }
}
