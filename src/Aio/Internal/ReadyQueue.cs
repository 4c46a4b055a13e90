using System.Runtime.CompilerServices;

namespace Aio.Internal;

/// <summary>What a ready-ring entry runs.</summary>
internal enum ReadyKind : byte
{
    /// <summary><c>Action&lt;object?&gt;(State)</c>.</summary>
    Action,
    /// <summary><c>SendOrPostCallback(State)</c>: a continuation posted through a SynchronizationContext.</summary>
    Post,
    /// <summary><see cref="IScheduledCallback.Run"/> on <c>State</c>: a <see cref="TimerHandle"/> or a <see cref="HandleBox"/>.</summary>
    Handle,
    /// <summary>A <see cref="EventLoop.CallSoon(Action)"/> callback: <c>Action</c> <c>Callback</c>, run in the ExecutionContext in <c>State</c> (null: the loop's own). Its handle's turn.</summary>
    CallSoon,
    /// <summary>A <see cref="EventLoop.CallSoon{TState}(Action{TState}, TState)"/> callback: <c>Action&lt;TState&gt;</c> <c>Callback</c> with <c>State</c> (or a StateInContext when scheduled outside the loop's own ExecutionContext), through the <see cref="StateInvoker"/> at index <c>Arg</c>. Its handle's turn.</summary>
    CallSoonState,
    /// <summary><c>Action&lt;AioFuture&gt;(State)</c>: a public done callback.</summary>
    DoneCallback,
    /// <summary><c>IFutureListener.OnFutureDone(State, Arg)</c>: an internal done callback.</summary>
    Listener,
    /// <summary><c>Task.Start()</c>: the first step of a new task.</summary>
    StartTask,
    /// <summary><c>Task.MoveNextCoroutine()</c>: the next step of a coroutine woken from an Aio wait (no delegate, no state).</summary>
    CoroutineStep,
}

/// <summary>One entry of the ready ring: a callback, its state, and the task it is a step of (null for plain callbacks).</summary>
internal struct ReadyItem
{
    public object? Callback;
    public object? State;
    public AioTask? Task;
    public int Arg;
    public ReadyKind Kind;
}

/// <summary>
/// The loop's ready ring: a FIFO of <see cref="ReadyItem"/> structs in fixed-size segments (32 KiB,
/// below the large-object threshold) linked head to tail. Growing adds a segment instead of copying the
/// whole queue, so a burst of 100,000 new tasks costs no large array copies and no garbage arrays;
/// emptied segments are kept for reuse (a few) or dropped. Loop thread only. No allocation in steady state.
/// </summary>
internal sealed class ReadyQueue
{
    private const int SegmentSize = 1024;   // items per segment: 1024 × 32 bytes
    private const int MaxSpareSegments = 4;

    private sealed class Segment
    {
        public readonly ReadyItem[] Items = new ReadyItem[SegmentSize];
        public Segment? Next;
    }

    private Segment _head = new();   // segment holding the oldest item
    private Segment _tail;           // segment receiving new items
    private int _headIndex;          // next item to dequeue in _head
    private int _tailIndex;          // next free slot in _tail
    private int _count;
    private Segment? _spare;         // emptied segments kept for reuse (linked through Next)
    private int _spareCount;

    public ReadyQueue() => _tail = _head;

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ReadyItem Enqueue()
    {
        if (_tailIndex == SegmentSize)
        {
            AddSegment();
        }
        _count++;
        return ref _tail.Items[_tailIndex++];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadyItem Dequeue()
    {
        if (_headIndex == SegmentSize)
        {
            RetireHead();
        }
        ref ReadyItem slot = ref _head.Items[_headIndex++];
        ReadyItem item = slot;
        slot = default; // drop references so completed work can be collected
        _count--;
        if (_count == 0 && ReferenceEquals(_head, _tail))
        {
            _headIndex = 0;
            _tailIndex = 0;
        }
        return item;
    }

    public void Clear()
    {
        while (_count > 0)
        {
            Dequeue();
        }
    }

    private void AddSegment()
    {
        Segment next;
        if (_spare is not null)
        {
            next = _spare;
            _spare = next.Next;
            next.Next = null;
            _spareCount--;
        }
        else
        {
            next = new Segment();
        }
        _tail.Next = next;
        _tail = next;
        _tailIndex = 0;
    }

    private void RetireHead()
    {
        Segment old = _head;
        _head = old.Next!;
        _headIndex = 0;
        old.Next = null;
        if (_spareCount < MaxSpareSegments)
        {
            old.Next = _spare;
            _spare = old;
            _spareCount++;
        }
    }
}
