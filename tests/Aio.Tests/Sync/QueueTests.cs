namespace Aio.Tests.Sync;

public sealed class QueueTests
{
    [LoopFact]
    public async Task GetAsync_EachKind_ComesOutInItsOrder()
    {
        var fifo = new AioQueue<int>();
        var lifo = new AioLifoQueue<int>();
        var prio = new AioPriorityQueue<string, int>();
        foreach (int i in new[] { 3, 1, 2 })
        {
            await fifo.PutAsync(i);
            await lifo.PutAsync(i);
            await prio.PutAsync($"p{i}", i);
        }
        await prio.PutAsync("p1-second", 1);
        var got = new List<string>();
        while (!fifo.Empty)
        {
            got.Add($"fifo {await fifo.GetAsync()}");
        }
        while (lifo.TryGet(out int x))
        {
            got.Add($"lifo {x}");
        }
        while (!prio.Empty)
        {
            got.Add($"prio {prio.GetNowait().Element}");
        }
        Assert.Equal(new[] { "fifo 3", "fifo 1", "fifo 2", "lifo 2", "lifo 1", "lifo 3", "prio p1", "prio p1-second", "prio p2", "prio p3" }, got);
    }

    [LoopFact]
    public async Task PutNowaitAndGetNowait_FullOrEmpty_Throw()
    {
        var q = new AioQueue<int>(1);
        Assert.Throws<QueueEmptyException>(() => q.GetNowait());
        q.PutNowait(1);
        Assert.True(q.Full);
        Assert.False(q.TryPut(2));
        Assert.Throws<QueueFullException>(() => q.PutNowait(2));
        Assert.Equal(1, await q.GetAsync());
        Assert.False(q.TryGet(out _));
    }

    [LoopFact]
    public async Task TaskDone_MoreThanPut_Throws()
    {
        var q = new AioQueue<int>();
        await q.PutAsync(1);
        q.TaskDone();
        Assert.Throws<InvalidOperationException>(() => q.TaskDone());
    }

