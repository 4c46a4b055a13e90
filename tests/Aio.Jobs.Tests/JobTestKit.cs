namespace Aio.Jobs.Tests;

/// <summary>Helpers shared by the scheduler tests: run a scheduler for a span of (virtual) loop time.</summary>
internal static class JobTestKit
{
    public static double Now => EventLoop.GetRunningLoop().Time();

    /// <summary>Runs <paramref name="jobs"/> for <paramref name="seconds"/> of loop time, then stops it and waits for the driver.</summary>
    public static async Task RunFor(Scheduler jobs, double seconds, TimeSpan? grace = null)
    {
        AioTask driver = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(seconds);
        await jobs.StopAsync(grace ?? TimeSpan.Zero);
        await driver;
    }

    /// <summary>A job body that records its scheduled and start loop times, then works for <paramref name="work"/> seconds.</summary>
    public static Func<JobContext, Task> Recorder(List<string> events, double work = 0) => async ctx =>
    {
        events.Add($"{ctx.Name}#{ctx.RunNumber} start {Now:0.###}");
        if (work > 0)
        {
            await Sleep(work);
        }
        events.Add($"{ctx.Name}#{ctx.RunNumber} end {Now:0.###}");
    };

    /// <summary>Blocks the loop for <paramref name="seconds"/> of virtual time: a synchronous callback that advances the clock.</summary>
    public static void BlockLoopFor(double seconds)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        loop.CallSoon(() => ((VirtualClock)loop.Clock).Advance(seconds));
    }
}
