namespace Aio.Tests.Sync;

/// <summary>
/// Trio's generic_lock_test: mutual exclusion, FIFO fairness and cancellation safety, run over every
/// lock-like primitive (AioLock, AioSemaphore(1), AioBoundedSemaphore(1), AioCondition's lock).
/// </summary>
public sealed class LockContractTests
{
    public sealed record LockLike(string Name, Func<ValueTask<IDisposable>> Acquire, Action Release, Func<bool> Locked)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<string> Kinds => new() { "AioLock", "AioSemaphore", "AioBoundedSemaphore", "AioCondition" };

    private static LockLike Make(string kind)
    {
        switch (kind)
        {
            case "AioLock":
                var lk = new AioLock();
                return new LockLike(kind, lk.AcquireAsync, lk.Release, () => lk.Locked);
            case "AioSemaphore":
                var s = new AioSemaphore(1);
                return new LockLike(kind, s.AcquireAsync, s.Release, () => s.Locked);
            case "AioBoundedSemaphore":
                var b = new AioBoundedSemaphore(1);
                return new LockLike(kind, b.AcquireAsync, b.Release, () => b.Locked);
            default:
                var c = new AioCondition();
                return new LockLike(kind, c.AcquireAsync, c.Release, () => c.Locked);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Acquire_ManyTasks_MutuallyExclusiveAndFifo(string kind)
    {
        var events = new List<string>();
        int inside = 0;
        int maxInside = 0;
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            var tasks = new List<AioTask>();
            for (int i = 0; i < 5; i++)
            {
                int id = i;
                tasks.Add(Asyncio.CreateTask(async () =>
                {
                    using (await lk.Acquire())
                    {
                        inside++;
                        maxInside = Math.Max(maxInside, inside);
                        events.Add($"in {id}");
                        await SyncTestLoop.Spin(3);
                        events.Add($"out {id}");
                        inside--;
                    }
                }));
            }
            await Asyncio.Gather(tasks.ToArray());
            Assert.False(lk.Locked());
        });
        Assert.Equal(1, maxInside);
        Assert.Equal(new[] { "in 0", "out 0", "in 1", "out 1", "in 2", "out 2", "in 3", "out 3", "in 4", "out 4" }, events);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Release_ThenReacquireInSameStep_DoesNotBargePastWokenWaiter(string kind)
    {
        var events = new List<string>();
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable held = await lk.Acquire();
            AioTask waiter = Asyncio.CreateTask(async () =>
            {
                using (await lk.Acquire())
                {
                    events.Add("waiter");
                    await SyncTestLoop.Spin(1);
                }
            });
            await SyncTestLoop.Spin(2);
            held.Dispose();           // wakes the waiter: it owns the lock now
            Assert.True(lk.Locked());
            using (await lk.Acquire()) // must queue behind the woken waiter
            {
                events.Add("main");
            }
            await waiter;
        });
        Assert.Equal(new[] { "waiter", "main" }, events);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Acquire_WokenThenCancelledBeforeRunning_PassesToNextWaiter(string kind)
    {
        var events = new List<string>();
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable held = await lk.Acquire();
            AioTask MakeWaiter(string name) => Asyncio.CreateTask(async () =>
            {
                try
                {
                    using (await lk.Acquire())
                    {
                        events.Add($"{name} acquired");
                        await SyncTestLoop.Spin(1);
                    }
                }
                catch (CancelledError)
                {
                    events.Add($"{name} cancelled");
                    throw;
                }
            }, name);
            AioTask w1 = MakeWaiter("w1");
            AioTask w2 = MakeWaiter("w2");
            await SyncTestLoop.Spin(2);
            held.Dispose();   // hands the lock to w1 ...
            w1.Cancel();      // ... which is cancelled before it runs
            await SyncTestLoop.Spin(6);
            Assert.True(w1.Cancelled);
            Assert.True(w2.Done && !w2.Cancelled);
            Assert.False(lk.Locked());
        });
        Assert.Equal(new[] { "w1 cancelled", "w2 acquired" }, events);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Acquire_CancelledWhileParked_LeavesQueueAndNextGetsIt(string kind)
    {
        var events = new List<string>();
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable held = await lk.Acquire();
            AioTask w1 = Asyncio.CreateTask(async () => { using (await lk.Acquire()) { events.Add("w1"); } });
            AioTask w2 = Asyncio.CreateTask(async () => { using (await lk.Acquire()) { events.Add("w2"); } });
            await SyncTestLoop.Spin(2);
            w1.Cancel();
            await SyncTestLoop.Spin(2);
            events.Add($"w1 cancelled={w1.Cancelled}");
            held.Dispose();
            await w2;
            Assert.False(lk.Locked());
        });
        Assert.Equal(new[] { "w1 cancelled=True", "w2" }, events);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Acquire_AlreadyCancelledTask_ThrowsWithoutAcquiring(string kind)
    {
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            var gate = new AioEvent();
            AioTask t = Asyncio.CreateTask(async () =>
            {
                try
                {
                    await gate.WaitAsync();
                }
                catch (CancelledError)
                {
                }
                // The scope stays cancelled: the next Aio await throws even though the lock is free.
                await Assert.ThrowsAsync<CancelledError>(async () => await lk.Acquire());
            });
            await SyncTestLoop.Spin(1);
            t.Cancel();
            await SyncTestLoop.Spin(3);
            Assert.True(t.Done);
            Assert.False(lk.Locked());
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Release_WhenNotLocked_Throws(string kind)
    {
        SyncTestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            await SyncTestLoop.Spin(1);
            if (kind == "AioSemaphore")
            {
                // An unbounded semaphore may be released past its initial value (asyncio).
                lk.Release();
                Assert.False(lk.Locked());
                return;
            }
            Assert.Throws<InvalidOperationException>(() => lk.Release());
        });
    }
}
