using System.Diagnostics;
using Aio.LowLevel;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Time;

public sealed class SleepAndTimeTests
{
    [Fact]
    public void Sleep_Zero_YieldsExactlyOneIteration()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.CallSoon(() => events.Add("cb1"));
            loop.CallSoon(() => loop.CallSoon(() => events.Add("cb2-next-iteration")));
            await Sleep(0);
            events.Add("resumed");
            await Sleep(0);
            events.Add("resumed2");
        });
        // Iteration 1: the task's step queues cb1, the scheduler and (by yielding) its own resumption.
        // Iteration 2: cb1, the scheduler (which queues cb2), the task ("resumed", yields again).
        // Iteration 3: cb2, then the task: each Sleep(0) is exactly one iteration.
        Assert.Equal(new[] { "cb1", "resumed", "cb2-next-iteration", "resumed2" }, events);
    }

    [Fact]
    public void Sleep_NaN_ThrowsArgumentException()
    {
        AioTest.Run(async () =>
        {
            Assert.Throws<ArgumentException>(() => { _ = Sleep(double.NaN); });
            await Task.CompletedTask;
        });
    }

    [Fact]
    public void Sleep_OutsideTask_ThrowsClearError()
    {
        var e = Assert.Throws<InvalidOperationException>(() => { _ = Sleep(1); });
        Assert.Contains("running event loop", e.Message);
    }

    [Fact]
    public void VirtualClock_NextTimerBeyondLimit_ThrowsInsteadOfJumping()
    {
        var clock = new VirtualClock { Limit = 100 };
        using var loop = new EventLoop(clock);
        var ticks = new List<double>();
        var e = Assert.Throws<TimeoutException>(() => loop.RunUntilComplete(async () =>
        {
            while (true)
            {
                await Sleep(30);
                ticks.Add(loop.Time());
            }
        }));
        Assert.Equal([30.0, 60.0, 90.0], ticks);
        Assert.Equal(90, clock.Now());
        Assert.Contains("limit (100 s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("due at 120 s", e.Message, StringComparison.Ordinal);
        clock.Advance(500);   // Advance is not limited
        Assert.Equal(590, clock.Now());
        clock.Limit = double.PositiveInfinity;
        loop.CancelAllTasks();
    }

    [Fact]
    public void VirtualTime_HourOfTimers_RunsInUnderASecond()
    {
        var sw = Stopwatch.StartNew();
        double end = AioTest.Run(async () =>
        {
            var tasks = Enumerable.Range(0, 3600).Select(i => CreateTask(async () => { await Sleep(i + 1); return i; })).ToArray();
            await Gather(tasks);
            return EventLoop.GetRunningLoop().Time();
        });
        Assert.Equal(3600, end, 6);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1), $"took {sw.Elapsed}");
    }

    [Fact]
    public void Sleep_TimeSpan_AdvancesVirtualTime()
    {
        double t = AioTest.Run(async () =>
        {
            await Sleep(TimeSpan.FromMinutes(2));
            return EventLoop.GetRunningLoop().Time();
        });
        Assert.Equal(120, t, 6);
    }

    [Fact]
    public void TimeProvider_TaskDelayOnVirtualLoop_FinishesAtOnceAdvancingLoopTime()
    {
        var sw = Stopwatch.StartNew();
        double t = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            await Task.Delay(TimeSpan.FromHours(1), loop.TimeProvider);
            return loop.Time();
        });
        Assert.Equal(3600, t, 6);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void TimeProvider_TimestampsFollowLoopClock()
    {
        AioTest.Run(async () =>
        {
            TimeProvider tp = EventLoop.GetRunningLoop().TimeProvider;
            long a = tp.GetTimestamp();
            DateTimeOffset u = tp.GetUtcNow();
            await Sleep(10);
            Assert.Equal(10, tp.GetElapsedTime(a).TotalSeconds, 3);
            Assert.Equal(10, (tp.GetUtcNow() - u).TotalSeconds, 3);
        });
    }

    [Fact]
    public void VirtualClock_OutsideWorkInFlight_BlocksTheJump()
    {
        // Work the loop tracks as running elsewhere (an executor item) keeps virtual time still until it reports back.
        double t = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            AioTask<double> sleeper = CreateTask(async () => { await Sleep(50); return loop.Time(); });
            AioFuture<double> reported = loop.CreateFuture<double>();
            loop.BeginOutsideWork(Aio.LowLevel.OutsideWorkKind.Reporting);
            using var go = new ManualResetEventSlim();
            var worker = new Thread(() =>
            {
                go.Wait(TimeSpan.FromSeconds(10));
                loop.CallSoonThreadSafe(() =>
                {
                    loop.EndOutsideWork(Aio.LowLevel.OutsideWorkKind.Reporting);
                    reported.SetResult(loop.Time());
                });
            });
            worker.Start();
            await Sleep(0);
            go.Set();
            double whenReported = await reported;
            await sleeper;
            worker.Join();
            return whenReported;
        });
        Assert.Equal(0, t);
    }

    [Fact]
    public void VirtualClock_TaskAwaitingLoopOwnedForeignTask_StillJumps()
    {
        // AsTask of a sleeping task is a foreign Task that only the loop can complete: the jump must not wait forever.
        int v = AioTest.Run(async () =>
        {
            AioTask<int> t = CreateTask(async () => { await Sleep(3600); return 1; });
            return await t.AsTask();
        });
        Assert.Equal(1, v);
    }

    [Fact]
    public void Seed_FiveSleepsOneByOne_TakeFiveSecondsOfLoopTime()
    {
        double elapsed = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double start = loop.Time();
            for (int i = 0; i < 5; i++)
            {
                await Sleep(1);
            }
            return loop.Time() - start;
        });
        Assert.Equal(5.0, elapsed, 6);
    }

    [Fact]
    public void Seed_FiveSleepsTogether_TakeOneSecondOfLoopTime()
    {
        double elapsed = AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double start = loop.Time();
            var tasks = Enumerable.Range(0, 5).Select(_ => CreateTask(async () => await Sleep(1))).ToArray();
            await Wait(tasks);
            return loop.Time() - start;
        });
        Assert.Equal(1.0, elapsed, 6);
    }

    [Fact]
    public void Sleep_RealClock_SleepsAboutThatLong()
    {
        var sw = Stopwatch.StartNew();
        AioTest.Run(async () => await Sleep(0.2), virtualTime: false);
        Assert.InRange(sw.Elapsed.TotalSeconds, 0.19, 5);
    }
}
