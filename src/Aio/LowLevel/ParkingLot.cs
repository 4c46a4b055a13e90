// ParkingLot: the one wait queue every Aio primitive is built on (Trio's ParkingLot, curio's SchedFIFO).
//
// Design note. A lot is a FIFO of (task, wait id) entries in a ring. ParkAsync parks the current task
// with the lot as the wait's abort: if the task's scope is cancelled while it is parked, the lot counts
// it out and the task resumes with CancelledError; its ring entry goes stale (the task no longer waits
// with that id) and is skipped when reached. Unpark resumes the oldest live entries. A woken task
// returns normally from ParkAsync even if its scope is cancelled after the wake-up: what the wake-up
// meant (a lock handed over, a permit, an item) is the primitive's to keep or to pass on, and the next
// Aio await throws. Allocation-free once the ring has grown.
using System.Diagnostics;

namespace Aio.LowLevel;

/// <summary>
/// A FIFO queue of parked tasks, for building synchronisation primitives (Trio's <c>ParkingLot</c>).
/// <see cref="ParkAsync"/> suspends the current task until <see cref="Unpark"/> wakes it; a task
/// cancelled while parked leaves the queue and gets <see cref="CancelledError"/>.
/// </summary>
/// <remarks>Belongs to the loop of the tasks that use it: use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ParkingLot : IWaitAbort
{
    private Entry[] _ring = new Entry[4];
    private int _head;      // index of the oldest entry
    private int _size;      // entries in the ring, live and stale
    private int _live;      // entries whose task still waits here

    private struct Entry
    {
        public AioTask Task;
        public int WaitId;
    }

    /// <summary>Creates an empty lot.</summary>
    /// <param name="owner">The primitive that owns the lot, named in hang reports and <see cref="ToString"/>; may be null.</param>
    public ParkingLot(object? owner = null) => Owner = owner;

    /// <summary>The primitive this lot belongs to (for diagnostics), or null.</summary>
    public object? Owner { get; }

    /// <summary>How many tasks are parked now.</summary>
    public int Count => _live;

    /// <summary>
    /// Parks the current task at the back of the queue until <see cref="Unpark"/> reaches it. Await it at once.
    /// </summary>
    /// <exception cref="CancelledError">The task's scope was cancelled while it was parked (it has left the queue).</exception>
    /// <exception cref="InvalidOperationException">Not called inside an AioTask on the loop thread.</exception>
    public ValueTask ParkAsync()
    {
        AioTask task = Asyncio.CurrentTaskOrThrow(nameof(ParkAsync));
        ValueTask wait = task.Park(this, out int waitId);
        Enqueue(task, waitId);
        return wait;
    }

    /// <summary>
    /// Parks <paramref name="task"/> (the current task) like <see cref="ParkAsync"/> and returns the id of its
    /// wait, for primitives that hand out their own <c>IValueTaskSource</c> over the task's wait.
    /// </summary>
    internal int ParkTask(AioTask task)
    {
        int waitId = task.BeginWait(this, levelTriggered: false);
        Enqueue(task, waitId);
        return waitId;
    }

    private void Enqueue(AioTask task, int waitId)
    {
        if (_size == _ring.Length)
        {
            Grow();
        }
        int tail = _head + _size;
        if (tail >= _ring.Length)
        {
            tail -= _ring.Length;
        }
        _ring[tail] = new Entry { Task = task, WaitId = waitId };
        _size++;
        _live++;
        AssertInvariants(checkWaits: true);
    }

    /// <summary>Wakes the task parked longest; returns false if none is parked.</summary>
    public bool UnparkOne() => Unpark(1) == 1;

    /// <summary>Wakes up to <paramref name="count"/> parked tasks, oldest first; returns how many were woken. They run on a later iteration, in that order.</summary>
    public int Unpark(int count)
    {
        int woken = 0;
        while (woken < count && _size > 0)
        {
            Entry e = _ring[_head];
            _ring[_head] = default;
            _head = _head + 1 == _ring.Length ? 0 : _head + 1;
            _size--;
            if (e.Task.Resume(e.WaitId, null))
            {
                _live--;
                woken++;
            }
        }
        if (_size == 0)
        {
            _head = 0;
        }
        AssertInvariants(checkWaits: true);
        return woken;
    }

    /// <summary>Wakes every parked task, oldest first; returns how many were woken.</summary>
    public int UnparkAll() => Unpark(int.MaxValue);

    /// <summary>Wakes every parked task with <paramref name="error"/> thrown at its <see cref="ParkAsync"/> (a queue shut down, a barrier broken).</summary>
    public int UnparkAllWithException(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        int woken = 0;
        while (_size > 0)
        {
            Entry e = _ring[_head];
            _ring[_head] = default;
            _head = _head + 1 == _ring.Length ? 0 : _head + 1;
            _size--;
            if (e.Task.Resume(e.WaitId, error))
            {
                _live--;
                woken++;
            }
        }
        _head = 0;
        AssertInvariants(checkWaits: true);
        return woken;
    }

    /// <summary>The parked tasks, oldest first (for diagnostics).</summary>
    public IReadOnlyList<AioTask> Waiters
    {
        get
        {
            var list = new List<AioTask>(_live);
            for (int i = 0; i < _size; i++)
            {
                Entry e = _ring[(_head + i) % _ring.Length];
                if (e.Task.IsWaiting(e.WaitId))
                {
                    list.Add(e.Task);
                }
            }
            return list;
        }
    }

    /// <summary>A parked task's scope was cancelled: it leaves the queue and resumes with CancelledError.</summary>
    bool IWaitAbort.AbortWait(AioTask task, int waitId, string? message)
    {
        _live--;
        if (_live == 0)
        {
            // Every remaining entry is stale: drop them now rather than when reached.
            Array.Clear(_ring);
            _head = 0;
            _size = 0;
        }
        // The aborted wait may still read as parked until this returns: check the ring's shape only.
        AssertInvariants(checkWaits: false);
        return true;
    }

    private void Grow()
    {
        var bigger = new Entry[_ring.Length * 2];
        for (int i = 0; i < _size; i++)
        {
            bigger[i] = _ring[(_head + i) % _ring.Length];
        }
        _ring = bigger;
        _head = 0;
        AssertInvariants(checkWaits: false);
    }

    /// <summary>
    /// Debug builds: the ring's bookkeeping. Every entry in [_head, _head + _size) names a task, every slot outside
    /// it is cleared, and (with <paramref name="checkWaits"/>) exactly <see cref="_live"/> entries are waits still
    /// parked here. Rings over 1024 entries get the counts checked only, so large tests stay linear.
    /// </summary>
    [Conditional("DEBUG")]
    private void AssertInvariants(bool checkWaits)
    {
        Debug.Assert(_head >= 0 && _head < _ring.Length, "A ParkingLot's head index must lie inside its ring.");
        Debug.Assert(_size >= 0 && _size <= _ring.Length, "A ParkingLot cannot hold more entries than its ring has slots.");
        Debug.Assert(_live >= 0 && _live <= _size, "A ParkingLot's live waiters must be a subset of its entries (stale entries make up the rest).");
        Debug.Assert(_size != 0 || _head == 0, "An empty ParkingLot must rewind its head to slot 0.");
        if (_ring.Length > 1024)
        {
            return;
        }
        int waiting = 0;
        for (int i = 0; i < _ring.Length; i++)
        {
            int offset = i - _head;
            if (offset < 0)
            {
                offset += _ring.Length;
            }
            Entry e = _ring[i];
            if (offset >= _size)
            {
                Debug.Assert(e.Task is null, "A ParkingLot slot outside the queue must be cleared, so it keeps no task alive.");
            }
            else
            {
                Debug.Assert(e.Task is not null, "Every entry in a ParkingLot's queue must name the task that parked.");
                if (checkWaits && e.Task.IsWaiting(e.WaitId))
                {
                    waiting++;
                }
            }
        }
        Debug.Assert(!checkWaits || waiting == _live, "A ParkingLot's live count must equal the entries whose wait is still parked: each parked wait is counted once, in one queue.");
    }

    /// <summary>Description: <c>&lt;ParkingLot waiters:2 owner=&lt;AioLock locked&gt;&gt;</c>.</summary>
    public override string ToString() => Owner is null ? $"<ParkingLot waiters:{_live}>" : $"<ParkingLot waiters:{_live} owner={Owner}>";
}
