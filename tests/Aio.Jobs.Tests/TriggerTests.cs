using System.Diagnostics;
using static Aio.Jobs.Tests.JobTestKit;

namespace Aio.Jobs.Tests;

/// <summary>Every trigger in virtual time: fixed rate, fixed delay, cron, one-shot, and the trigger modifiers.</summary>
public sealed class TriggerTests
{
    [Fact]
    public void Every_RunsLongerThanZero_TicksStayAnchoredWithoutDrift()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), Recorder(events, work: 3), "tick");
            await RunFor(jobs, 35);
            return events;
        });
        Assert.Equal(
            ["tick#1 start 0", "tick#1 end 3", "tick#2 start 10", "tick#2 end 13", "tick#3 start 20", "tick#3 end 23", "tick#4 start 30", "tick#4 end 33"],
            events);
    }

    [Fact]
    public void Every_FractionalIntervalForAnHour_FireTimesAreExactMultiples()
    {
        List<double> times = AioTest.Run(async () =>
        {
            var times = new List<double>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(0.1), ctx => { times.Add(ctx.FireTime - ctx.ScheduledTime); return Task.CompletedTask; }, "fast",
                new JobOptions { StartDelay = TimeSpan.FromSeconds(0.1) });
            await RunFor(jobs, 3600.05);
            return times;
        });
        Assert.Equal(36000, times.Count);
        Assert.All(times, lateness => Assert.Equal(0, lateness));
    }

    [Fact]
    public void Every_StartDelay_FirstTickAfterTheDelay()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), Recorder(events), "tick", new JobOptions { StartDelay = TimeSpan.FromSeconds(5) });
            await RunFor(jobs, 20);
            return events;
        });
        Assert.Equal(["tick#1 start 5", "tick#1 end 5", "tick#2 start 15", "tick#2 end 15"], events);
    }

    [Fact]
    public void EveryAfter_RunTakesThreeSeconds_NextTickTenSecondsAfterItEnds()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.EveryAfter(TimeSpan.FromSeconds(10), Recorder(events, work: 3), "spaced");
            await RunFor(jobs, 30);
            return events;
        });
        Assert.Equal(
            ["spaced#1 start 0", "spaced#1 end 3", "spaced#2 start 13", "spaced#2 end 16", "spaced#3 start 26", "spaced#3 end 29"],
            events);
    }

    [Fact]
    public void Cron_EverySecondForADay_FiresEveryOccurrenceExactlyInWellUnderASecond()
    {
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var wall = Stopwatch.StartNew();
        (List<DateTimeOffset> scheduled, List<double> lateness) = AioTest.Run(async () =>
        {
            var scheduled = new List<DateTimeOffset>(86400);
            var lateness = new List<double>(86400);
            var clock = new LoopWallClock(EventLoop.GetRunningLoop(), start);
            var jobs = new Scheduler(new SchedulerOptions { WallClock = clock });
            jobs.Cron("*/1 * * * * *", ctx =>
            {
                scheduled.Add(ctx.ScheduledAt);
                lateness.Add((clock.GetUtcNow() - ctx.ScheduledAt).TotalSeconds);
                return Task.CompletedTask;
            }, "every-second");
            await RunFor(jobs, 86400.5);
            return (scheduled, lateness);
        });
        wall.Stop();
        Assert.Equal(86400, scheduled.Count);
        Assert.Equal(Enumerable.Range(1, 86400).Select(s => start.AddSeconds(s)), scheduled);
        Assert.All(lateness, l => Assert.Equal(0, l));
        // Real time is the point here, but the machine is shared: the bound is generous (alone, Release: ~0.5 s).
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(30), $"a day of per-second cron took {wall.Elapsed} of real time");
    }

    [Fact]
    public void Cron_FiveFieldsInATimeZone_FiresAtLocalTimes()
    {
        TimeZoneInfo berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var start = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);   // 02:00 in Berlin (UTC+2)
        List<string> fired = AioTest.Run(async () =>
        {
            var fired = new List<string>();
            var jobs = new Scheduler(new SchedulerOptions { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), start) });
            jobs.Cron("30 9 * * *", ctx =>
            {
                fired.Add($"{TimeZoneInfo.ConvertTime(ctx.ScheduledAt, berlin):yyyy-MM-dd HH:mm zzz} at t={Now}");
                return Task.CompletedTask;
            }, "daily", berlin);
            await RunFor(jobs, 2 * 86400);
            return fired;
        });
        Assert.Equal(["2026-06-01 09:30 +02:00 at t=27000", "2026-06-02 09:30 +02:00 at t=113400"], fired);
    }

    [Fact]
    public void Cron_InvalidExpression_ThrowsArgumentExceptionNamingIt()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            var e = Assert.Throws<ArgumentException>(() => jobs.Cron("61 * * * *", () => Task.CompletedTask, "bad"));
            Assert.Contains("'61 * * * *'", e.Message);
            await Task.CompletedTask;
        });
    }

    [Fact]
    public void At_WallClockTime_RunsOnceThenCompletes()
    {
        var start = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        (List<string> events, JobState state) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler(new SchedulerOptions { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), start) });
            Job job = jobs.At(start.AddMinutes(2), Recorder(events), "noon-plus-two");
            await RunFor(jobs, 600);
            return (events, job.State);
        });
        Assert.Equal(["noon-plus-two#1 start 120", "noon-plus-two#1 end 120"], events);
        Assert.Equal(JobState.Completed, state);
    }

    [Fact]
    public void Once_Delay_RunsOnceAfterTheDelay()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Once(TimeSpan.FromSeconds(42), Recorder(events), "later");
            await RunFor(jobs, 100);
            return events;
        });
        Assert.Equal(["later#1 start 42", "later#1 end 42"], events);
    }

    [Fact]
    public void MaxRuns_Three_JobCompletesAfterThreeRuns()
    {
        (List<string> events, JobState state, double? next) = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            Job job = jobs.Every(TimeSpan.FromSeconds(1), Recorder(events), "thrice", new JobOptions { MaxRuns = 3 });
            AioTask driver = CreateTask(() => jobs.RunAsync());
            await Sleep(10);
            (JobState, double?) snapshot = (job.State, job.NextFireTime);
            await jobs.StopAsync();
            await driver;
            return (events, snapshot.Item1, snapshot.Item2);
        });
        Assert.Equal(["thrice#1 start 0", "thrice#1 end 0", "thrice#2 start 1", "thrice#2 end 1", "thrice#3 start 2", "thrice#3 end 2"], events);
        Assert.Equal(JobState.Completed, state);
        Assert.Null(next);
    }

    [Fact]
    public void EndAfter_TicksStopAtTheEnd()
    {
        List<string> events = AioTest.Run(async () =>
        {
            var events = new List<string>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(2), Recorder(events), "bounded", new JobOptions { EndAfter = TimeSpan.FromSeconds(5) });
            await RunFor(jobs, 20);
            return events;
        });
        Assert.Equal(["bounded#1 start 0", "bounded#1 end 0", "bounded#2 start 2", "bounded#2 end 2", "bounded#3 start 4", "bounded#3 end 4"], events);
    }

    [Fact]
    public void EndAt_CronStopsAtTheWallClockEnd()
    {
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        List<DateTimeOffset> fired = AioTest.Run(async () =>
        {
            var fired = new List<DateTimeOffset>();
            var jobs = new Scheduler(new SchedulerOptions { WallClock = new LoopWallClock(EventLoop.GetRunningLoop(), start) });
            jobs.Cron("*/10 * * * *", ctx => { fired.Add(ctx.ScheduledAt); return Task.CompletedTask; }, "ten-minutes",
                options: new JobOptions { EndAt = start.AddMinutes(30) });
            await RunFor(jobs, 7200);
            return fired;
        });
        Assert.Equal([start.AddMinutes(10), start.AddMinutes(20), start.AddMinutes(30)], fired);
    }

    [Fact]
    public void Jitter_DelaysEachTickWithinBoundsWithoutMovingTheSchedule()
    {
        List<(double Scheduled, double Fired)> runs = AioTest.Run(async () =>
        {
            var runs = new List<(double, double)>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(10), ctx => { runs.Add((ctx.ScheduledTime, Now)); return Task.CompletedTask; }, "jittery",
                new JobOptions { Jitter = TimeSpan.FromSeconds(2), Random = new Random(7) });
            await RunFor(jobs, 1000);
            return runs;
        });
        Assert.Equal(100, runs.Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(k => k * 10.0), runs.Select(r => r.Scheduled));
        Assert.All(runs, r => Assert.InRange(r.Fired - r.Scheduled, 0, 2));
        Assert.True(runs.Select(r => r.Fired - r.Scheduled).Distinct().Count() > 90, "the delays vary");
        Assert.True(runs.Max(r => r.Fired - r.Scheduled) > 1.8 && runs.Min(r => r.Fired - r.Scheduled) < 0.2, "the delays cover [0, 2)");
    }

    [Fact]
    public void Jitter_SameSeed_SameFireTimes()
    {
        static List<double> FireTimes(int seed) => AioTest.Run(async () =>
        {
            var times = new List<double>();
            var jobs = new Scheduler();
            jobs.Every(TimeSpan.FromSeconds(1), () => { times.Add(Now); return Task.CompletedTask; }, "j",
                new JobOptions { Jitter = TimeSpan.FromMilliseconds(500), Random = new Random(seed) });
            await RunFor(jobs, 20);
            return times;
        });
        Assert.Equal(FireTimes(42), FireTimes(42));
        Assert.NotEqual(FireTimes(42), FireTimes(43));
    }

    [Fact]
    public void Every_UnnamedLambda_GetsAGeneratedName_DuplicateNameThrows()
    {
        AioTest.Run(async () =>
        {
            var jobs = new Scheduler();
            Job a = jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask);
            Assert.Equal("job-1", a.Name);
            jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "named");
            var e = Assert.Throws<ArgumentException>(() => jobs.Every(TimeSpan.FromSeconds(1), () => Task.CompletedTask, "named"));
            Assert.Contains("already has a job named 'named'", e.Message);
            await jobs.StopAsync();
        });
    }
}
