namespace Aio.Tests.Sync;

public sealed class EventTests
{
    [Fact]
    public void Set_WithWaiters_WakesAllInWaitOrder()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var ev = new AioEvent();
            var tasks = Enumerable.Range(0, 3).Select(i => Asyncio.CreateTask(async () => { await ev.WaitAsync(); events.Add($"woke {i}"); })).ToArray();
            await TestLoop.Spin(2);
            events.Add("set");
            ev.Set();
            ev.Clear(); // does not un-wake the woken waiters
            await Asyncio.Gather(tasks);
            Assert.False(ev.IsSet);
        });
        Assert.Equal(new[] { "set", "woke 0", "woke 1", "woke 2" }, events);
    }

    [LoopFact]
    public async Task WaitAsync_WhenSet_CompletesSynchronously()
    {
        var ev = new AioEvent();
        ev.Set();
        ValueTask wait = ev.WaitAsync();
        Assert.True(wait.IsCompletedSuccessfully);
        await wait;
    }

    [LoopFact]
    public async Task WaitAsync_WokenThenCancelledBeforeRunning_ThrowsCancelled()
    {
        var ev = new AioEvent();
        AioTask t = Asyncio.CreateTask(async () => await ev.WaitAsync());
        await TestLoop.Spin(2);
        ev.Set();
        t.Cancel();
        await TestLoop.Spin(2);
        Assert.True(t.Cancelled);
    }

    [Fact]
    public void Set_BeforeLoopRuns_IsAllowed()
    {
        var ev = new AioEvent();
        ev.Set();
        TestLoop.Run(async () => await ev.WaitAsync());
        Assert.True(ev.IsSet);
    }
}

public sealed class ConditionTests
{
    [LoopFact]
    public async Task WaitAsync_WithoutLock_Throws()
    {
        var c = new AioCondition();
        await Assert.ThrowsAsync<InvalidOperationException>(() => c.WaitAsync());
        Assert.Throws<InvalidOperationException>(() => c.Notify());
        Assert.Throws<InvalidOperationException>(() => c.NotifyAll());
    }

    [Fact]
    public void Notify_One_WakesOldestWaiterWhichReacquiresLock()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var c = new AioCondition();
            var tasks = Enumerable.Range(0, 3).Select(i => Asyncio.CreateTask(async () =>
            {
                using (await c.AcquireAsync())
                {
                    await c.WaitAsync();
                    Assert.True(c.Locked);
                    events.Add($"woke {i}");
                }
            })).ToArray();
            await TestLoop.Spin(3);
            using (await c.AcquireAsync())
            {
                c.Notify(1);
                events.Add("notified 1");
            }
            await TestLoop.Spin(5);
            using (await c.AcquireAsync())
            {
                c.NotifyAll();
                events.Add("notified all");
            }
            await Asyncio.Gather(tasks);
            Assert.False(c.Locked);
        });
        Assert.Equal(new[] { "notified 1", "woke 0", "notified all", "woke 1", "woke 2" }, events);
    }

    [Fact]
    public void WaitAsync_NotifiedThenCancelledBeforeRunning_PassesNotificationOn()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var c = new AioCondition();
            AioTask Waiter(string name) => Asyncio.CreateTask(async () =>
            {
                using (await c.AcquireAsync())
                {
                    try
                    {
                        await c.WaitAsync();
                        events.Add($"{name} notified");
                    }
                    catch (CancelledError)
                    {
                        events.Add($"{name} cancelled, holds lock={c.Locked}");
                        throw;
                    }
                }
            }, name);
            AioTask w1 = Waiter("w1");
            AioTask w2 = Waiter("w2");
            await TestLoop.Spin(3);
            using (await c.AcquireAsync())
            {
                c.Notify(1);   // w1 is notified ...
                w1.Cancel();   // ... and cancelled before it runs: w2 gets the notification
            }
            await TestLoop.Spin(10);
            Assert.True(w1.Cancelled);
            Assert.True(w2.Done && !w2.Cancelled);
            Assert.False(c.Locked);
        });
        Assert.Equal(new[] { "w1 cancelled, holds lock=True", "w2 notified" }, events);
    }

    [Fact]
    public void WaitAsync_CancelledWhileWaiting_ReacquiresLockBeforeThrowing()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var c = new AioCondition();
            AioTask w = Asyncio.CreateTask(async () =>
            {
                using (await c.AcquireAsync())
                {
                    try
                    {
                        await c.WaitAsync();
                    }
                    catch (CancelledError)
                    {
                        events.Add($"cancelled, locked={c.Locked}");
                        throw;
                    }
                }
            });
            await TestLoop.Spin(2);
            var held = await c.AcquireAsync(); // the waiter must wait for this to re-acquire
            w.Cancel();
            await TestLoop.Spin(3);
            events.Add($"still waiting to re-acquire={!w.Done}");
            held.Dispose();
            await TestLoop.Spin(3);
            Assert.True(w.Cancelled);
            Assert.False(c.Locked);
        });
        Assert.Equal(new[] { "still waiting to re-acquire=True", "cancelled, locked=True" }, events);
    }

    [Fact]
    public void WaitForAsync_PredicateBecomesTrue_ReturnsItsValue()
    {
        int result = TestLoop.Run(async () =>
        {
            var c = new AioCondition();
            int value = 0;
            AioTask<int> waiter = Asyncio.CreateTask(async () =>
            {
                using (await c.AcquireAsync())
                {
                    return await c.WaitForAsync(() => value);
                }
            });
            for (int i = 0; i < 3; i++)
            {
                await TestLoop.Spin(2);
                using (await c.AcquireAsync())
                {
                    value = i == 2 ? 42 : 0;
                    c.NotifyAll();
                }
            }
            return await waiter;
        });
        Assert.Equal(42, result);
    }
}

