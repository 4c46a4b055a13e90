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

    private static async ValueTask<IDisposable> Box<T>(ValueTask<T> acquire) where T : IDisposable => await acquire;

    private static LockLike Make(string kind)
    {
        switch (kind)
        {
            case "AioLock":
                var lk = new AioLock();
                return new LockLike(kind, () => Box(lk.AcquireAsync()), lk.Release, () => lk.Locked);
            case "AioSemaphore":
                var s = new AioSemaphore(1);
                return new LockLike(kind, () => Box(s.AcquireAsync()), s.Release, () => s.Locked);
            case "AioBoundedSemaphore":
                var b = new AioBoundedSemaphore(1);
                return new LockLike(kind, () => Box(b.AcquireAsync()), b.Release, () => b.Locked);
            default:
                var c = new AioCondition();
                return new LockLike(kind, () => Box(c.AcquireAsync()), c.Release, () => c.Locked);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Acquire_ManyTasks_MutuallyExclusiveAndFifo(string kind)
    {
        var events = new List<string>();
        int inside = 0;
        int maxInside = 0;
        TestLoop.Run(async () =>
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
                        await TestLoop.Spin(3);
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
        TestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable held = await lk.Acquire();
            AioTask waiter = Asyncio.CreateTask(async () =>
            {
                using (await lk.Acquire())
                {
                    events.Add("waiter");
                    await TestLoop.Spin(1);
                }
            });
            await TestLoop.Spin(2);
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
        TestLoop.Run(async () =>
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
                        await TestLoop.Spin(1);
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
            await TestLoop.Spin(2);
            held.Dispose();   // hands the lock to w1 ...
            w1.Cancel();      // ... which is cancelled before it runs
            await TestLoop.Spin(6);
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
        TestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable held = await lk.Acquire();
            AioTask w1 = Asyncio.CreateTask(async () => { using (await lk.Acquire()) { events.Add("w1"); } });
            AioTask w2 = Asyncio.CreateTask(async () => { using (await lk.Acquire()) { events.Add("w2"); } });
            await TestLoop.Spin(2);
            w1.Cancel();
            await TestLoop.Spin(2);
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
        TestLoop.Run(async () =>
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
            await TestLoop.Spin(1);
            t.Cancel();
            await TestLoop.Spin(3);
            Assert.True(t.Done);
            Assert.False(lk.Locked());
        });
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Release_WhenNotLocked_Throws(string kind)
    {
        TestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            await TestLoop.Spin(1);
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

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Dispose_TwiceWhileOthersWait_SecondDoesNothingAndTheWaiterKeepsTheLock(string kind)
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            LockLike lk = Make(kind);
            IDisposable first = await lk.Acquire();
            AioTask Waiter(string name) => Asyncio.CreateTask(async () =>
            {
                using (await lk.Acquire())
                {
                    events.Add($"{name} in");
                    await TestLoop.Spin(3);
                    events.Add($"{name} out");
                }
            });
            AioTask second = Waiter("second");
            AioTask third = Waiter("third");
            await TestLoop.Spin(1); // both park, in order
            first.Dispose();            // hands the lock to second
            first.Dispose();            // must not hand second's lock on to third
            events.Add($"locked {lk.Locked()}");
            await Asyncio.Gather(second, third);
            events.Add($"end locked {lk.Locked()}");
        });
        Assert.Equal(["locked True", "second in", "second out", "third in", "third out", "end locked False"], events);
    }

    [Fact]
    public void Dispose_ReleaserStructTwice_SecondDoesNothing()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var lk = new AioLock();
            var held = await lk.AcquireAsync();
            AioTask waiter = Asyncio.CreateTask(async () => { using (await lk.AcquireAsync()) { events.Add("waiter in"); await TestLoop.Spin(2); events.Add("waiter out"); } });
            await TestLoop.Spin(1);
            held.Dispose();
            await TestLoop.Spin(1);
            held.Dispose(); // the waiter holds the lock now: nothing happens
            events.Add($"locked {lk.Locked}");
            await waiter;
            held.Dispose(); // unlocked: still nothing (no InvalidOperationException)
            events.Add($"end locked {lk.Locked}");
        });
        Assert.Equal(["waiter in", "locked True", "waiter out", "end locked False"], events);
    }

    [Fact]
    public void Dispose_AfterConditionWait_ReleasesTheReacquiredLock()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var c = new AioCondition();
            AioTask waiter = Asyncio.CreateTask(async () =>
            {
                using (await c.AcquireAsync())
                {
                    await c.WaitAsync(); // releases and re-acquires: the releaser above must still release
                    events.Add("woken");
                }
                events.Add($"after using locked {c.Locked}");
            });
            await TestLoop.Spin(1);
            using (await c.AcquireAsync())
            {
                c.Notify();
            }
            await waiter;
        });
        Assert.Equal(["woken", "after using locked False"], events);
    }

    [Fact]
    public void Dispose_AfterReleaseOfTheSameAcquisition_DoesNotReleaseAgain()
    {
        int value = -1;
        TestLoop.Run(async () =>
        {
            var s = new AioSemaphore(1);
            var permit = await s.AcquireAsync();
            s.Release();      // counted against this task's acquisition ...
            permit.Dispose(); // ... so its releaser has nothing left to return
            value = s.Value;
        });
        Assert.Equal(1, value);
    }
}

