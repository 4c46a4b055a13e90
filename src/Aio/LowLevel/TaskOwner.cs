// TaskOwner: a set of tasks that something long-lived owns without a lexical scope (a server's connection
// handlers, a scheduler's runs). TaskGroup is the structured form (its body's scope bounds the children);
// an owner is for children whose lifetime is bounded by an object instead: it knows them, cancels them, and
// waits for them. Adoption and removal are O(1): each task gets a slot, and its done listener carries the
// slot number; free slots are reused from a stack. The bookkeeping runs inline when a task completes (so
// Count is exact at once); the owner's callback, which is user code, is queued like a done callback.
using System.Diagnostics;

namespace Aio.LowLevel;

/// <summary>
/// Owns tasks whose lifetime is bounded by an object rather than a block (a server's handlers, a scheduler's
/// runs): <see cref="Adopt"/> them as they start; the owner forgets each when it is done, can cancel them all,
/// and can wait until none is left. Use <see cref="TaskGroup"/> when a block can bound the children. Loop thread only.
/// </summary>
public sealed class TaskOwner : IInlineFutureListener
{
    private readonly Action<AioTask>? _onTaskDone;
    private AioTask?[] _slots = new AioTask?[4];
    private int[] _free = new int[4];      // stack of free slot numbers below _used
    private int _freeCount;
    private int _used;                     // slots handed out so far (high-water mark)
    private int _count;
    private ParkingLot? _emptyWaiters;

    /// <summary>Creates an empty owner.</summary>
    /// <param name="name">Shown in <see cref="ToString"/> and task dumps.</param>
    /// <param name="onTaskDone">Called on the loop (queued, like a done callback) after an adopted task is done; the owner has forgotten it already.</param>
    public TaskOwner(string? name = null, Action<AioTask>? onTaskDone = null)
    {
        Name = name;
        _onTaskDone = onTaskDone;
    }

    /// <summary>The name given at creation, if any.</summary>
    public string? Name { get; }

    /// <summary>How many adopted tasks are not done yet (exact as soon as a task completes).</summary>
    public int Count => _count;

    /// <summary>The adopted tasks not done yet (a snapshot, in slot order).</summary>
    public IReadOnlyList<AioTask> Tasks
    {
        get
        {
            var list = new List<AioTask>(_count);
            for (int i = 0; i < _used; i++)
            {
                if (_slots[i] is { } t)
                {
                    list.Add(t);
                }
            }
            return list;
        }
    }

    /// <summary>Whether <paramref name="task"/> is adopted here and not done yet.</summary>
    /// <param name="task">The task to look for.</param>
    public bool Contains(AioTask task) => Array.IndexOf(_slots, task, 0, _used) >= 0;

    /// <summary>Takes <paramref name="task"/> into this owner until it is done; a task already done is not kept.</summary>
    /// <param name="task">A task of the owner's loop.</param>
    public void Adopt(AioTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        task.Loop.CheckThread(nameof(Adopt));
        if (task.Done)
        {
            return;
        }
        int slot;
        if (_freeCount > 0)
        {
            slot = _free[--_freeCount];
        }
        else
        {
            if (_used == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
                Array.Resize(ref _free, _slots.Length);
            }
            slot = _used++;
        }
        _slots[slot] = task;
        _count++;
        task.AddListener(this, slot);
        AssertInvariants();
    }

    /// <summary>Cancels every adopted task not done yet; returns how many were asked.</summary>
    /// <param name="message">The cancel message each task's <see cref="CancelledError"/> carries.</param>
    public int CancelAll(string? message = null)
    {
        int n = 0;
        foreach (AioTask t in Tasks)
        {
            if (t.Cancel(message))
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>Waits until no adopted task is left (at once when none is). Tasks adopted meanwhile are waited for too.</summary>
    public async ValueTask WaitAllAsync()
    {
        while (_count > 0)
        {
            await (_emptyWaiters ??= new ParkingLot(this)).ParkAsync();
        }
    }

    void IFutureListener.OnFutureDone(AioFuture future, int arg)
    {
        Debug.Assert(ReferenceEquals(_slots[arg], future), "a done listener points at its own slot");
        var task = (AioTask)future;
        _slots[arg] = null;
        _free[_freeCount++] = arg;
        _count--;
        if (_onTaskDone is not null)
        {
            // User code: queued (before the waiters below wake, so they see its effects).
            task.Loop.CallSoonInternal(static s =>
            {
                var (owner, done) = ((TaskOwner, AioTask))s!;
                owner._onTaskDone!(done);
            }, (this, task));
        }
        if (_count == 0)
        {
            if (_freeCount == _used)
            {
                _freeCount = _used = 0;   // empty: start again from slot 0
            }
            _emptyWaiters?.UnparkAll();
        }
        AssertInvariants();
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        int live = 0;
        for (int i = 0; i < _used; i++)
        {
            if (_slots[i] is { Done: false })
            {
                live++;
            }
        }
        Debug.Assert(_count >= 0 && _count + _freeCount == _used, $"{this}: count {_count} + free {_freeCount} != used {_used}");
        Debug.Assert(live <= _count, $"{this}: more live slots ({live}) than counted ({_count})");
    }

    /// <summary><c>&lt;TaskOwner handlers tasks=3&gt;</c>.</summary>
    public override string ToString() => Name is null ? $"<TaskOwner tasks={_count}>" : $"<TaskOwner {Name} tasks={_count}>";
}
