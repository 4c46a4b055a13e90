using Aio;

namespace Aio.Examples.Guides;

/// <summary>docs/debugging-hangs.md: the hang detector's report for a lock-order deadlock and a forgotten event.</summary>
public static class DebuggingHangsGuide
{
    public static void Run()
    {
        try
        {
            Deadlock();
        }
        catch (DeadlockDetectedException e)
        {
            Console.WriteLine(e.Message);
        }
    }

    static void Deadlock()
    {
        var accounts = new AioLock();
        var audit = new AioLock();
        var ready = new AioEvent();
        var loop = new EventLoop(new VirtualClock()) { HangDetection = true };
        loop.RunUntilComplete(async () =>
        {
            AioTask a = Asyncio.CreateTask(async () => { using (await accounts.AcquireAsync()) { await Asyncio.Sleep(1); using (await audit.AcquireAsync()) { } } }, "transfer");
            AioTask b = Asyncio.CreateTask(async () => { using (await audit.AcquireAsync()) { await Asyncio.Sleep(1); using (await accounts.AcquireAsync()) { } } }, "auditor");
            AioTask c = Asyncio.CreateTask(async () => await ready.WaitAsync(), "starter");
            await Asyncio.Gather(a, b, c);
        });
    }
}