public sealed class SemaphoreTests
{
    [Fact]
    public void Constructor_NegativeValue_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AioSemaphore(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AioBoundedSemaphore(-1));
    }

    [LoopFact]
    public async Task Release_BoundedPastInitialValue_Throws()
    {
        var s = new AioBoundedSemaphore(2);
        using (await s.AcquireAsync())
        {
        }
        var e = Assert.Throws<InvalidOperationException>(() => s.Release());
        Assert.Contains("AioBoundedSemaphore", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, s.Value);
    }

    [Fact]
    public void AcquireAsync_ValueTwo_AdmitsTwoAtATimeInFifoOrder()
    {
        var events = new List<string>();
        int inside = 0, maxInside = 0;
        TestLoop.Run(async () =>
        {
            var s = new AioSemaphore(2);
            var tasks = Enumerable.Range(0, 4).Select(i => Asyncio.CreateTask(async () =>
            {
                using (await s.AcquireAsync())
                {
                    events.Add($"in {i}");
                    maxInside = Math.Max(maxInside, ++inside);
                    await TestLoop.Spin(2 + i);
                    inside--;
                }
            })).ToArray();
            await Asyncio.Gather(tasks);
            Assert.Equal(2, s.Value);
        });
        Assert.Equal(2, maxInside);
        Assert.Equal(new[] { "in 0", "in 1", "in 2", "in 3" }, events);
    }

    [LoopFact]
    public async Task Locked_WaitersPresentDespiteFreePermitCount_IsTrue()
    {
        var s = new AioSemaphore(0);
        Assert.True(s.Locked);
        AioTask t = Asyncio.CreateTask(async () => { using (await s.AcquireAsync()) { } });
        await TestLoop.Spin(2);
        s.Release();            // handed to the waiter, not counted
        Assert.Equal(0, s.Value);
        await t;
        Assert.Equal(1, s.Value);
        Assert.False(s.Locked);
    }
}

public sealed class BarrierTests
{
    [Fact]
    public void WaitAsync_AllPartiesArrive_ReturnsDistinctIndicesAndIsReusable()
    {
        var indices = new List<int>();
        TestLoop.Run(async () =>
        {
            var b = new AioBarrier(3);
            for (int round = 0; round < 2; round++)
            {
                var tasks = Enumerable.Range(0, 3).Select(_ => Asyncio.CreateTask(async () => { indices.Add(await b.WaitAsync()); })).ToArray();
                await Asyncio.Gather(tasks);
                Assert.Equal(0, b.NWaiting);
            }
        });
        Assert.Equal(new[] { 2, 0, 1, 2, 0, 1 }, indices);
    }

