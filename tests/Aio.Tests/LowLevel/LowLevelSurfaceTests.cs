using Aio.Examples.Guides;
using Aio.LowLevel;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.LowLevel;

/// <summary>
/// Aio.LowLevel as the extension surface: a primitive written outside Aio.dll (examples/Guides' AioLatch, built on
/// public API only), task ownership, outside-work accounting.
/// </summary>
public sealed class LowLevelSurfaceTests
{
    [Fact]
    public void AioLatch_LastCountDown_WakesWaitersInWaitOrder()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            var latch = new AioLatch(2);
            AioTask[] waiters = Enumerable.Range(0, 3).Select(i => CreateTask(async () =>
            {
                await latch.WaitAsync();
                events.Add($"w{i}");
            })).ToArray();
            await Sleep(1);
            latch.CountDown();
            await Sleep(1);
            events.Add($"count {latch.Count}");
            latch.CountDown();
            await Gather(waiters);
            await latch.WaitAsync();   // open: returns at once
            events.Add("open");
        });
        Assert.Equal(["count 1", "w0", "w1", "w2", "open"], events);
    }

    [Fact]
    public void AioLatch_WaiterCancelled_LeavesTheLotConsistent()
    {
        AioTest.Run(async () =>
        {
            var latch = new AioLatch(1);
            AioTask cancelled = CreateTask(async () => await latch.WaitAsync());
            AioTask kept = CreateTask(async () => await latch.WaitAsync());
            await Sleep(1);
            Assert.Equal("<AioLatch count=1 waiters=2>", latch.ToString());
            cancelled.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await cancelled);
            Assert.Equal("<AioLatch count=1 waiters=1>", latch.ToString());
            latch.CountDown();
            await kept;
            Assert.Equal("<AioLatch count=0 waiters=0>", latch.ToString());
        });
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void AioLatch_WaitInCancelledScope_Throws(int count)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            var latch = new AioLatch(count);
            bool finished = await MoveOnAfter(0, async () =>
            {
                await latch.WaitAsync();
                events.Add("passed the wait");
            });
            events.Add($"finished {finished}, latch {latch}");
        });
        Assert.Equal([$"finished False, latch <AioLatch count={count} waiters=0>"], events);
    }

    [Fact]
    public void AioLatch_NobodyCountsDown_HangReportNamesIt()
    {
        var loop = new EventLoop(new VirtualClock()) { HangDetection = true, ExceptionHandler = (_, _) => { } };
        string label = "";
        try
        {
            DeadlockDetectedException e = Assert.Throws<DeadlockDetectedException>(() => loop.RunUntilComplete(async () =>
            {
                var latch = new AioLatch(2);
                label = ((IWaitTarget)latch).Label;
                latch.CountDown();
                await CreateTask(async () => await latch.WaitAsync(), "starter");
            }));
            Assert.Contains($"Task 'starter' waits for 1 more count-down(s) of {label} <AioLatch count=1 waiters=1>", e.Report, StringComparison.Ordinal);
        }
        finally
        {
            loop.Close();
        }
    }

    [Fact]
    public void TaskOwner_AdoptedTasks_AreForgottenWhenDoneAndWaitedFor()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            var owner = new TaskOwner("jobs", t => events.Add($"done {t.Name}"));
            AioTask a = CreateTask(async () => await Sleep(1), "a");
            AioTask b = CreateTask(async () => await Sleep(2), "b");
            owner.Adopt(a);
            owner.Adopt(b);
            Assert.True(owner.Contains(b));
            events.Add($"count {owner.Count} {owner}");
            await owner.WaitAllAsync();
            events.Add($"count {owner.Count} contains a: {owner.Contains(a)}");
            owner.Adopt(a);   // already done: not kept
            events.Add($"count {owner.Count}");
        });
        Assert.Equal(["count 2 <TaskOwner jobs tasks=2>", "done a", "done b", "count 0 contains a: False", "count 0"], events);
    }

    [Fact]
    public void TaskOwner_CancelAll_CancelsOnlyThePendingAndReusesSlots()
    {
        AioTest.Run(async () =>
        {
            var owner = new TaskOwner();
            var tasks = Enumerable.Range(0, 100).Select(i => CreateTask(async () => await Sleep(i % 2 == 0 ? 1 : 1000))).ToList();
            tasks.ForEach(owner.Adopt);
            await Sleep(2);
            Assert.Equal(50, owner.Count);
            Assert.Equal(50, owner.CancelAll("stop"));
            await owner.WaitAllAsync();
            Assert.Equal(0, owner.Count);
            Assert.All(tasks.Where((_, i) => i % 2 == 1), t => Assert.True(t.Cancelled));
            // Slots are reused: adopting again after the owner emptied keeps working.
            AioTask again = CreateTask(async () => await Sleep(1));
            owner.Adopt(again);
            Assert.Equal([again], owner.Tasks);
            await owner.WaitAllAsync();
        });
    }

    [Fact]
    public void TrackOutsideWork_Reporting_HoldsVirtualTimeUntilDisposed()
    {
        double woke = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            OutsideWorkScope work = loop.TrackOutsideWork(OutsideWorkKind.Reporting);
            AioTask<double> sleeper = CreateTask(async () => { await Sleep(50); return loop.Time(); });
            double start = loop.Time();
            // Another thread reports back after a little real time; until then the clock must not jump.
            _ = Task.Run(async () =>
            {
                await Task.Delay(100);
                loop.CallSoonThreadSafe(() => work.Dispose());
            });
            await Sleep(0);
            Assert.Equal(start, loop.Time());
            return await sleeper - start;
        });
        Assert.Equal(50, woke, 3);
    }

    [Fact]
    public void OutsideWorkScope_DisposedTwice_EndsTheWorkOnce()
    {
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            using (OutsideWorkScope outer = loop.TrackOutsideWork(OutsideWorkKind.Foreign))
            {
                OutsideWorkScope inner = loop.TrackOutsideWork(OutsideWorkKind.Foreign);
                inner.Dispose();
                inner.Dispose();
                Assert.Equal(1, loop.OutsideForeignCount);
            }
            Assert.Equal(0, loop.OutsideForeignCount);
            await Sleep(0);
        });
    }

    [Fact]
    public void BeginOutsideWork_Foreign_KeepsTheHangDetectorQuiet()
    {
        // A task waits on a lot nobody in the loop will unpark, but outside work is pending: no deadlock report;
        // when the work ends (here: from a timer standing in for a thread's report) the wait completes normally.
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var lot = new ParkingLot();
            loop.BeginOutsideWork(OutsideWorkKind.Foreign);
            _ = Task.Run(async () =>
            {
                await Task.Delay(50);   // real: outside work that takes a while, during which the clock must stay still
                loop.CallSoonThreadSafe(() =>
                {
                    loop.EndOutsideWork(OutsideWorkKind.Foreign);
                    lot.UnparkAll();
                });
            });
            await lot.ParkAsync();
            events.Add("woken");
        }, virtualTime: true);
        Assert.Equal(["woken"], events);
    }
}
