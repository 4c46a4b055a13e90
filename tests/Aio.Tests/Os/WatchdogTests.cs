namespace Aio.Tests.Os;

public class WatchdogTests
{
    [Fact]
    public void Watchdog_TaskBlocksTheLoopFor2Seconds_LogsTheTaskByName()
    {
        var logger = new ListLogger();
        string? report = null;
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogEnabled = true;
            loop.WatchdogThreshold = 0.5;
            AioTask blocker = Asyncio.CreateTask(() =>
            {
                // Deliberately blocks the loop thread (the behaviour under test), for at most 2 s.
                report = logger.WaitFor(110, TimeSpan.FromSeconds(2));
                return Task.CompletedTask;
            }, name: "blocker");
            await blocker;
        });
        Assert.NotNull(report);
        Assert.Contains("name='blocker'", report);
        Assert.Contains("has been running for", report);
    }

    [Fact]
    public void WatchdogThreshold_Default_Is5Seconds_1InDebugMode_UntilSet()
    {
        using var loop = new EventLoop { Debug = false };
        var thresholds = new List<double> { loop.WatchdogThreshold };
        loop.Debug = true;
        thresholds.Add(loop.WatchdogThreshold);
        loop.WatchdogThreshold = 30;
        thresholds.Add(loop.WatchdogThreshold);
        loop.Debug = false;
        thresholds.Add(loop.WatchdogThreshold);
        Assert.Equal(new[] { 5.0, 1.0, 30.0, 30.0 }, thresholds);
        Assert.Null(loop.WatchdogEnabled);
    }

    [Fact]
    public void Watchdog_ByDefaultOutsideDebugMode_ReportsEachStallOnce_NamingTheTask()
    {
        var logger = new ListLogger();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogThreshold = 0.1; // not enabled explicitly: on by default
            for (int stall = 0; stall < 2; stall++)
            {
                await Asyncio.CreateTask(() =>
                {
                    // Deliberately blocks the loop thread past the threshold (the behaviour under test), at most 2 s.
                    logger.WaitFor(110, TimeSpan.FromSeconds(2), skip: stall);
                    using var pause = new ManualResetEventSlim();
                    pause.Wait(300); // several more samples of the same stall: still one report
                    return Task.CompletedTask;
                }, name: $"stall-{stall}");
            }
        }, debug: false);
        var reports = logger.Entries.Where(e => e.Id.Id == 110).Select(e => e.Message).ToList();
        Assert.Equal(2, reports.Count);
        Assert.Contains("name='stall-0'", reports[0]);
        Assert.Contains("name='stall-1'", reports[1]);
        Assert.Contains("await instead of waiting", reports[0]);
        Assert.Contains("blocked in a synchronous wait", reports[0]);
    }

    [Fact]
    public void Watchdog_StepBusyWithoutWaiting_IsNotCalledASynchronousWait()
    {
        var logger = new ListLogger();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogThreshold = 0.1;
            await Asyncio.CreateTask(() =>
            {
                // Deliberately keeps the loop thread busy (no wait) until the report is out, at most 2 s.
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!logger.Has(110) && clock.Elapsed < TimeSpan.FromSeconds(2))
                {
                    Thread.SpinWait(1000);
                }
                return Task.CompletedTask;
            }, name: "busy");
        }, debug: false);
        string report = Assert.Single(logger.Entries, e => e.Id.Id == 110).Message;
        var facts = new[] { report.Contains("name='busy'", StringComparison.Ordinal), report.Contains("synchronous wait", StringComparison.Ordinal) };
        Assert.Equal(new[] { true, false }, facts);
    }

    [Fact]
    public void Watchdog_Disabled_ReportsNothing()
    {
        var logger = new ListLogger();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogEnabled = false;
            loop.WatchdogThreshold = 0.05;
            await Asyncio.ToThread(() => 0);
            using (var never = new ManualResetEventSlim())
            {
                never.Wait(300); // deliberately blocks the loop well past the threshold: nobody must notice
            }
            await Asyncio.Sleep(0);
        }, debug: false);
        Assert.False(logger.Has(110));
    }

    [Fact]
    public void Watchdog_CallbackBlocks_ReportsTheCallbackName()
    {
        var logger = new ListLogger();
        string? report = null;
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogEnabled = true;
            loop.WatchdogThreshold = 0.2;
            AioFuture<bool> done = loop.CreateFuture<bool>();
            loop.CallSoon(() =>
            {
                report = logger.WaitFor(110, TimeSpan.FromSeconds(2));
                done.SetResult(true);
            });
            await done;
        });
        Assert.NotNull(report);
        Assert.Contains("callback", report);
        Assert.Contains(nameof(Watchdog_CallbackBlocks_ReportsTheCallbackName), report);
    }
}
