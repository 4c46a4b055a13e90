using System.Runtime.CompilerServices;

namespace Aio.Internal;

/// <summary>
/// One timer: a <see cref="TimerHandle"/> (Target is the handle) or a sleeping task (Target is the
/// <see cref="AioTask"/>, WaitId the suspension it resumes).
/// </summary>
internal struct TimerEntry
{
    public double When;
    public long Seq;      // scheduling order: ties on When fire in this order (FIFO)
    public object Target;
    public int WaitId;
}

/// <summary>
/// Binary min-heap of <see cref="TimerEntry"/> structs ordered by (When, Seq): earliest first, FIFO
/// among equal deadlines. Cancelled entries stay until they reach the top or a compaction removes them.
/// </summary>
internal sealed class TimerHeap
{
    private TimerEntry[] _items = new TimerEntry[64];
    private int _count;
    private long _seq;

    public int Count => _count;

    public ref TimerEntry Top => ref _items[0];

    public void Push(double when, object target, int waitId)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }
        var e = new TimerEntry { When = when, Seq = _seq++, Target = target, WaitId = waitId };
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!Less(in e, in _items[parent]))
            {
                break;
            }
            _items[i] = _items[parent];
            i = parent;
        }
        _items[i] = e;
    }

    public TimerEntry Pop()
    {
        TimerEntry top = _items[0];
        _count--;
        if (_count > 0)
        {
            TimerEntry last = _items[_count];
            _items[_count] = default;
            SiftDown(0, last);
        }
        else
        {
            _items[0] = default;
        }
        return top;
    }

    /// <summary>Removes every entry for which <paramref name="isDead"/> is true and restores the heap order.</summary>
    public int RemoveAll(Func<TimerEntry, bool> isDead)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            if (!isDead(_items[i]))
            {
                _items[kept++] = _items[i];
            }
        }
        int removed = _count - kept;
        Array.Clear(_items, kept, removed);
        _count = kept;
        for (int i = (_count >> 1) - 1; i >= 0; i--)
        {
            SiftDown(i, _items[i]);
        }
        if (_items.Length > 64 && _count < _items.Length / 4)
        {
            Array.Resize(ref _items, Math.Max(64, _items.Length / 2));
        }
        return removed;
    }

    public void Clear()
    {
        Array.Clear(_items, 0, _count);
        _count = 0;
    }

    public IEnumerable<TimerEntry> Entries()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return _items[i];
        }
    }

    private void SiftDown(int i, TimerEntry e)
    {
        int half = _count >> 1;
        while (i < half)
        {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < _count && Less(in _items[right], in _items[child]))
            {
                child = right;
            }
            if (!Less(in _items[child], in e))
            {
                break;
            }
            _items[i] = _items[child];
            i = child;
        }
        _items[i] = e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in TimerEntry a, in TimerEntry b) => a.When < b.When || (a.When == b.When && a.Seq < b.Seq);
}
