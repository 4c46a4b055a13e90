using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>Pause, resume, trigger now, remove, the job listing and its statistics.</summary>
public sealed class ControlTests
{
    [Fact]
    public void PauseResume_TicksWhilePausedDoNotFireNorCountAsMisfires()
    {
        (List<string> runs, JobStatistics stats, double? nextWhilePaused, JobState pausedState) = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), ctx => { runs.Add($"{ctx.ScheduledTime}@{Now}"); return Task.CompletedTask; }, "p");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(15);
            job.Pause();
            (double?, JobState) paused = (job.NextFireTime, job.State);
            await Sleep(30);           // t=45: ticks 20, 30, 40 pass while paused
            job.Resume();              // the next tick on the schedule: 50
            await Sleep(11);
            await jobs.StopAsync();
            await driver;
            return (runs, job.Statistics, paused.Item1, paused.Item2);
        });
        Assert.Equal(["0@0", "10@10", "50@50"], runs);
        Assert.Equal(0, stats.Misfired);
        Assert.Null(nextWhilePaused);
        Assert.Equal(JobState.Paused, pausedState);
    }

    [Fact]
    public void TriggerNow_RunsAtOnceOutsideTheScheduleWhichStaysAnchored()
    {
        List<string> runs = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), ctx => { runs.Add($"#{ctx.RunNumber}@{Now}{(ctx.IsManual ? " manual" : "")}"); return Task.CompletedTask; }, "t");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(3);
            Assert.True(job.TriggerNow());
            await Sleep(14);
            await jobs.StopAsync();
            await driver;
            return runs;
        });
        Assert.Equal(["#1@0", "#2@3 manual", "#3@10"], runs);
    }

    [Fact]
    public void TriggerNow_WhileARunIsGoingUnderSkip_ReturnsFalse()
    {
        (bool first, bool second) = AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromHours(1), async () => await Sleep(5), "long", new JobOptions { StartDelay = TimeSpan.FromHours(1) });
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(1);
            bool first = job.TriggerNow();
            bool second = job.TriggerNow();
            await Sleep(10);
            await jobs.StopAsync();
            await driver;
            return (first, second);
        });
        Assert.Equal((true, false), (first, second));
    }

    [Fact]
    public void Remove_StopsTheJobAndDropsItFromTheListing()
    {
        (List<string> runs, string[] names, JobState state) = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            Job a = jobs.Every(TimeSpan.FromSeconds(10), () => { runs.Add($"a@{Now}"); return Task.CompletedTask; }, "a");
            jobs.Every(TimeSpan.FromSeconds(10), () => { runs.Add($"b@{Now}"); return Task.CompletedTask; }, "b");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(15);
            a.Remove();
            await Sleep(10);
            string[] names = jobs.Jobs.Select(j => j.Name).ToArray();
            await jobs.StopAsync();
            await driver;
            return (runs, names, a.State);
        });
        Assert.Equal(["a@0", "b@0", "a@10", "b@10", "b@20"], runs);
        Assert.Equal(["b"], names);
        Assert.Equal(JobState.Removed, state);
    }

    [Fact]
    public void Jobs_ListingShowsNextFireTimeLastOutcomeAndStatistics()
    {
        var start = new DateTimeOffset(2026, 7, 1, 8, 0, 0, TimeSpan.Zero);
        List<string> listing = AioTest.Run(async () =>
        {
            var jobs = new Scheduler(new SchedulerOptions { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), start) });
            jobs.Every(TimeSpan.FromSeconds(30), async ctx =>
            {
                await Sleep(ctx.RunNumber);                      // 1 s, 2 s, 3 s, …
                if (ctx.RunNumber == 2)
                {
                    throw new InvalidOperationException("second run fails");
                }
            }, "work");
            jobs.Cron("0 9 * * *", () => Task.CompletedTask, "nine");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(92);                                     // runs at 0, 30, 60, 90 (the last one still going)
            List<string> listing = jobs.Jobs.Select(j =>
                $"{j.Name} [{j.Schedule}] next={j.NextFireTime} at {j.NextFireAt:HH:mm:ss} last={j.LastOutcome} " +
                $"started={j.Statistics.Started} ok={j.Statistics.Succeeded} failed={j.Statistics.Failed} running={j.RunningCount} " +
                $"lastDuration={j.Statistics.LastDuration.TotalSeconds} mean={j.Statistics.MeanDuration.TotalSeconds} max={j.Statistics.MaxDuration.TotalSeconds}").ToList();
            listing.Add(jobs.Jobs[0].ToString());
            listing.Add(jobs.ToString());
            await jobs.StopAsync(TimeSpan.FromSeconds(10));
            await driver;
            return listing;
        });
        Assert.Equal(
            [
                "work [every 00:00:30] next=120 at 08:02:00 last=Succeeded started=4 ok=2 failed=1 running=1 lastDuration=3 mean=2 max=3",
                "nine [cron '0 9 * * *' UTC] next=3600 at 09:00:00 last=None started=0 ok=0 failed=0 running=0 lastDuration=0 mean=0 max=0",
                "<Job 'work' every 00:00:30 scheduled next=120 runs=4 running=1 failures=1>",
                "<Scheduler running jobs=2 running=1>",
            ],
            listing);
    }

    [Fact]
    public void PauseResume_ManyJobs_StaleHeapEntriesAreDroppedAndEveryJobFiresOnSchedule()
    {
        (int before, int paused, int after) = AioTest.Run(async () =>
        {
            int fired = 0;
            var jobs = new Scheduler();
            Job[] all = Enumerable.Range(0, 1000)
                .Select(i => jobs.Every(TimeSpan.FromSeconds(10), () => { fired++; return Task.CompletedTask; }, $"j{i}"))
                .ToArray();
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(5);
            int before = fired;                                   // 1000 at t=0
            foreach (Job job in all.Take(900))
            {
                job.Pause();                                      // 900 stale entries: the heap is rebuilt on the way
            }
            await Sleep(10);
            int paused = fired - before;                          // only the 100 running jobs fired at t=10
            foreach (Job job in all.Take(900))
            {
                job.Resume();
            }
            await Sleep(10);                                      // t=25: all 1000 fired at t=20
            int after = fired - before - paused;
            await jobs.StopAsync();
            await driver;
            return (before, paused, after);
        });
        Assert.Equal((1000, 100, 1000), (before, paused, after));
    }

    [Fact]
    public void Find_ReturnsTheJobByName()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "x");
            Assert.Same(job, jobs.Find("x"));
            Assert.Null(jobs.Find("y"));
            await jobs.StopAsync();
        });
    }

    [Fact]
    public void AddJob_WhileRunning_ArmsItFromNow()
    {
        List<string> runs = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(7);
            jobs.Every(TimeSpan.FromSeconds(5), () => { runs.Add($"{Now}"); return Task.CompletedTask; }, "late", new JobOptions { StartDelay = TimeSpan.FromSeconds(1) });
            await Sleep(15);
            await jobs.StopAsync();
            await driver;
            return runs;
        });
        Assert.Equal(["8", "13", "18"], runs);
    }

    [Fact]
    public void SchedulerMember_FromAnotherThread_ThrowsNamingTheLoop()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Exception? e = await Task.Run(() => Record.Exception(() => jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask)));
            Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("CallSoonThreadSafe", e.Message);
            await jobs.StopAsync();
        });
    }

    [Fact]
    public void SharedStore_TwoSchedulersSameJobName_EachTickRunsOnce()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        (List<string> runs, JobStatistics a, JobStatistics b) = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var clock = new LoopWallClock(EventLoop.GetRunningLoop(), start);
            var store = new InMemoryJobStore(clock);
            var first = new Scheduler(new SchedulerOptions { WallClock = clock, Store = store, InstanceId = "A" });
            var second = new Scheduler(new SchedulerOptions { WallClock = clock, Store = store, InstanceId = "B" });
            foreach (Scheduler s in new[] { first, second })
            {
                s.Cron("*/10 * * * * *", async ctx =>
                {
                    runs.Add($"{ctx.ScheduledAt:ss} by {ctx.Lease!.Owner}");
                    await Sleep(1);
                }, "report");
            }
            AioTask d1 = CreateTask(() => first.RunAsync()), d2 = CreateTask(() => second.RunAsync());
            await Sleep(35);
            await first.StopAsync();
            await second.StopAsync();
            await Gather(d1, d2);
            Assert.Equal(0, store.ActiveClaims);
            return (runs, first.Jobs[0].Statistics, second.Jobs[0].Statistics);
        });
        Assert.Equal(["10 by A", "20 by A", "30 by A"], runs);
        Assert.Equal((3L, 0L), (a.Succeeded, b.Succeeded));
        Assert.Equal(3, b.Skipped);   // B's claims were refused
    }
}
