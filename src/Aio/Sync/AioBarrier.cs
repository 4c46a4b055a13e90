// AioBarrier: asyncio's Barrier (3.11), ported state for state onto an AioCondition.
//
// Design note. States: filling (tasks arrive) → draining (the last arrival released everyone; newcomers
// wait until all have left) → filling again; resetting (ResetAsync while tasks wait: they get
// BrokenBarrierError, then filling); broken (AbortAsync: every current and later wait fails until
// ResetAsync). All state changes happen under the condition's lock and notify all waiters, who re-check.
using System.Diagnostics;
using Aio.LowLevel;
using Aio.Sync.Internal;

namespace Aio;

/// <summary>
/// A rendezvous for a fixed number of tasks (asyncio's <c>Barrier</c>): each <see cref="WaitAsync"/> blocks
/// until <see cref="Parties"/> tasks wait, then all proceed; the barrier can be used again.
/// </summary>
/// <remarks>A barrier belongs to the loop it is created on (if created outside any loop: the first loop it is used on); use it on that loop's thread only.</remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class AioBarrier : IWaitTarget
{
    private enum State
    {
        Filling,
        Draining,
        Resetting,
        Broken,
    }

    // Invariants: 0 <= _count <= _parties; _count == _parties only transiently, inside the last arrival's WaitAsync.
    private readonly AioCondition _cond;  // guards the state; notified on every state change
    private readonly int _parties;        // tasks needed to trip the barrier, ≥ 1
    private readonly int _id;             // label number in hang reports
    private State _state;                 // see the design note
    private int _count;                   // tasks inside WaitAsync past the entry block (waiting or leaving)

    /// <summary>Creates a barrier for <paramref name="parties"/> tasks.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parties"/> is less than 1.</exception>
    public AioBarrier(int parties)
    {
        if (parties < 1)
        {
            SyncThrowHelper.BadParties(parties);
        }
        _parties = parties;
        _cond = new AioCondition { ReportAs = this };
        _id = LoopAffinity.NextId();
    }

    /// <summary>The number of tasks needed to pass the barrier.</summary>
    public int Parties => _parties;

    /// <summary>The number of tasks waiting for the barrier to fill (0 while it drains).</summary>
    public int NWaiting => _state == State.Filling ? _count : 0;

    /// <summary>True after <see cref="AbortAsync"/>, until <see cref="ResetAsync"/>.</summary>
    public bool Broken => _state == State.Broken;

    /// <summary>
    /// Waits until <see cref="Parties"/> tasks wait, then returns this task's arrival index (0 for the first,
    /// <c>Parties - 1</c> for the one that released the others).
    /// </summary>
    /// <exception cref="BrokenBarrierError">The barrier was aborted, or reset while this task waited.</exception>
    /// <exception cref="CancelledError">The task was cancelled; it no longer counts as waiting.</exception>
    public async Task<int> WaitAsync()
    {
        using (await _cond.AcquireAsync())
        {
            // Block while the barrier drains or resets.
            await _cond.WaitForAsync(() => _state is not (State.Draining or State.Resetting));
            if (_state == State.Broken)
            {
                throw SyncThrowHelper.BarrierBroken(this);
            }
            try
            {
                int index = _count++;
                AssertInvariants();
                if (index + 1 == _parties)
                {
                    _state = State.Draining;
                    _cond.NotifyAll();
                }
                else
                {
                    await _cond.WaitForAsync(() => _state != State.Filling);
                    if (_state is State.Broken or State.Resetting)
                    {
                        throw SyncThrowHelper.BarrierBroken(this);
                    }
                }
                return index;
            }
            finally
            {
                _count--;
                if (_count == 0)
                {
                    if (_state is State.Resetting or State.Draining)
                    {
                        _state = State.Filling;
                    }
                    _cond.NotifyAll();
                }
                AssertInvariants();
            }
        }
    }

    /// <summary>Returns the barrier to its empty state; tasks waiting now get <see cref="BrokenBarrierError"/>. Also repairs a broken barrier.</summary>
    public async Task ResetAsync()
    {
        using (await _cond.AcquireAsync())
        {
            _state = _count > 0 ? State.Resetting : State.Filling;
            _cond.NotifyAll();
            AssertInvariants();
        }
    }

    /// <summary>Breaks the barrier: current and later waits throw <see cref="BrokenBarrierError"/> until <see cref="ResetAsync"/>.</summary>
    public async Task AbortAsync()
    {
        using (await _cond.AcquireAsync())
        {
            _state = State.Broken;
            _cond.NotifyAll();
            AssertInvariants();
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants() =>
        Debug.Assert(_count >= 0 && _count <= _parties, "An AioBarrier's count of tasks inside WaitAsync must stay between 0 and Parties.");

    string IWaitTarget.Label => $"AioBarrier#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => "waits at";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => [];

    /// <summary>asyncio-style description: <c>&lt;AioBarrier [filling, waiters:2/3]&gt;</c>, <c>&lt;AioBarrier [broken]&gt;</c>.</summary>
    public override string ToString()
    {
        string state = _state.ToString().ToLowerInvariant();
        return _state == State.Broken ? $"<AioBarrier [{state}]>" : $"<AioBarrier [{state}, waiters:{NWaiting}/{_parties}]>";
    }
}
