namespace Aio.Tests.Sync;

public sealed class HangDetectorTests
{
    private static DeadlockDetectedException RunExpectingDeadlock(Func<Task> body)
    {
        var loop = new EventLoop(new VirtualClock()) { HangDetection = true, ExceptionHandler = (_, _) => { } };
        try
        {
            return Assert.Throws<DeadlockDetectedException>(() => loop.RunUntilComplete(body));
        }
        finally
        {
            loop.Close();
        }
    }

    [Fact]
    public void RunUntilComplete_TwoLockDeadlock_ReportNamesBothTasksAndLocksAndTheCycle()
    {
        var l1 = new AioLock();
        var l2 = new AioLock();
        DeadlockDetectedException e = RunExpectingDeadlock(async () =>
        {
            AioTask a = Asyncio.CreateTask(async () =>
            {
                using (await l1.AcquireAsync())
                {
                    await Asyncio.Sleep(1);
                    using (await l2.AcquireAsync())
                    {
                    }
                }
            }, "A");
            AioTask b = Asyncio.CreateTask(async () =>
            {
                using (await l2.AcquireAsync())
                {
                    await Asyncio.Sleep(1);
                    using (await l1.AcquireAsync())
                    {
                    }
                }
            }, "B");
            await Asyncio.Gather(a, b);
        });
        string id1 = Label(l1), id2 = Label(l2);
        Assert.Contains($"Task 'A' waits to acquire {id2}", e.Report, StringComparison.Ordinal);
        Assert.Contains($"Task 'B' waits to acquire {id1}", e.Report, StringComparison.Ordinal);
        Assert.Contains($"Cycle: Task 'A' waits {id2} held by Task 'B', which waits {id1} held by Task 'A'.", e.Report, StringComparison.Ordinal);
    }

    // The hang report labels primitives by a creation number (AioLock#3).
    private static string Label(AioLock lk) => ((Aio.LowLevel.IWaitTarget)lk).Label;

    [Fact]
    public void RunUntilComplete_EventNobodySets_ReportsTheWaitingTask()
    {
        var ev = new AioEvent();
        DeadlockDetectedException e = RunExpectingDeadlock(async () =>
        {
            AioTask t = Asyncio.CreateTask(async () => await ev.WaitAsync(), "waiter");
            await t;
        });
        Assert.Contains($"Task 'waiter' waits for {((Aio.LowLevel.IWaitTarget)ev).Label} <AioEvent [unset, waiters:1]>", e.Report, StringComparison.Ordinal);
        Assert.Contains("awaits Task 'waiter'", e.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void RunUntilComplete_TimerPending_NoFalseAlarm()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var ev = new AioEvent();
            AioTask waiter = Asyncio.CreateTask(async () => { await ev.WaitAsync(); events.Add("woken"); });
            await TestLoop.Spin(2);
            EventLoop.GetRunningLoop().CallLater(30, () => { events.Add("timer"); ev.Set(); });
            await waiter;
        });
        Assert.Equal(new[] { "timer", "woken" }, events);
    }

    [Fact]
    public void RunUntilComplete_HangDetectionOff_DoesNotThrowWhileWorkIsPending()
    {
        // With detection off, a loop whose task waits on something set later by a callback still runs normally.
        var loop = new EventLoop(new VirtualClock()) { HangDetection = false };
        Assert.False(loop.HangDetection);
        var ev = new AioEvent();
        loop.RunUntilComplete(async () =>
        {
            loop.CallSoon(ev.Set);
            await ev.WaitAsync();
        });
        loop.Close();
        Assert.True(ev.IsSet);
    }

    [Fact]
    public void HangDetection_DefaultsToDebug()
    {
        var loop = new EventLoop(new VirtualClock()) { Debug = true };
        Assert.True(loop.HangDetection);
        loop.Debug = false;
        Assert.False(loop.HangDetection);
        loop.Close();
    }

    [Fact]
    public void DumpTasks_OnDemand_ListsEachTaskAndWhatItWaitsOn()
    {
        string report = "";
        var q = new AioQueue<int>(1);
        var sem = new AioSemaphore(1);
        TestLoop.Run(async () =>
        {
            AioTask getter = Asyncio.CreateTask(async () => await q.GetAsync(), "getter");
            AioTask holder = Asyncio.CreateTask(async () => { using (await sem.AcquireAsync()) { await Asyncio.Sleep(10); } }, "holder");
            AioTask waiter = Asyncio.CreateTask(async () => { using (await sem.AcquireAsync()) { } }, "sem-waiter");
            await TestLoop.Spin(3);
            report = EventLoop.GetRunningLoop().DumpTasks();
            q.PutNowait(1);
            await Asyncio.Gather(getter, holder, waiter);
        });
        Assert.Contains($"Task 'getter' waits to get from {((Aio.LowLevel.IWaitTarget)q).Label} <AioQueue maxsize=1 count=0 getters:1>", report, StringComparison.Ordinal);
        Assert.Contains("Task 'holder' sleeps", report, StringComparison.Ordinal);
        Assert.Contains($"Task 'sem-waiter' waits to acquire {((Aio.LowLevel.IWaitTarget)sem).Label} <AioSemaphore [locked, waiters:1]>, held by Task 'holder'", report, StringComparison.Ordinal);
    }
}