    [LoopFact]
    public async Task AbortAsync_WithWaiters_BreaksCurrentAndLaterWaits()
    {
        var b = new AioBarrier(3);
        AioTask<int> w = Asyncio.CreateTask(() => b.WaitAsync());
        await TestLoop.Spin(3);
        Assert.Equal(1, b.NWaiting);
        await b.AbortAsync();
        Assert.True(b.Broken);
        await Assert.ThrowsAsync<BrokenBarrierError>(async () => await w);
        await Assert.ThrowsAsync<BrokenBarrierError>(() => b.WaitAsync());
        await b.ResetAsync();
        Assert.False(b.Broken);
    }

    [LoopFact]
    public async Task ResetAsync_WithWaiters_WaitersGetBrokenBarrierAndBarrierIsUsable()
    {
        var b = new AioBarrier(2);
        AioTask<int> w = Asyncio.CreateTask(() => b.WaitAsync());
        await TestLoop.Spin(3);
        await b.ResetAsync();
        await Assert.ThrowsAsync<BrokenBarrierError>(async () => await w);
        Assert.False(b.Broken);
        AioTask<int> a = Asyncio.CreateTask(() => b.WaitAsync());
        AioTask<int> c = Asyncio.CreateTask(() => b.WaitAsync());
        int[] got = await Asyncio.Gather(a, c);
        Assert.Equal(new[] { 0, 1 }, got);
    }

    [LoopFact]
    public async Task WaitAsync_CancelledWhileFilling_LeavesTheCount()
    {
        var b = new AioBarrier(2);
        AioTask<int> w = Asyncio.CreateTask(() => b.WaitAsync());
        await TestLoop.Spin(3);
        Assert.Equal(1, b.NWaiting);
        w.Cancel();
        await TestLoop.Spin(3);
        Assert.True(w.Cancelled);
        Assert.Equal(0, b.NWaiting);
    }

    [Fact]
    public void Constructor_ZeroParties_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => new AioBarrier(0));
}

public sealed class ReprTests
{
    [Fact]
    public void ToString_EachPrimitive_UsesAsyncioReprStyle()
    {
        var seen = new List<string>();
        TestLoop.Run(async () =>
        {
            var lk = new AioLock();
            seen.Add(lk.ToString());
            var held = await lk.AcquireAsync();
            AioTask w1 = Asyncio.CreateTask(async () => { using (await lk.AcquireAsync()) { } });
            AioTask w2 = Asyncio.CreateTask(async () => { using (await lk.AcquireAsync()) { } });
            await TestLoop.Spin(2);
            seen.Add(lk.ToString());
            held.Dispose();
            await Asyncio.Gather(w1, w2);

            var ev = new AioEvent();
            seen.Add(ev.ToString());
            ev.Set();
            seen.Add(ev.ToString());

            var sem = new AioSemaphore(2);
            seen.Add(sem.ToString());
            seen.Add(new AioBoundedSemaphore(0).ToString());
            seen.Add(new AioCondition().ToString());
            seen.Add(new AioBarrier(3).ToString());

            var q = new AioQueue<int>(100);
            q.PutNowait(1);
            q.PutNowait(2);
            q.PutNowait(3);
            seen.Add(q.ToString());
            var empty = new AioQueue<int>(100);
            AioTask<int> g = Asyncio.CreateTask(async () => await empty.GetAsync());
            await TestLoop.Spin(2);
            seen.Add(empty.ToString());
            empty.Shutdown();
            await Assert.ThrowsAsync<QueueShutDownException>(async () => await g);
            seen.Add(empty.ToString());
            seen.Add(new AioLifoQueue<int>().ToString());
            seen.Add(new AioPriorityQueue<string, int>(5).ToString());
        });
        Assert.Equal(new[]
        {
            "<AioLock [unlocked]>",
            "<AioLock [locked, waiters:2]>",
            "<AioEvent [unset]>",
            "<AioEvent [set]>",
            "<AioSemaphore [unlocked, value:2]>",
            "<AioBoundedSemaphore [locked]>",
            "<AioCondition [unlocked]>",
            "<AioBarrier [filling, waiters:0/3]>",
            "<AioQueue maxsize=100 count=3 unfinished=3>",
            "<AioQueue maxsize=100 count=0 getters:1>",
            "<AioQueue maxsize=100 count=0 shutdown>",
            "<AioLifoQueue maxsize=0 count=0>",
            "<AioPriorityQueue maxsize=5 count=0>",
        }, seen);
    }
}
