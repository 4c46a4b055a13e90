using System.Runtime.CompilerServices;

namespace Aio.Internal;

/// <summary>
/// One timer: a <see cref="TimerHandle"/> (Target is the handle) or a sleeping task (Target is the
/// <see cref="AioTask"/>, WaitId the suspension it resumes). 24 bytes.
/// </summary>
internal struct TimerEntry
{
    public double When;
    public object Target;
    public int Seq;       // scheduling order (wrapping): ties on When fire in this order (FIFO)
    public int WaitId;
}

/// <summary>
/// Binary min-heap of <see cref="TimerEntry"/> structs ordered by (When, Seq): earliest first, FIFO among
/// equal deadlines. Stored in fixed-size chunks (24 KiB, below the large-object threshold), so growing to
/// 100,000 timers copies nothing and leaves no garbage arrays behind. Cancelled entries stay until they
/// reach the top or a compaction removes them. Loop thread only.
/// </summary>
internal sealed class TimerHeap
{
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;   // entries per chunk
    private const int ChunkMask = ChunkSize - 1;

    private TimerEntry[][] _chunks = [new TimerEntry[ChunkSize]];
    private int _chunkCount = 1;   // chunks allocated
    private int _count;
    private int _seq;

    public int Count => _count;

    public ref TimerEntry Top => ref _chunks[0][0];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref TimerEntry At(int i) => ref _chunks[i >> ChunkBits][i & ChunkMask];

    public void Push(double when, object target, int waitId)
    {
        if (_count == _chunkCount * ChunkSize)
        {
            AddChunk();
        }
        var e = new TimerEntry { When = when, Seq = _seq++, Target = target, WaitId = waitId };
        int i = _count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            ref TimerEntry p = ref At(parent);
            if (!Less(in e, in p))
            {
                break;
            }
            At(i) = p;
            i = parent;
        }
        At(i) = e;
    }

    public TimerEntry Pop()
    {
        TimerEntry top = At(0);
        _count--;
        if (_count > 0)
        {
            ref TimerEntry lastSlot = ref At(_count);
            TimerEntry last = lastSlot;
            lastSlot = default;
            SiftDown(0, last);
        }
        else
        {
            At(0) = default;
        }
        MaybeReleaseChunks();
        return top;
    }

    /// <summary>Removes every entry for which <paramref name="isDead"/> is true and restores the heap order.</summary>
    public int RemoveAll(Func<TimerEntry, bool> isDead)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            TimerEntry e = At(i);
            if (!isDead(e))
            {
                At(kept++) = e;
            }
        }
        int removed = _count - kept;
        for (int i = kept; i < _count; i++)
        {
            At(i) = default;
        }
        _count = kept;
        for (int i = (_count >> 1) - 1; i >= 0; i--)
        {
            SiftDown(i, At(i));
        }
        MaybeReleaseChunks();
        return removed;
    }

    public void Clear()
    {
        _chunks = [new TimerEntry[ChunkSize]];
        _chunkCount = 1;
        _count = 0;
    }

    public IEnumerable<TimerEntry> Entries()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return At(i);
        }
    }

    private void AddChunk()
    {
        if (_chunkCount == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }
        _chunks[_chunkCount++] = new TimerEntry[ChunkSize];
    }

    /// <summary>Keeps at most one empty chunk beyond the ones in use, so memory follows the number of timers down.</summary>
    private void MaybeReleaseChunks()
    {
        int needed = (_count >> ChunkBits) + 2;
        while (_chunkCount > needed)
        {
            _chunks[--_chunkCount] = null!;
        }
    }

    private void SiftDown(int i, TimerEntry e)
    {
        int half = _count >> 1;
        while (i < half)
        {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < _count && Less(in At(right), in At(child)))
            {
                child = right;
            }
            ref TimerEntry c = ref At(child);
            if (!Less(in c, in e))
            {
                break;
            }
            At(i) = c;
            i = child;
        }
        At(i) = e;
    }

    // Seq wraps around: compare by difference, valid while live timers span fewer than 2^31 schedulings.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in TimerEntry a, in TimerEntry b) => a.When < b.When || (a.When == b.When && a.Seq - b.Seq < 0);
}
