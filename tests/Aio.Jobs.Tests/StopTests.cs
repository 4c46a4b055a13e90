using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>Graceful stop: nothing new fires, runs in progress get the grace period, the rest are cancelled.</summary>
public sealed class StopTests
{
    private static Func<JobContext, Task> Long(List<string> events, double work) => async ctx =>
    {
        events.Add($"run {ctx.RunNumber} starts at {Now}");
        try
        {
            await Sleep(work);
            events.Add($"run {ctx.RunNumber} finishes at {Now}");
        }
        catch (CancelledError)
        {
            events.Add($"run {ctx.RunNumber} cancelled at {Now}");
            throw;
        }
    };

    [Fact]
    public void StopAsync_LongRunFinishesWithinGrace_WaitsForItAndFiresNothingNew()
    {
        (List<string> events, JobStatistics stats, SchedulerState state) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), Long(events, 8), "long");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(12);                                      // run 2 started at 10
            await jobs.StopAsync(TimeSpan.FromSeconds(30));
            events.Add($"stopped at {Now}");
            await driver;
            return (events, job.Statistics, jobs.State);
        });
        Assert.Equal(["run 1 starts at 0", "run 1 finishes at 8", "run 2 starts at 10", "run 2 finishes at 18", "stopped at 18"], events);
        Assert.Equal((2L, 0L), (stats.Succeeded, stats.Cancelled));
        Assert.Equal(SchedulerState.Stopped, state);
    }

    [Fact]
    public void StopAsync_RunOutlastsGrace_IsCancelledWhenGraceEnds()
    {
        (List<string> events, JobStatistics stats, JobOutcome last) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(100), Long(events, 60), "very-long");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(10);
            await jobs.StopAsync(TimeSpan.FromSeconds(5));
            events.Add($"stopped at {Now}");
            await driver;
            return (events, job.Statistics, job.LastOutcome);
        });
        Assert.Equal(["run 1 starts at 0", "run 1 cancelled at 15", "stopped at 15"], events);
        Assert.Equal(1, stats.Cancelled);
        Assert.Equal(JobOutcome.Cancelled, last);
    }

    [Fact]
    public void RunAsync_ItsTaskCancelled_StopsGracefullyThenRethrowsCancelledError()
    {
        (List<string> events, bool cancelled, SchedulerState state) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(30) });
            jobs.Every(TimeSpan.FromSeconds(10), Long(events, 8), "long");
            AioTask main = CreateTask(async () =>
            {
                try
                {
                    await jobs.RunAsync();
                }
                finally
                {
                    events.Add($"RunAsync left at {Now}");
                }
            }, "main");
            await Sleep(13);
            main.Cancel();                                        // what Ctrl+C does to Asyncio.Run's main task
            await Wait([main]);
            return (events, main.Cancelled, jobs.State);
        });
        Assert.Equal(["run 1 starts at 0", "run 1 finishes at 8", "run 2 starts at 10", "run 2 finishes at 18", "RunAsync left at 18"], events);
        Assert.True(cancelled);
        Assert.Equal(SchedulerState.Stopped, state);
    }

    [Fact]
    public void Stop_FromInsideARun_StopsAfterThatRunEnds()
    {
        (List<string> events, double stoppedAt) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), async ctx =>
            {
                events.Add($"run {ctx.RunNumber} at {Now}");
                if (ctx.RunNumber == 3)
                {
                    jobs.Stop();
                    await Sleep(2);
                }
            }, "self-stopping");
            await jobs.RunAsync();
            return (events, Now);
        });
        Assert.Equal(["run 1 at 0", "run 2 at 10", "run 3 at 20"], events);
        Assert.Equal(22, stoppedAt);
    }

    [Fact]
    public void WaitStoppedAsync_AnotherComponentOrdersItsShutdownAfterTheScheduler()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), Long(events, 4), "job");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            AioTask other = CreateTask(async () =>
            {
                await jobs.WaitStoppedAsync();
                events.Add($"other component closes at {Now}");
            });
            await Sleep(11);
            jobs.Stop(TimeSpan.FromSeconds(60));
            await Gather(driver, other);
            return events;
        });
        Assert.Equal(["run 1 starts at 0", "run 1 finishes at 4", "run 2 starts at 10", "run 2 finishes at 14", "other component closes at 14"], events);
    }

    [Fact]
    public void StopAsync_NeverStarted_StopsAtOnceAndRefusesNewJobsAndRuns()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "idle");
            await jobs.StopAsync();
            Assert.Equal((SchedulerState.Stopped, JobState.Completed), (jobs.State, job.State));
            Assert.Throws<InvalidOperationException>(() => jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "late"));
            Assert.Throws<InvalidOperationException>(() => job.TriggerNow());
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => jobs.RunAsync());
            Assert.Contains("create a new Scheduler", e.Message);
        });
    }

    [Fact]
    public void Stop_NeverStartedWithAManualRunGoing_RefusesRunAsyncAndDrainsTheRun()
    {
        (List<string> events, SchedulerState afterStop) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), Long(events, 3), "manual");
            job.TriggerNow();                                     // a run before RunAsync
            await Sleep(1);
            jobs.Stop(TimeSpan.FromSeconds(10));
            SchedulerState afterStop = jobs.State;
            await Assert.ThrowsAsync<InvalidOperationException>(() => FailAfter(1, () => jobs.RunAsync()));   // refused, not run
            await jobs.WaitStoppedAsync();
            events.Add($"stopped at {Now}");
            return (events, afterStop);
        });
        Assert.Equal(["run 1 starts at 0", "run 1 finishes at 3", "stopped at 3"], events);
        Assert.Equal(SchedulerState.Stopping, afterStop);
    }

    [Fact]
    public void DisposeAsync_StopsWithTheDefaultGrace()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            AioTask driver;
            await using (var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(2) }))
            {
                jobs.Every(TimeSpan.FromSeconds(10), Long(events, 5), "job");
                driver = CreateTask(() => jobs.RunAsync());
                await Sleep(1);
            }
            events.Add($"disposed at {Now}");
            await driver;
            return events;
        });
        Assert.Equal(["run 1 starts at 0", "run 1 cancelled at 3", "disposed at 3"], events);
    }
}
