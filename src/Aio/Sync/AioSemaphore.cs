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
//
// Holders. Every acquisition takes a slot in _slots (reused through a free list) linked in acquisition order,
// and its Releaser carries the slot and the slot's generation: disposing it frees that slot in O(1) and
// returns the permit once; a second Dispose finds the generation changed and does nothing. Release() (no
// releaser) frees the releasing task's newest slot, else the oldest slot (a release on someone's behalf),
// which also makes that acquisition's releaser do nothing. The slots serve the hang report's blockers.
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
public class AioSemaphore : IValueTaskSource<AioSemaphore.Releaser>, IWaitTarget
{
    // Invariants (checked by AssertInvariants):
    //   _value >= 0;  _woken >= 0;  _value > 0 and _woken == 0  =>  nobody is parked (Release hands a permit to a
    //   waiter rather than counting it, tasks park only when Locked, and the last woken waiter to run hands the
    //   free permits on);  _value <= _bound.
    private readonly ParkingLot _waiters;     // tasks waiting for a permit, oldest first
    private Holder[] _slots;                  // one per acquisition not yet released, linked oldest first; free ones chained through Next
    private int _head = -1;                   // the oldest held slot, or -1
    private int _tail = -1;                   // the newest held slot, or -1
    private int _free = -1;                   // the first free slot, or -1
    private int _used;                        // slots ever used (the rest of _slots is untouched)
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
        _slots = new Holder[Math.Clamp(value, 1, 8)];
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

    /// <summary>
    /// Takes a permit, waiting (FIFO) while none is free; the result returns it when disposed (once: a second
    /// dispose does nothing). Allocation-free once as many permits as ever before are held.
    /// </summary>
    /// <exception cref="CancelledError">The task is cancelled; it holds no permit then.</exception>
    /// <exception cref="InvalidOperationException">Called outside the loop's thread, or outside a task when it would have to wait.</exception>
    public ValueTask<Releaser> AcquireAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(AcquireAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (_value > 0 && _woken == 0)   // then nobody is parked either (see the invariants)
        {
            _value--;
            Releaser releaser = AddHolder(task);
            AssertInvariants();
            return new ValueTask<Releaser>(releaser);
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(AcquireAsync));
        return new ValueTask<Releaser>(this, ParkedWait.Park(_waiters, task));
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

    /// <summary>The releaser's Dispose: returns the permit only while its acquisition (slot and generation) holds it.</summary>
    private void ReleaseOnce(int slot, int generation)
    {
        LoopAffinity.Check(ref _loop, this, nameof(Release));
        ref Holder h = ref _slots[slot];
        if (!h.Held || h.Generation != generation)
        {
            return; // released already
        }
        if (_value >= _bound)
        {
            SyncThrowHelper.SemaphoreOverReleased(this, _bound);
        }
        RemoveHolder(slot);
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
        // The releasing task is normally a holder (its newest slot goes); a release on someone's behalf forgets the
        // oldest holder. This scan is Release()'s only: a releaser knows its slot.
        int i = _tail;
        while (task is not null && i >= 0 && !ReferenceEquals(_slots[i].Task, task))
        {
            i = _slots[i].Prev;
        }
        if (task is null || i < 0)
        {
            i = _head;
        }
        if (i >= 0)
        {
            RemoveHolder(i);
        }
    }

    private Releaser AddHolder(AioTask? task)
    {
        int slot = _free;
        if (slot >= 0)
        {
            _free = _slots[slot].Next;
        }
        else
        {
            if (_used == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }
            slot = _used++;
        }
        ref Holder h = ref _slots[slot];
        h.Task = task;
        h.Held = true;
        h.Prev = _tail;
        h.Next = -1;
        if (_tail >= 0)
        {
            _slots[_tail].Next = slot;
        }
        else
        {
            _head = slot;
        }
        _tail = slot;
        return new Releaser(this, slot, h.Generation);
    }

    private void RemoveHolder(int slot)
    {
        ref Holder h = ref _slots[slot];
        Debug.Assert(h.Held, "Only a held slot of an AioSemaphore is freed.");
        if (h.Prev >= 0)
        {
            _slots[h.Prev].Next = h.Next;
        }
        else
        {
            _head = h.Next;
        }
        if (h.Next >= 0)
        {
            _slots[h.Next].Prev = h.Prev;
        }
        else
        {
            _tail = h.Prev;
        }
        h.Task = null;
        h.Held = false;
        h.Generation++; // the acquisition's releaser no longer matches
        h.Prev = -1;
        h.Next = _free;
        _free = slot;
    }

    ValueTaskSourceStatus IValueTaskSource<Releaser>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<Releaser>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    Releaser IValueTaskSource<Releaser>.GetResult(short token)
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
        Releaser releaser = AddHolder(task);
        AssertInvariants();
        return releaser;
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

    string IWaitTarget.DescribeWaitInChain(ParkingLot lot) => "waits";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot)
    {
        // Tasks holding a permit, oldest first (acquisitions outside a task are not listed).
        var holders = new List<AioTask>();
        for (int i = _head; i >= 0; i = _slots[i].Next)
        {
            if (_slots[i].Task is { } task)
            {
                holders.Add(task);
            }
        }
        return holders;
    }

    /// <summary>asyncio-style description: <c>&lt;AioSemaphore [unlocked, value:2]&gt;</c>, <c>&lt;AioSemaphore [locked, waiters:1]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = Locked ? "locked" : $"unlocked, value:{_value}";
        int waiters = _waiters.Count;
        string name = GetType().Name;
        return waiters > 0 ? $"<{name} [{state}, waiters:{waiters}]>" : $"<{name} [{state}]>";
    }

    /// <summary>
    /// Returns the permit of one acquisition of an <see cref="AioSemaphore"/> when disposed:
    /// <c>using (await sem.AcquireAsync()) { ... }</c>. Disposing it again does nothing; so does disposing it after a
    /// <see cref="Release"/> that was counted against this acquisition, and disposing the default value.
    /// </summary>
    public readonly struct Releaser : IDisposable
    {
        private readonly AioSemaphore? _semaphore;
        private readonly int _slot;
        private readonly int _generation;

        internal Releaser(AioSemaphore semaphore, int slot, int generation)
        {
            _semaphore = semaphore;
            _slot = slot;
            _generation = generation;
        }

        /// <summary>Returns the permit if this acquisition still holds it; otherwise does nothing.</summary>
        /// <exception cref="InvalidOperationException">Called outside the semaphore's loop thread.</exception>
        public void Dispose() => _semaphore?.ReleaseOnce(_slot, _generation);
    }

    private struct Holder
    {
        public AioTask? Task;    // the acquiring task; null for an acquisition outside a task
        public int Generation;   // bumped when the slot is freed, so a stale releaser does not match
        public int Prev;         // the next older held slot, or -1
        public int Next;         // the next newer held slot, or -1; in a free slot, the next free slot
        public bool Held;        // an acquisition holds this slot
    }
}
