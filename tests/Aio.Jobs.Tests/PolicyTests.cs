using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>Every overlap, misfire and error policy, and the per-run timeout, in virtual time.</summary>
public sealed class PolicyTests
{
    /// <summary>Records start (with the tick's scheduled time), end and cancellation of each run.</summary>
    private static Func<JobContext, Task> Worker(List<string> events, double work) => async ctx =>
    {
        events.Add($"#{ctx.RunNumber} start {Now:0.###} (tick {ctx.ScheduledTime:0.###})");
        try
        {
            await Sleep(work);
        }
        catch (CancelledError)
        {
            events.Add($"#{ctx.RunNumber} cancelled {Now:0.###}");
            throw;
        }
        events.Add($"#{ctx.RunNumber} end {Now:0.###}");
    };

    private static (List<string> Events, JobStatistics Stats) RunJob(OverlapPolicy overlap, double work, double seconds) => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var jobs = new Scheduler();
        Job job = jobs.Every(TimeSpan.FromSeconds(10), Worker(events, work), "w", new JobOptions { Overlap = overlap });
        await RunFor(jobs, seconds);
        return (events, job.Statistics);
    });

    [Fact]
    public void Overlap_Skip_TicksDuringARunAreDropped()
    {
        (List<string> events, JobStatistics stats) = RunJob(OverlapPolicy.Skip, work: 25, seconds: 56);
        Assert.Equal(["#1 start 0 (tick 0)", "#1 end 25", "#2 start 30 (tick 30)", "#2 end 55"], events);
        Assert.Equal((2L, 2L, 4L), (stats.Started, stats.Succeeded, stats.Skipped));   // ticks 10, 20, 40, 50
    }

    [Fact]
    public void Overlap_QueueOfOne_HoldsOneTickAndDropsTheRest()
    {
        (List<string> events, JobStatistics stats) = RunJob(OverlapPolicy.Queue(1), work: 25, seconds: 51);
        Assert.Equal(
            ["#1 start 0 (tick 0)", "#1 end 25", "#2 start 25 (tick 10)", "#2 end 50", "#3 start 50 (tick 30)", "#3 cancelled 51"],
            events);
        Assert.Equal(3, stats.Skipped);   // ticks 20 and 40 found the queue full; the held tick 50 is dropped by the stop
        Assert.Equal(1, stats.Cancelled);
    }

    [Fact]
    public void Overlap_CancelPrevious_NewRunCancelsTheOneInProgress()
    {
        (List<string> events, JobStatistics stats) = RunJob(OverlapPolicy.CancelPrevious, work: 15, seconds: 36);
        Assert.Equal(
            ["#1 start 0 (tick 0)", "#1 cancelled 10", "#2 start 10 (tick 10)", "#2 cancelled 20", "#3 start 20 (tick 20)",
             "#3 cancelled 30", "#4 start 30 (tick 30)", "#4 cancelled 36"],
            events);
        Assert.Equal((4L, 4L, 0L), (stats.Started, stats.Cancelled, stats.Failures));
    }

    [Fact]
    public void Overlap_AllowConcurrentTwo_RunsTwoAtOnceAndDropsTheThird()
    {
        (List<string> events, JobStatistics stats) = RunJob(OverlapPolicy.AllowConcurrent(2), work: 25, seconds: 56);
        Assert.Equal(
            ["#1 start 0 (tick 0)", "#2 start 10 (tick 10)", "#1 end 25", "#3 start 30 (tick 30)", "#2 end 35", "#4 start 40 (tick 40)", "#3 end 55"],
            events[..7]);
        Assert.Equal(2, stats.Skipped);   // ticks 20 and 50
    }

    /// <summary>A 1 s fixed-rate job whose loop is blocked from t=5.5 to t=15.5 (a synchronous callback advancing the virtual clock).</summary>
    private static (List<string> Runs, JobStatistics Stats) BlockedLoop(MisfirePolicy misfire, OverlapPolicy? overlap = null) => AioTest.Run(async () =>
    {
        var runs = new List<string>();
        var jobs = new Scheduler();
        Job job = jobs.Every(TimeSpan.FromSeconds(1), ctx =>
        {
            runs.Add(ctx.MissedTicks == 0 ? $"{ctx.ScheduledTime}@{Now}" : $"{ctx.ScheduledTime}@{Now}+{ctx.MissedTicks}");
            return Task.CompletedTask;
        }, "second", new JobOptions { Misfire = misfire, Overlap = overlap ?? OverlapPolicy.Skip });
        AioTask driver = CreateTask(() => jobs.RunAsync());
        await Sleep(5.5);
        BlockLoopFor(10);          // the loop is stuck in one callback for 10 s
        await Sleep(0);
        Assert.Equal(15.5, Now);
        await Sleep(5);
        await jobs.StopAsync();
        await driver;
        return (runs, job.Statistics);
    });

    [Fact]
    public void Misfire_Skip_BlockedLoopDropsTheMissedTicks()
    {
        (List<string> runs, JobStatistics stats) = BlockedLoop(MisfirePolicy.Skip);
        Assert.Equal(["0@0", "1@1", "2@2", "3@3", "4@4", "5@5", "16@16", "17@17", "18@18", "19@19", "20@20"], runs);
        Assert.Equal(10, stats.Misfired);   // tick 6 was 9.5 s late (threshold 1 s): it and every tick due by then (7..15) are the backlog
    }

    [Fact]
    public void Misfire_RunOnce_BlockedLoopRunsOnceForAllMissedTicks()
    {
        (List<string> runs, JobStatistics stats) = BlockedLoop(MisfirePolicy.RunOnce);
        Assert.Equal(["0@0", "1@1", "2@2", "3@3", "4@4", "5@5", "15@15.5+9", "16@16", "17@17", "18@18", "19@19", "20@20"], runs);
        Assert.Equal((10L, 0L), (stats.Misfired, stats.Skipped));
    }

    [Fact]
    public void Misfire_CatchUpThree_BlockedLoopRunsTheThreeMostRecentMissedTicks()
    {
        (List<string> runs, JobStatistics stats) = BlockedLoop(MisfirePolicy.CatchUp(3), OverlapPolicy.Queue(10));
        Assert.Equal(["0@0", "1@1", "2@2", "3@3", "4@4", "5@5", "13@15.5", "14@15.5", "15@15.5", "16@16", "17@17", "18@18", "19@19", "20@20"], runs);
        Assert.Equal((10L, 7L), (stats.Misfired, stats.Skipped));
    }

    [Fact]
    public void Misfire_ClockAdvancedPastACronOccurrence_RunOnceFiresItLate()
    {
        var start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        List<string> runs = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler(new SchedulerOptions { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), start) });
            jobs.Cron("*/5 * * * *", ctx => { runs.Add($"{ctx.ScheduledAt:HH:mm}@{Now}+{ctx.MissedTicks}"); return Task.CompletedTask; }, "five");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(60);
            BlockLoopFor(1000);    // 00:01 -> 00:17:40: occurrences 00:05, 00:10 and 00:15 are missed
            await Sleep(0);
            await Sleep(200);
            await jobs.StopAsync();
            await driver;
            return runs;
        });
        Assert.Equal(["00:15@1060+2", "00:20@1200+0"], runs);
    }

    /// <summary>A wall clock that can jump ahead of the loop's clock, as after a suspension the monotonic clock did not count.</summary>
    private sealed class JumpingWallClock(EventLoop loop, DateTimeOffset start) : TimeProvider
    {
        private readonly LoopWallClock _inner = new(loop, start);

        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => _inner.GetUtcNow() + Offset;
    }

    [Fact]
    public void Misfire_WallClockJumpsAheadOfTheLoopClock_CronTickIsAMisfire()
    {
        var start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        List<string> runs = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var clock = new JumpingWallClock(EventLoop.GetRunningLoop(), start);
            var jobs = new Scheduler(new SchedulerOptions { WallClock = clock });
            jobs.Cron("*/10 * * * * *", ctx => { runs.Add($"{ctx.ScheduledAt:mm:ss}@{Now}+{ctx.MissedTicks}"); return Task.CompletedTask; }, "ten");
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(15);
            clock.Offset = TimeSpan.FromSeconds(100);   // the wall clock is 100 s ahead from now on
            await Sleep(20);
            await jobs.StopAsync();
            await driver;
            return runs;
        });
        Assert.Equal(["00:10@10+0", "02:00@20+10", "02:10@30+0"], runs);
    }

    [Fact]
    public void OnError_Continue_FailureIsLoggedAndTheScheduleGoesOn()
    {
        (List<string> runs, JobStatistics stats, JobOutcome last, string? error) = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), ctx =>
            {
                runs.Add($"#{ctx.RunNumber}@{Now}");
                return ctx.RunNumber == 2 ? throw new InvalidOperationException("boom") : Task.CompletedTask;
            }, "flaky");
            await RunFor(jobs, 25);
            JobOutcome after2 = job.LastOutcome;
            return (runs, job.Statistics, after2, job.LastError?.Message);
        });
        Assert.Equal(["#1@0", "#2@10", "#3@20"], runs);
        Assert.Equal((1L, 2L), (stats.Failed, stats.Succeeded));
        Assert.Equal(JobOutcome.Succeeded, last);
        Assert.Null(error);
    }

    [Fact]
    public void OnError_Stop_FailureFaultsTheJob()
    {
        (List<string> runs, JobState state, string? error) = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), async ctx =>
            {
                runs.Add($"#{ctx.RunNumber}@{Now}");
                await Sleep(1);
                if (ctx.RunNumber == 2)
                {
                    throw new InvalidOperationException("boom");
                }
            }, "fragile", new JobOptions { OnError = ErrorPolicy.Stop });
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(45);
            (JobState, string?) seen = (job.State, job.LastError?.Message);
            await jobs.StopAsync();
            await driver;
            return (runs, seen.Item1, seen.Item2);
        });
        Assert.Equal(["#1@0", "#2@10"], runs);
        Assert.Equal(JobState.Faulted, state);
        Assert.Equal("boom", error);
    }

    [Fact]
    public void OnError_Backoff_RetriesAfterGrowingDelaysUpToTheCapThenReturnsToTheSchedule()
    {
        List<string> runs = AioTest.Run(async () =>
        {
            var runs = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(100), ctx =>
            {
                runs.Add($"#{ctx.RunNumber}@{Now} attempt {ctx.Attempt}");
                return ctx.RunNumber <= 5 ? throw new InvalidOperationException("down") : Task.CompletedTask;
            }, "retrying", new JobOptions { OnError = ErrorPolicy.Backoff(TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(5)) });
            await RunFor(jobs, 250);
            return runs;
        });
        Assert.Equal(
            ["#1@0 attempt 0", "#2@1 attempt 1", "#3@3 attempt 2", "#4@7 attempt 3", "#5@12 attempt 4", "#6@17 attempt 5", "#7@100 attempt 0", "#8@200 attempt 0"],
            runs);
    }

    [Fact]
    public void Timeout_RunPastItsDeadline_IsCancelledAndCountsAsTimedOut()
    {
        (List<string> events, JobStatistics stats, JobOutcome last) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(10), Worker(events, work: 5), "slow", new JobOptions { Timeout = TimeSpan.FromSeconds(2) });
            await RunFor(jobs, 15);
            return (events, job.Statistics, job.LastOutcome);
        });
        Assert.Equal(["#1 start 0 (tick 0)", "#1 cancelled 2", "#2 start 10 (tick 10)", "#2 cancelled 12"], events);
        Assert.Equal((2L, 0L, 0L), (stats.TimedOut, stats.Failed, stats.Cancelled));
        Assert.Equal(JobOutcome.TimedOut, last);
    }

    [Fact]
    public void Timeout_RunTokenIsCancelledAtTheDeadline()
    {
        bool cancelledAtDeadline = AioTest.Run(async () =>
        {
            bool seen = false;
            var jobs = new Scheduler();
            jobs.Once(TimeSpan.Zero, async ctx =>
            {
                using CancellationTokenRegistration r = ctx.CancellationToken.Register(() => seen = Now == 3);
                await Sleep(10);
            }, "token", new JobOptions { Timeout = TimeSpan.FromSeconds(3) });
            await RunFor(jobs, 5);
            return seen;
        });
        Assert.True(cancelledAtDeadline);
    }
}
