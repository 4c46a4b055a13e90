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
    public void Watchdog_DefaultOutsideDebugMode_IsOff()
    {
        var logger = new ListLogger();
        Asyncio.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.Logger = logger;
            loop.WatchdogThreshold = 0.05;
            Assert.Null(loop.WatchdogEnabled);
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
