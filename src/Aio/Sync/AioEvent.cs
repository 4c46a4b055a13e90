using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Aio.Internal;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A flag tasks can wait for (asyncio's <c>Event</c>): <see cref="Set"/> wakes every task waiting now, in
/// the order they started waiting; while set, <see cref="WaitAsync"/> returns at once.
/// </summary>
/// <remarks>An event belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioEvent : IValueTaskSource, IWaitTarget, ITaskStepSource
{
    // Invariant: _isSet => nobody is parked in _waiters (Set wakes them all; nobody parks while set).
    private readonly ParkingLot _waiters;  // tasks waiting for Set, oldest first
    private readonly int _id;              // label number in hang reports
    private bool _isSet;                   // the flag
    private EventLoop? _loop;              // the loop this event belongs to; null until first used on a loop (or created on one)

    /// <summary>Creates an event that is not set.</summary>
    public AioEvent()
    {
        _waiters = new ParkingLot(this);
        _id = LoopAffinity.NextId();
        _loop = EventLoop.TryGetRunningLoop(); // created on a loop thread: bound to that loop from the start
    }

    /// <summary>True between <see cref="Set"/> and <see cref="Clear"/>.</summary>
    public bool IsSet => _isSet;

    /// <summary>Waits until the event is set; returns at once (without allocating) if it is set already.</summary>
    /// <exception cref="CancelledError">The task is cancelled (also when it was cancelled after being woken but before it ran).</exception>
    public ValueTask WaitAsync()
    {
        EventLoop loop = LoopAffinity.CheckRunning(ref _loop, this, nameof(WaitAsync));
        AioTask? task = loop.CurrentTaskInternal;
        LoopAffinity.ThrowIfCancelled(task);
        if (_isSet)
        {
            return default;
        }
        task ??= LoopAffinity.RequireTask(loop, nameof(WaitAsync));
        return new ValueTask(this, ParkedWait.Park(_waiters, task));
    }

    /// <summary>Sets the flag and wakes every waiting task, in wait order (they run on a later iteration). Idempotent.</summary>
    public void Set()
    {
        LoopAffinity.Check(ref _loop, this, nameof(Set));
        if (_isSet)
        {
            return;
        }
        _isSet = true;
        _waiters.UnparkAll();
        AssertInvariants();
    }

    /// <summary>Clears the flag: later waits block until the next <see cref="Set"/>. Tasks already woken stay woken.</summary>
    public void Clear()
    {
        LoopAffinity.Check(ref _loop, this, nameof(Clear));
        _isSet = false;
        AssertInvariants();
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token)
    {
        AioTask task = ParkedWait.End(_loop, token);
        // Woken by Set, then cancelled before running: asyncio raises CancelledError (nothing to pass on).
        task.ThrowIfCancelled();
    }

    [Conditional("DEBUG")]
    private void AssertInvariants() =>
        Debug.Assert(!_isSet || _waiters.Count == 0, "A set AioEvent must have no parked waiters: Set wakes them all.");

    string IWaitTarget.Label => $"AioEvent#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => "waits for";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => [];

    /// <summary>asyncio-style description: <c>&lt;AioEvent [unset, waiters:1]&gt;</c>, <c>&lt;AioEvent [set]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _isSet ? "set" : "unset";
        int waiters = _waiters.Count;
        return waiters > 0 ? $"<AioEvent [{state}, waiters:{waiters}]>" : $"<AioEvent [{state}]>";
    }
}
