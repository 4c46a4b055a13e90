using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests;

/// <summary>Bugs found while documenting the core, each pinned by the scenario that showed it.</summary>
public sealed class RegressionTests
{
    [Fact]
    public void ForeignAwait_AfterAwaitingATask_StillHoldsVirtualTime()
    {
        var clock = new VirtualClock { ForeignWaitThreshold = 30 };
        var loop = new EventLoop(clock);
        double seen = AioTest.RunOn(loop, async () =>
        {
            await CreateTask(async () => await Sleep(0)); // a future await: resumes without EndWait
            AioTask sleeper = CreateTask(async () => await Sleep(50));
            using var gate = new ManualResetEventSlim();
            // The foreign work finishes only after the sleeper has parked and the loop has gone idle.
            loop.CallSoon(() => loop.CallSoon(() => loop.CallSoon(gate.Set)));
            await Task.Run(() => gate.Wait(TimeSpan.FromSeconds(20))); // foreign: virtual time must not jump meanwhile
            double now = loop.Time();
            await sleeper;
            return now;
        });
        Assert.Equal(0, seen);
    }

    [Fact]
    public void Cancellable_CancelledWhileForeignTaskPending_ReleasesTheLoopForVirtualJumps()
    {
        var loop = new EventLoop(new VirtualClock());
        var never = new TaskCompletionSource<int>();
        AioTest.RunOn(loop, async () =>
        {
            AioTask t = CreateTask(async () => await Cancellable(never.Task));
            await Sleep(0);
            Assert.Equal(1, loop.OutsideForeignCount);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.Equal(0, loop.OutsideForeignCount);
            return true;
        });
        never.SetResult(0);
    }

    [Fact]
    public void TaskGroupChild_CancelledAfterAnEarlierScopeCaughtItsOwnCancel_EndsCancelled()
    {
        AioTest.Run(async () =>
        {
            AioTask<int>? child = null;
            await Assert.ThrowsAsync<AggregateException>(() => TaskGroup.Run(async g =>
            {
                child = g.CreateTask(async () =>
                {
                    await MoveOnAfter(0.01, async () => await Sleep(5)); // a cancellation delivered and swallowed
                    await Task.Delay(300);                                  // foreign: the group is cancelled meanwhile
                    return 42;                                              // no Aio await after the cancellation
                });
                _ = g.CreateTask(async () => { await Sleep(0.05); throw new InvalidOperationException("sibling"); });
                await Task.CompletedTask;
            }));
            Assert.True(child!.Cancelled);
        }, virtualTime: false);
    }
}
