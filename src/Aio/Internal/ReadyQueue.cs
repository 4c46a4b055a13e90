using System.Runtime.CompilerServices;

namespace Aio.Internal;

/// <summary>What a ready-ring entry runs.</summary>
internal enum ReadyKind : byte
{
    /// <summary><c>Action&lt;object?&gt;(State)</c>.</summary>
    Action,
    /// <summary><c>SendOrPostCallback(State)</c>: a continuation posted through a SynchronizationContext.</summary>
    Post,
    /// <summary><see cref="Handle.Run"/> on <c>State</c>.</summary>
    Handle,
    /// <summary><c>Action&lt;AioFuture&gt;(State)</c>: a public done callback.</summary>
    DoneCallback,
    /// <summary><c>IFutureListener.OnFutureDone(State, Arg)</c>: an internal done callback.</summary>
    Listener,
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
/// The loop's ready ring: a growable circular buffer of <see cref="ReadyItem"/> structs, FIFO.
/// Enqueue and dequeue allocate nothing unless the ring grows. Loop thread only.
/// </summary>
internal sealed class ReadyQueue
{
    private ReadyItem[] _items = new ReadyItem[1024];
    private int _head;   // index of the oldest item
    private int _count;  // number of items queued

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ReadyItem Enqueue()
    {
        if (_count == _items.Length)
        {
            Grow();
        }
        int tail = _head + _count;
        if (tail >= _items.Length)
        {
            tail -= _items.Length;
        }
        _count++;
        return ref _items[tail];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadyItem Dequeue()
    {
        ref ReadyItem slot = ref _items[_head];
        ReadyItem item = slot;
        slot = default; // drop references so completed work can be collected
        _head++;
        if (_head == _items.Length)
        {
            _head = 0;
        }
        _count--;
        return item;
    }

    public void Clear()
    {
        Array.Clear(_items);
        _head = 0;
        _count = 0;
    }

    private void Grow()
    {
        var bigger = new ReadyItem[_items.Length * 2];
        int first = Math.Min(_count, _items.Length - _head);
        Array.Copy(_items, _head, bigger, 0, first);
        Array.Copy(_items, 0, bigger, first, _count - first);
        _items = bigger;
        _head = 0;
    }
}