/// <summary>
/// The FIFO contract of semaphores with any number of permits: a permit handed to a woken waiter that has not
/// run yet still belongs to it, so a task that releases and re-acquires at once queues behind it (asyncio).
/// </summary>
public sealed class SemaphoreFifoContractTests
{
    public static TheoryData<string, int> KindsAndValues => new()
    {
        { "AioSemaphore", 1 }, { "AioSemaphore", 2 }, { "AioSemaphore", 3 },
        { "AioBoundedSemaphore", 1 }, { "AioBoundedSemaphore", 2 }, { "AioBoundedSemaphore", 3 },
    };

    public static TheoryData<string, int> KindsAndValuesAtLeastTwo => new()
    {
        { "AioSemaphore", 2 }, { "AioSemaphore", 3 }, { "AioBoundedSemaphore", 2 }, { "AioBoundedSemaphore", 3 },
    };

    private static AioSemaphore Make(string kind, int value) =>
        kind == "AioBoundedSemaphore" ? new AioBoundedSemaphore(value) : new AioSemaphore(value);

    [Theory]
    [MemberData(nameof(KindsAndValues))]
    public void Acquire_ManyTasksUnevenHoldTimes_EnterInArrivalOrderAndNeverExceedValue(string kind, int value)
    {
        var events = new List<string>();
        int inside = 0, maxInside = 0;
        TestLoop.Run(async () =>
        {
            AioSemaphore s = Make(kind, value);
            int[] holds = { 5, 1, 4, 1, 3, 2, 1, 6 };
            var tasks = Enumerable.Range(0, holds.Length).Select(i => Asyncio.CreateTask(async () =>
            {
                using (await s.AcquireAsync())
                {
                    events.Add($"in {i}");
                    maxInside = Math.Max(maxInside, ++inside);
                    await TestLoop.Spin(holds[i]);
                    inside--;
                }
            })).ToArray();
            await Asyncio.Gather(tasks);
            Assert.Equal(value, s.Value);
            Assert.False(s.Locked);
        });
        Assert.Equal(value, maxInside);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"in {i}"), events);
    }

    [Theory]
    [MemberData(nameof(KindsAndValues))]
    public void Release_ThenReacquireBeforeWokenWaiterRuns_QueuesBehindIt(string kind, int value)
    {
        // asyncio's test_acquire_fifo_order_2, with value - 1 permits held by the test throughout.
        var result = new List<int>();
        TestLoop.Run(async () =>
        {
            AioSemaphore s = Make(kind, value);
            var kept = new List<IDisposable>();
            for (int i = 1; i < value; i++)
            {
                kept.Add(await s.AcquireAsync());
            }
            AioTask t1 = Asyncio.CreateTask(async () => { await s.AcquireAsync(); result.Add(1); });
            AioTask t2 = Asyncio.CreateTask(async () =>
            {
                await s.AcquireAsync();
                result.Add(2);
                s.Release();           // t3 was handed a permit but has not run yet ...
                await s.AcquireAsync(); // ... so this queues behind it
                result.Add(4);
            });
            AioTask t3 = Asyncio.CreateTask(async () => { await s.AcquireAsync(); result.Add(3); });
            await TestLoop.Spin(1);
            s.Release();
            s.Release();
            await Asyncio.Gather(t1, t2, t3);
        });
        Assert.Equal(new[] { 1, 2, 3, 4 }, result);
    }

    [Theory]
    [MemberData(nameof(KindsAndValuesAtLeastTwo))]
    public void Release_FourTasksTwoHolding_WaitersGetPermitsBeforeTheReleaserReacquires(string kind, int value)
    {
        // t1 and t2 hold, t3 and t4 wait; t1 releases (t3 is handed the permit); t2 releases and re-acquires
        // at once: it must come after t3 and t4.
        var order = new List<string>();
        TestLoop.Run(async () =>
        {
            AioSemaphore s = Make(kind, value);
            var kept = new List<IDisposable>();
            for (int i = 2; i < value; i++)
            {
                kept.Add(await s.AcquireAsync());
            }
            var release1 = new AioEvent();
            var release2 = new AioEvent();
            AioTask Holder(string name, AioEvent release, bool reacquire) => Asyncio.CreateTask(async () =>
            {
                var permit = await s.AcquireAsync();
                order.Add(name);
                await release.WaitAsync();
                permit.Dispose();
                if (reacquire)
                {
                    using (await s.AcquireAsync())
                    {
                        order.Add(name + " again");
                    }
                }
            });
            AioTask Waiter(string name) => Asyncio.CreateTask(async () =>
            {
                using (await s.AcquireAsync())
                {
                    order.Add(name);
                    await TestLoop.Spin(1);
                }
            });
            AioTask t1 = Holder("t1", release1, false);
            AioTask t2 = Holder("t2", release2, true);
            AioTask t3 = Waiter("t3");
            AioTask t4 = Waiter("t4");
            await TestLoop.Spin(2);
            release1.Set();
            release2.Set();
            await Asyncio.Gather(t1, t2, t3, t4);
            Assert.Equal(value - kept.Count, s.Value);
        });
        Assert.Equal(new[] { "t1", "t2", "t3", "t4", "t2 again" }, order);
    }

    [Theory]
    [MemberData(nameof(KindsAndValues))]
    public void Locked_PermitHandedToWaiterThatHasNotRun_IsTrueAndAcquireQueuesBehind(string kind, int value)
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            AioSemaphore s = Make(kind, value);
            var held = new List<IDisposable>();
            for (int i = 0; i < value; i++)
            {
                held.Add(await s.AcquireAsync());
            }
            AioTask w = Asyncio.CreateTask(async () => { using (await s.AcquireAsync()) { events.Add("w"); } });
            await TestLoop.Spin(1);
            held[0].Dispose();              // handed to w, which has not run yet
            if (value > 1)
            {
                held[1].Dispose();          // a free permit, but w has not run: still locked
                Assert.Equal(1, s.Value);
            }
            events.Add($"locked={s.Locked}");
            using (await s.AcquireAsync())   // queues behind w
            {
                events.Add("main");
            }
            await w;
        });
        Assert.Equal(new[] { "locked=True", "w", "main" }, events);
    }

    [Theory]
    [MemberData(nameof(KindsAndValues))]
    public void Acquire_WokenWaiterCancelledBeforeRunning_HandsItsPermitToTheNextWaiter(string kind, int value)
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            AioSemaphore s = Make(kind, value);
            var held = new List<IDisposable>();
            for (int i = 0; i < value; i++)
            {
                held.Add(await s.AcquireAsync());
            }
            AioTask Waiter(string name) => Asyncio.CreateTask(async () =>
            {
                try
                {
                    using (await s.AcquireAsync())
                    {
                        events.Add($"{name} acquired");
                        await TestLoop.Spin(3);
                    }
                }
                catch (CancelledError)
                {
                    events.Add($"{name} cancelled");
                    throw;
                }
            }, name);
            AioTask w1 = Waiter("w1");
            AioTask w2 = Waiter("w2");
            AioTask w3 = Waiter("w3");
            await TestLoop.Spin(1);
            held[0].Dispose();   // hands a permit to w1 ...
            w1.Cancel();         // ... which is cancelled before it runs: w2 gets it
            await TestLoop.Spin(1);
            events.Add($"value={s.Value} locked={s.Locked}");
            await w2;
            await w3;
            Assert.True(w1.Cancelled);
            foreach (IDisposable h in held.Skip(1))
            {
                h.Dispose();
            }
            Assert.Equal(value, s.Value);
        });
        Assert.Equal(new[] { "w1 cancelled", "value=0 locked=True", "w2 acquired", "w3 acquired" }, events);
    }
}
