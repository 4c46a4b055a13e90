namespace Aio.Sync.Internal;

/// <summary>The buffer of an AioQueue: the order in which items come out (FIFO, LIFO, priority).</summary>
internal abstract class QueueStore<T>
{
    public abstract int Count { get; }

    /// <summary>Adds a newly put item.</summary>
    public abstract void Add(T item);

    /// <summary>Removes and returns the next item; the store is not empty.</summary>
    public abstract T Take();

    /// <summary>Puts back an item taken earlier (a woken getter was cancelled): it comes out next again.</summary>
    public abstract void Return(T item);

    public abstract void Clear();

    /// <summary>The items in the order they would come out (diagnostics only).</summary>
    public abstract IEnumerable<T> Snapshot();
}

internal sealed class FifoStore<T> : QueueStore<T>
{
    private readonly Deque<T> _items = new();

    public override int Count => _items.Count;

    public override void Add(T item) => _items.PushBack(item);

    public override T Take() => _items.PopFront();

    public override void Return(T item) => _items.PushFront(item);

    public override void Clear() => _items.Clear();

    public override IEnumerable<T> Snapshot()
    {
        for (int i = 0; i < _items.Count; i++)
        {
            yield return _items[i];
        }
    }
}

internal sealed class LifoStore<T> : QueueStore<T>
{
    private readonly Deque<T> _items = new();

    public override int Count => _items.Count;

    public override void Add(T item) => _items.PushBack(item);

    public override T Take() => _items.PopBack();

    public override void Return(T item) => _items.PushBack(item);

    public override void Clear() => _items.Clear();

    public override IEnumerable<T> Snapshot()
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            yield return _items[i];
        }
    }
}

/// <summary>Lowest priority first; equal priorities in insertion order (a sequence number breaks ties).</summary>
internal sealed class PriorityStore<TElement, TPriority> : QueueStore<(TElement Element, TPriority Priority)>
{
    private readonly PriorityQueue<(TElement, TPriority), (TPriority Priority, long Seq)> _heap;
    private long _seq;          // insertion counter for ties
    private long _returnSeq;    // returned items sort before everything of equal priority

    public PriorityStore(IComparer<TPriority>? comparer)
    {
        IComparer<TPriority> c = comparer ?? Comparer<TPriority>.Default;
        _heap = new PriorityQueue<(TElement, TPriority), (TPriority, long)>(Comparer<(TPriority Priority, long Seq)>.Create((a, b) =>
        {
            int byPriority = c.Compare(a.Priority, b.Priority);
            return byPriority != 0 ? byPriority : a.Seq.CompareTo(b.Seq);
        }));
    }

    public override int Count => _heap.Count;

    public override void Add((TElement Element, TPriority Priority) item) => _heap.Enqueue(item, (item.Priority, _seq++));

    public override (TElement Element, TPriority Priority) Take() => _heap.Dequeue();

    public override void Return((TElement Element, TPriority Priority) item) => _heap.Enqueue(item, (item.Priority, --_returnSeq - long.MaxValue / 2));

    public override void Clear() => _heap.Clear();

    public override IEnumerable<(TElement Element, TPriority Priority)> Snapshot() =>
        _heap.UnorderedItems.OrderBy(e => e.Priority, _heap.Comparer).Select(e => e.Element).ToArray();
}
