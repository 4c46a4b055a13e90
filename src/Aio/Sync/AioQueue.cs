// AioQueue: asyncio's Queue (with 3.13's shutdown), FIFO-fair for getters and putters.
//
// Design note. Fairness is by hand-off, as in Trio's memory channels:
//   - a put while getters wait gives the item to the oldest getter (it goes to _handoff, not to the
//     buffer); the woken getter collects it when it runs. So a newcomer's TryGet cannot take an item
//     promised to a woken getter. Count still includes handed-off items (as asyncio's qsize does,
//     since there the item sits in the queue until the getter runs).
//   - a get that frees a slot while putters wait reserves that slot for the oldest putter
//     (_reservedSlots); the woken putter inserts its item when it runs. So a newcomer's TryPut cannot
//     take the slot first: a queue is "full" for newcomers while Count + _reservedSlots >= maxsize.
// Cancellation after a wake-up passes the wake-up on: a woken getter cancelled before it ran gives its
// item to the next getter (or back to the front of the buffer), never consuming it; a woken putter
// cancelled before it ran hands its slot to the next putter and never inserts. The wait itself is the
// queue's IValueTaskSource (see ParkedWait): no allocation and no extra loop iteration per wait. A putter's
// ValueTask token is its put number, the index of its entry in _pendingPuts (counted from _frontPut), so a
// resuming putter finds its item in O(1) even when it leaves out of order (cancelled while parked).
using System.Diagnostics;
using System.Text;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A FIFO queue for producer and consumer tasks (asyncio's <c>Queue</c>): <see cref="PutAsync"/> waits while it
/// is full, <see cref="GetAsync"/> while it is empty, both first come first served; <see cref="TaskDone"/> and
/// <see cref="JoinAsync"/> track processing; <see cref="Shutdown"/> ends it. <c>await foreach</c> consumes it
/// until it is shut down.
/// </summary>
/// <typeparam name="T">The type of the items.</typeparam>
/// <remarks>
/// A queue belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only. <see cref="PutAsync"/> and
/// <see cref="GetAsync"/> return <see cref="ValueTask"/>s that complete synchronously when they need not wait and
/// allocate nothing in steady state; await each at once, exactly once.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "asyncio's name with the Aio prefix (docs/api-map.md).")]
public class AioQueue<T> : IAsyncEnumerable<T>, IValueTaskSource<T>, IValueTaskSource, IWaitTarget, ITaskStepSource
{
    // Invariants (checked by AssertInvariants):
    //   getters parked  =>  the buffer is empty (a put hands its item to a parked getter instead);
    //   putters parked  =>  bounded and Count + _reservedSlots >= maxsize (a freed slot is reserved for a putter);
    //   _handoff.Count  ==  getters woken normally and not yet run (each collects one item, in wake order);
    //   Count + _reservedSlots <= maxsize when bounded;  _unfinished >= 0.
    private readonly QueueStore<T> _store;          // buffered items, in the order they come out
    private readonly int _maxsize;                  // ≤ 0: unbounded
    private readonly ParkingLot _getters;           // tasks waiting for an item, oldest first
    private readonly ParkingLot _putters;           // tasks waiting for a free slot, oldest first
    private readonly ParkingLot _joiners;           // tasks in JoinAsync
    private readonly Deque<T> _handoff;             // items given to woken getters that have not run yet, oldest first
    private readonly Deque<PendingPut> _pendingPuts; // the items of parked and woken putters, in parking order; taken ones are holes
    private ushort _frontPut;                       // the put number of _pendingPuts[0] (numbers count parkings, wrapping at 2^16)
    private readonly int _id;                       // label number in hang reports
    private int _reservedSlots;                     // free slots promised to woken putters that have not run yet
    private int _unfinished;                        // items put and not yet TaskDone'd (asyncio's unfinished_tasks)
    private bool _shutdown;                         // Shutdown was called
    private EventLoop? _loop;                       // the loop this queue belongs to; null until first used on a loop (or created on one)

    /// <summary>Creates a FIFO queue holding at most <paramref name="maxsize"/> items; 0 or less means unbounded.</summary>
    public AioQueue(int maxsize = 0) : this(maxsize, new FifoStore<T>())
    {
    }

    private protected AioQueue(int maxsize, QueueStore<T> store)
    {
        _store = store;
        _maxsize = maxsize;
        _getters = new ParkingLot(this);
        _putters = new ParkingLot(this);
        _joiners = new ParkingLot(this);
        _handoff = new Deque<T>();
        _pendingPuts = new Deque<PendingPut>();
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>The bound given to the constructor (0 or less: unbounded).</summary>
    public int Maxsize => _maxsize;

    /// <summary>The number of items in the queue, including items already promised to woken getters (asyncio's <c>qsize()</c>).</summary>
    public int Count => _store.Count + _handoff.Count;

    /// <summary>True when the queue holds no item.</summary>
    public bool Empty => Count == 0;

    /// <summary>True when a put would have to wait: the queue is bounded and every slot is taken or promised to a woken putter.</summary>
    public bool Full => _maxsize > 0 && Count + _reservedSlots >= _maxsize;

    /// <summary>True after <see cref="Shutdown"/>.</summary>
    public bool IsShutdown => _shutdown;

    // ----------------------------------------------------------------- put

    /// <summary>Puts <paramref name="item"/>, waiting (FIFO) while the queue is full. Completes synchronously when there is room.</summary>
    /// <exception cref="QueueShutDownException">The queue is (or gets) shut down; the item was not put.</exception>
    /// <exception cref="CancelledError">The task is cancelled; the item was not put.</exception>
    public ValueTask PutAsync(T item)
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(PutAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (_shutdown)
        {
            throw SyncThrowHelper.PutAfterShutdown(this);
        }
        if (!Full)
        {
            Insert(item);
            return default;
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(PutAsync));
        // The ValueTask's token is the put's number, which finds its entry in O(1); the entry keeps the wait's token.
        if (_pendingPuts.Count == ushort.MaxValue)
        {
            SyncThrowHelper.TooManyPutters(this);
        }
        short waitToken = ParkedWait.Park(_putters, task);
        _pendingPuts.PushBack(new PendingPut(task, item, waitToken));
        return new ValueTask(this, (short)(ushort)(_frontPut + _pendingPuts.Count - 1));
    }

    /// <summary>Puts <paramref name="item"/> without waiting.</summary>
    /// <exception cref="QueueFullException">The queue is full.</exception>
    /// <exception cref="QueueShutDownException">The queue is shut down.</exception>
    public void PutNowait(T item)
    {
        if (!TryPutAs(item, nameof(PutNowait)))
        {
            throw SyncThrowHelper.QueueFull(this);
        }
    }

    /// <summary>Puts <paramref name="item"/> if the queue has room now; returns false if it is full.</summary>
    /// <exception cref="QueueShutDownException">The queue is shut down (an error, not a transient condition).</exception>
    public bool TryPut(T item) => TryPutAs(item, nameof(TryPut));

    private bool TryPutAs(T item, string member)
    {
        LoopAffinity.Check(ref _loop, this, member);
        if (_shutdown)
        {
            throw SyncThrowHelper.PutAfterShutdown(this);
        }
        if (Full)
        {
            return false;
        }
        Insert(item);
        return true;
    }

    /// <summary>Adds an item there is room for: to the oldest parked getter if any, else to the buffer.</summary>
    private void Insert(T item)
    {
        _unfinished++;
        if (_getters.UnparkOne())
        {
            _handoff.PushBack(item);
        }
        else
        {
            _store.Add(item);
        }
        AssertInvariants();
    }

    // ----------------------------------------------------------------- get

    /// <summary>Removes and returns the next item, waiting (FIFO) while the queue is empty. Completes synchronously when an item is there.</summary>
    /// <exception cref="QueueShutDownException">The queue is shut down and empty (or was shut down immediately).</exception>
    /// <exception cref="CancelledError">The task is cancelled; no item was consumed.</exception>
    public ValueTask<T> GetAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(GetAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (_store.Count > 0)
        {
            return new ValueTask<T>(TakeBuffered());
        }
        if (_shutdown)
        {
            throw SyncThrowHelper.GetAfterShutdown(this);
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(GetAsync));
        return new ValueTask<T>(this, ParkedWait.Park(_getters, task));
    }

    /// <summary>Removes and returns the next item without waiting.</summary>
    /// <exception cref="QueueEmptyException">No item is available.</exception>
    /// <exception cref="QueueShutDownException">The queue is shut down and empty.</exception>
    public T GetNowait()
    {
        if (TryGetAs(out T item, nameof(GetNowait)))
        {
            return item;
        }
        if (_shutdown)
        {
            throw SyncThrowHelper.GetAfterShutdown(this);
        }
        throw SyncThrowHelper.QueueEmpty(this);
    }

    /// <summary>
    /// Removes the next item if one is available now; returns false otherwise (also when the queue is shut down
    /// and empty). Items already promised to woken getters are not available.
    /// </summary>
    public bool TryGet(out T item) => TryGetAs(out item, nameof(TryGet));

    private bool TryGetAs(out T item, string member)
    {
        LoopAffinity.Check(ref _loop, this, member);
        if (_store.Count > 0)
        {
            item = TakeBuffered();
            return true;
        }
        item = default!;
        return false;
    }

    private T TakeBuffered()
    {
        T item = _store.Take();
        OfferSlotToPutter();
        AssertInvariants();
        return item;
    }

    /// <summary>A slot may have come free: reserve it for the oldest parked putter, if any.</summary>
    private void OfferSlotToPutter()
    {
        if (_maxsize > 0 && Count + _reservedSlots < _maxsize && _putters.UnparkOne())
        {
            _reservedSlots++;
        }
    }

    // ----------------------------------------------------------------- join

    /// <summary>Marks one item got from the queue as processed; <see cref="JoinAsync"/> returns when every item put was.</summary>
    /// <exception cref="InvalidOperationException">Called more times than items were put.</exception>
    public void TaskDone()
    {
        LoopAffinity.Check(ref _loop, this, nameof(TaskDone));
        if (_unfinished <= 0)
        {
            SyncThrowHelper.TaskDoneTooOften(this);
        }
        _unfinished--;
        if (_unfinished == 0)
        {
            _joiners.UnparkAll();
        }
        AssertInvariants();
    }

    /// <summary>Waits until every item put has been marked with <see cref="TaskDone"/> (returns at once if so).</summary>
    /// <exception cref="CancelledError">The task is cancelled.</exception>
    public async Task JoinAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(JoinAsync));
        AioTask task = LoopAffinity.RequireTask(loop, nameof(JoinAsync));
        task.ThrowIfCancelled();
        if (_unfinished > 0)
        {
            await _joiners.ParkAsync();
            task.ThrowIfCancelled();
        }
    }

    // ----------------------------------------------------------------- shutdown

    /// <summary>
    /// Shuts the queue down (asyncio 3.13): every later put, and every waiting putter, gets
    /// <see cref="QueueShutDownException"/>. With <paramref name="immediate"/> false, the items left can still be
    /// got; once the queue is empty, gets (and waiting getters) get <see cref="QueueShutDownException"/>. With
    /// <paramref name="immediate"/> true, the items left are discarded (and counted as done for
    /// <see cref="JoinAsync"/>), and every waiting getter gets <see cref="QueueShutDownException"/> at once.
    /// </summary>
    public void Shutdown(bool immediate = false)
    {
        LoopAffinity.Check(ref _loop, this, nameof(Shutdown));
        _shutdown = true;
        if (immediate)
        {
            // Discard the buffer and the items promised to woken getters (they will find none and fail).
            int drained = _store.Count + _handoff.Count;
            _store.Clear();
            _handoff.Clear();
            _unfinished = Math.Max(0, _unfinished - drained);
            if (_unfinished == 0)
            {
                _joiners.UnparkAll();
            }
        }
        if (_getters.Count > 0)
        {
            _getters.UnparkAllWithException(SyncThrowHelper.GetAfterShutdown(this));
        }
        if (_putters.Count > 0)
        {
            _putters.UnparkAllWithException(SyncThrowHelper.PutAfterShutdown(this));
        }
        AssertInvariants();
    }

    // ----------------------------------------------------------------- the waits (IValueTaskSource)

    ValueTaskSourceStatus IValueTaskSource<T>.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource<T>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    /// <summary>A getter resumes.</summary>
    T IValueTaskSource<T>.GetResult(short token)
    {
        // Throws if it was cancelled while parked, or woken by Shutdown: no item was promised to it.
        AioTask task = ParkedWait.End(_loop, token);
        if (_handoff.Count == 0)
        {
            // Its item was discarded by Shutdown(immediate: true) before it ran.
            Debug.Assert(_shutdown, "A woken getter finds no item only after an immediate shutdown.");
            throw SyncThrowHelper.GetAfterShutdown(this);
        }
        T item = _handoff.PopFront();
        if (task.IsEffectivelyCancelled())
        {
            GiveBack(item);
            task.ThrowIfCancelled();
        }
        OfferSlotToPutter();
        AssertInvariants();
        return item;
    }

    /// <summary>A woken getter was cancelled before it ran: its item goes to the next getter in line, never lost or reordered.</summary>
    private void GiveBack(T item)
    {
        // The item is the oldest promised one: the getter woken next (if any) should get it.
        _handoff.PushFront(item);
        if (!_getters.UnparkOne())
        {
            // Nobody else waits: one promised item too many. The newest promised item returns to the front of
            // the buffer (everything in the buffer was put after it).
            _store.Return(_handoff.PopBack());
            OfferSlotToPutter();
        }
        AssertInvariants();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => ParkedWait.GetStatus(_loop, PendingPutAt(token).WaitToken);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, PendingPutAt(token).WaitToken, flags);

    /// <summary>A putter resumes.</summary>
    void IValueTaskSource.GetResult(short token)
    {
        EventLoop loop = _loop!;
        T item = TakePendingPut(token, out short waitToken);
        // Throws if it was cancelled while parked, or woken by Shutdown: no slot was reserved for it.
        AioTask task = ParkedWait.End(loop, waitToken);
        _reservedSlots--;
        if (task.IsEffectivelyCancelled())
        {
            // Given a slot, then cancelled before running: the slot goes to the next putter; the item is never put.
            OfferSlotToPutter();
            AssertInvariants();
            task.ThrowIfCancelled();
        }
        if (_shutdown)
        {
            OfferSlotToPutter();
            throw SyncThrowHelper.PutAfterShutdown(this);
        }
        Insert(item);
    }

    /// <summary>The entry of put number <paramref name="token"/>; throws if it was taken already (awaited twice).</summary>
    private ref PendingPut PendingPutAt(short token)
    {
        int index = (ushort)((ushort)token - _frontPut);
        if (index >= _pendingPuts.Count || _pendingPuts.At(index).Task is null)
        {
            SyncThrowHelper.PutNotPending(this);
        }
        return ref _pendingPuts.At(index);
    }

    /// <summary>Takes put <paramref name="token"/>'s item in O(1): its entry becomes a hole; holes at the front are dropped.</summary>
    private T TakePendingPut(short token, out short waitToken)
    {
        ref PendingPut entry = ref PendingPutAt(token);
        T item = entry.Item;
        waitToken = entry.WaitToken;
        entry = default;
        while (_pendingPuts.Count > 0 && _pendingPuts.At(0).Task is null)
        {
            _pendingPuts.PopFront();
            _frontPut++;
        }
        return item;
    }

    private struct PendingPut(AioTask task, T item, short waitToken)
    {
        public AioTask? Task = task;         // null once taken (a hole)
        public T Item = item;
        public short WaitToken = waitToken;  // the ParkingLot wait's token (the ValueTask carries the put number instead)
    }

    // ----------------------------------------------------------------- enumeration

    /// <summary>
    /// Consumes the queue: each iteration awaits <see cref="GetAsync"/>; the enumeration ends when the queue is
    /// shut down and empty. Cancellation comes from the task's cancel scopes (the token is not observed).
    /// </summary>
    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            T item;
            try
            {
                item = await GetAsync();
            }
            catch (QueueShutDownException)
            {
                yield break;
            }
            yield return item;
        }
    }

    // ----------------------------------------------------------------- diagnostics

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(_getters.Count == 0 || _store.Count == 0, "Getters may wait only while an AioQueue's buffer is empty: a put hands its item to a waiting getter.");
        Debug.Assert(_putters.Count == 0 || (_maxsize > 0 && Count + _reservedSlots >= _maxsize), "Putters may wait only while an AioQueue is full: a freed slot is reserved for a waiting putter.");
        Debug.Assert(_maxsize <= 0 || Count + _reservedSlots <= _maxsize, "A bounded AioQueue must never hold (or promise) more items than its maxsize.");
        Debug.Assert(_unfinished >= 0, "An AioQueue's unfinished count must never be negative.");
        Debug.Assert(_reservedSlots >= 0, "An AioQueue's reserved slot count must never be negative.");
    }

    string IWaitTarget.Label => $"{TypeLabel}#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) =>
        ReferenceEquals(lot, _getters) ? "waits to get from" : ReferenceEquals(lot, _putters) ? "waits to put into" : "waits to join";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => [];

    private protected virtual string TypeLabel => "AioQueue";

    /// <summary>asyncio-style description: <c>&lt;AioQueue maxsize=100 count=3 getters:1&gt;</c> (also putters, unfinished, shutdown when relevant).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append('<').Append(TypeLabel).Append(" maxsize=").Append(_maxsize).Append(" count=").Append(Count);
        if (_getters.Count > 0)
        {
            sb.Append(" getters:").Append(_getters.Count);
        }
        if (_putters.Count > 0)
        {
            sb.Append(" putters:").Append(_putters.Count);
        }
        if (_unfinished > 0)
        {
            sb.Append(" unfinished=").Append(_unfinished);
        }
        if (_shutdown)
        {
            sb.Append(" shutdown");
        }
        return sb.Append('>').ToString();
    }
}
