using System.Threading.Tasks.Sources;
using Aio;
using Aio.LowLevel;

namespace Aio.Examples.Guides;

/// <summary>
/// docs/lowlevel.md: a primitive written outside Aio on Aio.LowLevel only. A countdown latch: tasks wait until
/// <see cref="CountDown"/> has been called <c>count</c> times. It waits without allocating (the wait lives in
/// the task; the latch is its own IValueTaskSource) and it shows in hang reports like Aio's own primitives.
/// </summary>
public sealed class AioLatch : IValueTaskSource, IWaitTarget
{
    private static int s_ids;
    private readonly ParkingLot _waiters;
    private readonly int _id = Interlocked.Increment(ref s_ids);
    private readonly EventLoop _loop;
    private int _count;

    /// <summary>A latch that opens after <paramref name="count"/> calls of <see cref="CountDown"/>; create it on the loop.</summary>
    public AioLatch(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _count = count;
        _waiters = new ParkingLot(owner: this);   // the owner is what hang reports ask (IWaitTarget)
        _loop = EventLoop.GetRunningLoop();
    }

    /// <summary>Calls of <see cref="CountDown"/> still needed.</summary>
    public int Count => _count;

    /// <summary>Waits until the count reaches zero; returns at once if it has. Either way a cancelled scope throws.</summary>
    public ValueTask WaitAsync()
    {
        if (_count == 0)
        {
            Checkpoint.ThrowIfCancelled();   // no wait, but still a checkpoint
            return default;
        }
        // A park in a cancelled scope is aborted at once (cancellation is level-triggered): no check needed here.
        return new ValueTask(this, ParkedWait.Park(_waiters));
    }

    /// <summary>Counts down once; the last call wakes every waiter, in wait order.</summary>
    public void CountDown()
    {
        if (_count > 0 && --_count == 0)
        {
            _waiters.UnparkAll();
        }
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => ParkedWait.GetStatus(_loop, token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        ParkedWait.OnCompleted(_loop, continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => ParkedWait.End(_loop, token);

    string IWaitTarget.Label => $"AioLatch#{_id}";

    string IWaitTarget.DescribeWait(ParkingLot lot) => $"waits for {_count} more count-down(s) of";

    IReadOnlyList<AioTask> IWaitTarget.Blockers(ParkingLot lot) => [];

    /// <summary><c>&lt;AioLatch count=2 waiters=1&gt;</c>.</summary>
    public override string ToString() => $"<AioLatch count={_count} waiters={_waiters.Count}>";
}

/// <summary>docs/lowlevel.md: the latch in use.</summary>
public static class CustomPrimitiveGuide
{
    public static void Run()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            var ready = new AioLatch(3);
            AioTask[] workers = Enumerable.Range(1, 3).Select(i => Asyncio.CreateTask(async () =>
            {
                await Asyncio.Sleep(i);      // warm up
                ready.CountDown();
            })).ToArray();
            await ready.WaitAsync();         // all three are warm
            Console.WriteLine($"latch open at t={loop.Time():0}");
            await Asyncio.Gather(workers);
        });
    }
}