    [Fact]
    public void JoinAsync_ReturnsWhenEveryItemIsDone()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>();
            await q.JoinAsync(); // nothing unfinished: at once
            for (int i = 0; i < 3; i++)
            {
                q.PutNowait(i);
            }
            AioTask worker = Asyncio.CreateTask(async () =>
            {
                await foreach (int item in q)
                {
                    await Asyncio.Sleep(1);
                    events.Add($"done {item}");
                    q.TaskDone();
                }
                events.Add("worker ends");
            });
            await q.JoinAsync();
            events.Add("joined");
            q.Shutdown();
            await worker;
        });
        Assert.Equal(new[] { "done 0", "done 1", "done 2", "joined", "worker ends" }, events);
    }

    [Fact]
    public void PutAsync_FullQueue_PuttersProceedInFifoOrder()
    {
        var got = new List<int>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(1);
            var putters = Enumerable.Range(0, 4).Select(i => Asyncio.CreateTask(async () => await q.PutAsync(i))).ToArray();
            await TestLoop.Spin(2);
            for (int i = 0; i < 4; i++)
            {
                got.Add(await q.GetAsync());
            }
            await Asyncio.Gather(putters);
        });
        Assert.Equal(new[] { 0, 1, 2, 3 }, got);
    }

    [Fact]
    public void GetAsync_WokenThenCancelledBeforeRunning_ItemGoesToNextGetter()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<string>();
            AioTask Getter(string name) => Asyncio.CreateTask(async () =>
            {
                try
                {
                    events.Add($"{name} got {await q.GetAsync()}");
                }
                catch (CancelledError)
                {
                    events.Add($"{name} cancelled");
                    throw;
                }
            }, name);
            AioTask g1 = Getter("g1");
            AioTask g2 = Getter("g2");
            await TestLoop.Spin(2);
            q.PutNowait("x");  // promised to g1 ...
            g1.Cancel();       // ... which is cancelled before it runs
            Assert.False(q.TryGet(out _)); // a newcomer cannot take the promised item
            await TestLoop.Spin(4);
            Assert.True(g1.Cancelled);
            Assert.True(q.Empty);
            await g2;
        });
        Assert.Equal(new[] { "g1 cancelled", "g2 got x" }, events);
    }

    [LoopFact]
    public async Task GetAsync_WokenThenCancelledWithNobodyElse_ItemReturnsToFrontOfQueue()
    {
        var q = new AioQueue<int>();
        AioTask<int> g = Asyncio.CreateTask(async () => await q.GetAsync());
        await TestLoop.Spin(2);
        q.PutNowait(1);
        q.PutNowait(2);
        g.Cancel();
        await TestLoop.Spin(3);
        Assert.True(g.Cancelled);
        Assert.Equal(2, q.Count);
        Assert.Equal(1, q.GetNowait());
        Assert.Equal(2, q.GetNowait());
    }

    [Fact]
    public void PutAsync_WokenThenCancelledBeforeRunning_NeverInsertsAndSlotPassesOn()
    {
        var got = new List<int>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(1);
            q.PutNowait(0);
            AioTask p1 = Asyncio.CreateTask(async () => await q.PutAsync(1));
            AioTask p2 = Asyncio.CreateTask(async () => await q.PutAsync(2));
            await TestLoop.Spin(2);
            got.Add(q.GetNowait()); // frees a slot, reserved for p1 ...
            p1.Cancel();            // ... which is cancelled before it runs
            Assert.False(q.TryPut(99)); // a newcomer cannot take the reserved slot
            await TestLoop.Spin(4);
            Assert.True(p1.Cancelled);
            await p2;
            while (q.TryGet(out int x))
            {
                got.Add(x);
            }
        });
        Assert.Equal(new[] { 0, 2 }, got);
    }

    [Fact]
    public void Shutdown_NotImmediate_PutsFailRemainingItemsGettableThenGetsFail()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(2);
            q.PutNowait(1);
            q.PutNowait(2);
            AioTask blockedPutter = Asyncio.CreateTask(async () => await q.PutAsync(3));
            await TestLoop.Spin(2);
            q.Shutdown();
            await Assert.ThrowsAsync<QueueShutDownException>(async () => await blockedPutter);
            Assert.Throws<QueueShutDownException>(() => q.PutNowait(4));
            await Assert.ThrowsAsync<QueueShutDownException>(async () => await q.PutAsync(4));
            events.Add($"get {await q.GetAsync()}");
            events.Add($"get {q.GetNowait()}");
            await Assert.ThrowsAsync<QueueShutDownException>(async () => await q.GetAsync());
            Assert.Throws<QueueShutDownException>(() => q.GetNowait());
            q.TaskDone();
            q.TaskDone();
            await q.JoinAsync();
            events.Add("joined");
        });
        Assert.Equal(new[] { "get 1", "get 2", "joined" }, events);
    }

    [LoopFact]
    public async Task Shutdown_NotImmediate_BlockedGettersFail()
    {
        var q = new AioQueue<int>();
        AioTask<int> g = Asyncio.CreateTask(async () => await q.GetAsync());
        await TestLoop.Spin(2);
        q.Shutdown();
        await Assert.ThrowsAsync<QueueShutDownException>(async () => await g);
    }

    [LoopFact]
    public async Task Shutdown_Immediate_DiscardsItemsCompletesJoinAndFailsGetters()
    {
        var q = new AioQueue<int>();
        q.PutNowait(1);
        q.PutNowait(2);
        AioTask joiner = Asyncio.CreateTask(() => q.JoinAsync());
        await TestLoop.Spin(2);
        q.Shutdown(immediate: true);
        Assert.True(q.Empty);
        await joiner;
        await Assert.ThrowsAsync<QueueShutDownException>(async () => await q.GetAsync());
        Assert.Throws<InvalidOperationException>(() => q.TaskDone());
    }

    [LoopFact]
    public async Task Shutdown_ImmediateWhileGetterWokenButNotRun_GetterFails()
    {
        var q = new AioQueue<int>();
        AioTask<int> g = Asyncio.CreateTask(async () => await q.GetAsync());
        await TestLoop.Spin(2);
        q.PutNowait(1);              // promised to g
        q.Shutdown(immediate: true); // discarded before g runs
        await Assert.ThrowsAsync<QueueShutDownException>(async () => await g);
        Assert.True(q.Empty);
    }

    [Fact]
    public void AwaitForeach_Shutdown_EndsAfterRemainingItems()
    {
        var got = new List<int>();
        TestLoop.Run(async () =>
        {
            var q = new AioQueue<int>(2);
            AioTask consumer = Asyncio.CreateTask(async () =>
            {
                await foreach (int x in q)
                {
                    got.Add(x);
                }
            });
            for (int i = 0; i < 5; i++)
            {
                await q.PutAsync(i);
            }
            q.Shutdown();
            await consumer;
        });
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, got);
    }
}
