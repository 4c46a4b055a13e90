using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Tasks;

/// <summary>
/// One task running several async methods at once, each awaiting Aio operations: <c>Task a = F(); await
/// Sleep(1); await a;</c>, or Task.WhenAll over helpers. Every wait must resume, cancel and end on its own.
/// </summary>
public sealed class ConcurrentWaitTests
{
    private static async Task Helper(string name, double delay, List<string> log)
    {
        await Sleep(delay);
        log.Add($"{name}1@{EventLoop.GetRunningLoop().Time() % 1000:0.00}");
        await Sleep(delay);
        log.Add($"{name}2");
    }

    [Fact]
    public void WhenAll_OfHelpersAwaitingSleeps_InOneTask_AllResumeAtTheirTimes()
    {
        var log = new List<string>();
        double elapsed = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double t0 = loop.Time();
            await Task.WhenAll(Helper("a", 2, log), Helper("b", 1, log), Helper("c", 1.5, log));
            return loop.Time() - t0;
        });
        Assert.InRange(elapsed, 4.0, 4.01);
        Assert.Equal(6, log.Count);
        Assert.Equal(new[] { "b", "c", "a", "b", "c", "a" }, log.Select(s => s[..1]));
    }

    [Fact]
    public void Gather_HeldWhileTheTaskSleeps_ThenAwaited_GivesTheResults()
    {
        int[] results = AioTest.Run(async () =>
        {
            AioTask<int> a = CreateTask(async () => { await Sleep(1); return 1; });
            AioTask<int> b = CreateTask(async () => { await Sleep(2); return 2; });
            Task<int[]> both = Gather(a, b);
            await Sleep(0.5);
            await Sleep(0);
            return await both;
        });
        Assert.Equal(new[] { 1, 2 }, results);
    }

    [Fact]
    public void Helper_ParkedOnAnEvent_WhileTheTaskSleeps_ResumesWhenSet()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            var ev = new AioEvent();
            Task waiter = WaitFor(ev, log);
            await Sleep(1);
            log.Add("setting");
            ev.Set();
            await Sleep(1);     // the helper resumes while this task sleeps again
            log.Add("slept");
            await waiter;
        });
        Assert.Equal(new[] { "setting", "event", "slept" }, log);

        static async Task WaitFor(AioEvent ev, List<string> log)
        {
            await ev.WaitAsync();
            log.Add("event");
        }
    }

    [Fact]
    public void Cancel_ATaskParkedInSeveralWaits_ThrowsCancelledErrorIntoEach()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () =>
            {
                var q = new AioQueue<int>();
                Task a = Catch("sleep", () => Sleep(100).AsTask(), log);
                Task b = Catch("queue", () => q.GetAsync().AsTask(), log);
                Task c = Catch("yield", () => Sleep(0).AsTask(), log);
                await Task.WhenAll(a, b, c);
                await Sleep(0); // level-triggered: the task ends cancelled
            });
            await Sleep(1);
            t.Cancel("stop");
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
        });
        Assert.Equal(new[] { "yield ok", "sleep cancelled: stop", "queue cancelled: stop" }, log);

        static async Task Catch(string name, Func<Task> wait, List<string> log)
        {
            try
            {
                await wait();
                log.Add($"{name} ok");
            }
            catch (CancelledError e)
            {
                log.Add($"{name} cancelled: {e.Message}");
            }
        }
    }

    [Fact]
    public void AnAioValueTask_AwaitedTwice_ThrowsAClearError_InsteadOfHanging()
    {
        AioTest.Run(async () =>
        {
            ValueTask first = Sleep(1);
            ValueTask second = Sleep(2); // begins while the first is not awaited: the first is abandoned
            await second;
            var e = await Assert.ThrowsAsync<InvalidOperationException>(async () => await first);
            Assert.Contains("await each Aio operation once, at once", e.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void WaitAllTasksBlocked_CountsATaskParkedOnlyInConcurrentWaits()
    {
        AioTest.Run(async () =>
        {
            var ev = new AioEvent();
            AioTask t = CreateTask(async () =>
            {
                Task a = ev.WaitAsync().AsTask();
                await Task.WhenAll(a, WaitTwice(ev));
            });
            await AioTest.WaitAllTasksBlocked();
            Assert.False(t.Done);
            ev.Set();
            await t;
        });

        static async Task WaitTwice(AioEvent ev)
        {
            await ev.WaitAsync();
            await Sleep(0);
        }
    }

    [Fact]
    public void ManyWaitsWhileAHelperStaysParked_TokensNeverCollide()
    {
        // Wait ids are loop-wide and a ValueTask token keeps 16 bits of one: after 65,536 more waits a new
        // wait's token would equal the parked helper's, unless ids are kept distinct per task.
        bool helperResumed = false;
        double elapsed = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            var ev = new AioEvent();
            Task helper = WaitThenMark(ev, () => helperResumed = true);
            double t0 = loop.Time();
            for (int i = 0; i < 70_000; i++)
            {
                await Yield();
            }
            double afterYields = loop.Time() - t0;
            Assert.False(helperResumed);
            ev.Set();
            await helper;
            Assert.True(helperResumed);
            return afterYields;
        });
        Assert.Equal(0, elapsed); // 70,000 yields take no loop time: none of them was stuck behind the helper's wait

        static async Task WaitThenMark(AioEvent ev, Action mark)
        {
            await ev.WaitAsync();
            mark();
        }
    }

    [Fact]
    public void Cancel_ATaskWhoseHelperAwaitsAnotherTask_CancelsThatTaskOnce()
    {
        AioTest.Run(async () =>
        {
            AioTask x = CreateTask(async () =>
            {
                try
                {
                    await Sleep(10);
                }
                finally
                {
                    await new CancelScope(shield: true).RunAsync(async () => await Sleep(1)); // stays pending a while after its cancel
                }
            });
            AioTask t = CreateTask(async () =>
            {
                Task helper = AwaitTask(x);
                for (int i = 0; i < 50; i++)
                {
                    try
                    {
                        await Sleep(0.01); // this task keeps taking steps while the helper's wait stays parked
                    }
                    catch (CancelledError)
                    {
                    }
                }
                await helper;
            });
            await Sleep(0.1);
            t.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await t);
            Assert.Equal(1, x.Cancelling);
            Assert.True(x.Cancelled);
        });

        static async Task AwaitTask(AioTask task) => await task;
    }

    [Fact]
    public void AFireAndForgetHelper_OutlivingItsTask_IsCancelled_NotLeftHanging()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask t = CreateTask(async () =>
            {
                _ = Helper(log);
                await Task.CompletedTask;
            });
            await t;
            await Sleep(10);
        });
        Assert.Equal(new[] { "helper started", "helper cancelled" }, log);

        static async Task Helper(List<string> log)
        {
            log.Add("helper started");
            try
            {
                await Sleep(5);
                log.Add("helper slept");
            }
            catch (CancelledError e) when (e.Message.Contains("finished while an async method it started was still waiting", StringComparison.Ordinal))
            {
                log.Add("helper cancelled");
            }
        }
    }

    [Fact]
    public void AFireAndForgetHelper_ParkedOnAPrimitive_WhenItsTaskEnds_GetsCancelledError()
    {
        var log = new List<string>();
        AioTest.Run(async () =>
        {
            var ev = new AioEvent();
            var gate = new AioLock();
            AioTask holder = CreateTask(async () =>
            {
                using (await gate.AcquireAsync())
                {
                    await Sleep(1);
                }
            });
            AioTask t = CreateTask(async () =>
            {
                _ = WaitAndLog(() => ev.WaitAsync().AsTask(), "event", log);
                _ = WaitAndLog(async () => { using (await gate.AcquireAsync()) { } }, "lock", log);
                await Sleep(0.5);
            });
            await t;
            await holder;
            await Sleep(1);
            Assert.False(gate.Locked); // the lock's wait left cleanly: nobody holds it
        });
        Assert.Equal(new[] { "event cancelled", "lock cancelled" }, log);

        static async Task WaitAndLog(Func<Task> wait, string name, List<string> log)
        {
            try
            {
                await wait();
                log.Add($"{name} done");
            }
            catch (CancelledError)
            {
                log.Add($"{name} cancelled");
            }
        }
    }
}
