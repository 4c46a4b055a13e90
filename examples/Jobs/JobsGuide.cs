using System.Diagnostics;
using Aio;
using Aio.Jobs;
using static Aio.Asyncio;

namespace Aio.Examples.Jobs;

/// <summary>The snippets of docs/jobs.md, each run on a loop with virtual time (t= is loop time in seconds).</summary>
public static class JobsGuide
{
    public static void RunAll()
    {
        Section("first scheduler", () => RunVirtual(FirstScheduler));
        Section("policies", () => RunVirtual(Policies));
        Section("misfires", () => RunVirtual(BlockedLoopMisfires));
        Section("daylight saving", () => RunVirtual(CronAcrossDaylightSaving));
        Section("control", () => RunVirtual(Control));
        Section("graceful stop", () => RunVirtual(GracefulStop));
        Section("a day in a test", ADayOfCronInATest);
    }

    private static void Section(string title, Action run)
    {
        Console.WriteLine($"== {title}");
        run();
    }

    private static void RunVirtual(Func<Task> body)
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(body);
    }

    private static double Now => EventLoop.GetRunningLoop().Time();

    // A fixed-rate job, a fixed-delay job and a cron job on one scheduler, run for 30 s of loop time.
    public static async Task FirstScheduler()
    {
        var wallClock = new LoopWallClock(EventLoop.GetRunningLoop(), new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var jobs = new Scheduler(new SchedulerOptions { WallClock = wallClock });   // cron reads this clock
        jobs.Every(TimeSpan.FromSeconds(10), async () =>
        {
            Console.WriteLine($"  poll at t={Now}");
            await Sleep(3);                             // takes 3 s: the next poll is still at t=10, 20, …
        }, "poll");
        jobs.EveryAfter(TimeSpan.FromSeconds(10), async () =>
        {
            Console.WriteLine($"  cleanup at t={Now}");
            await Sleep(3);                             // the next cleanup is 10 s after this one ends
        }, "cleanup");
        jobs.Cron("*/15 * * * * *", ctx =>
        {
            Console.WriteLine($"  cron at t={Now} for {ctx.ScheduledAt:HH:mm:ss}");
            return Task.CompletedTask;
        }, "quarter-minute");
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(30);
        await jobs.StopAsync();
        await running;
    }

    // Options: skip on overlap, a per-run timeout, backoff on errors, jitter from a seeded generator.
    public static async Task Policies()
    {
        var jobs = new Scheduler();
        Job sync = jobs.Every(TimeSpan.FromSeconds(60), SyncAsync, "sync", new JobOptions
        {
            Overlap = OverlapPolicy.Skip,                  // a tick while a run is going is dropped
            Misfire = MisfirePolicy.RunOnce,               // ticks missed while the loop was stuck: one run
            OnError = ErrorPolicy.Backoff(TimeSpan.FromSeconds(5), 2, TimeSpan.FromMinutes(2)),
            Timeout = TimeSpan.FromSeconds(30),            // the run's cancel scope gets this deadline
            Jitter = TimeSpan.FromSeconds(3),
            Random = new Random(42),                       // reproducible jitter
        });
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(180);
        await jobs.StopAsync();
        await running;
        JobStatistics s = sync.Statistics;
        Console.WriteLine($"  runs={s.Started} ok={s.Succeeded} failed={s.Failed} timed out={s.TimedOut}");

        static async Task SyncAsync(JobContext run)
        {
            Console.WriteLine($"  sync {run.RunNumber} at t={Now:0.00} (tick {run.ScheduledTime:0.##}, attempt {run.Attempt})");
            await Sleep(1);
            if (run.RunNumber == 2)
            {
                throw new InvalidOperationException("the remote end is down");
            }
        }
    }

    // A loop blocked for 10 s by a synchronous callback (in virtual time): the ticks it delayed are misfires.
    public static async Task BlockedLoopMisfires()
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        var jobs = new Scheduler();
        jobs.Every(TimeSpan.FromSeconds(1), run =>
        {
            Console.WriteLine($"  tick {run.ScheduledTime} ran at t={Now} standing for {run.MissedTicks} missed tick(s)");
            return Task.CompletedTask;
        }, "second", new JobOptions { Misfire = MisfirePolicy.RunOnce, StartDelay = TimeSpan.FromSeconds(1) });
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(2.5);
        loop.CallSoon(() => ((VirtualClock)loop.Clock).Advance(10));   // the loop is stuck from t=2.5 to t=12.5
        await Sleep(0);
        await Sleep(2);
        await jobs.StopAsync();
        await running;
    }

    // Cron in a time zone across the spring-forward gap: 02:30 does not exist in Berlin on 2026-03-29.
    public static async Task CronAcrossDaylightSaving()
    {
        TimeZoneInfo berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var wallClock = new LoopWallClock(EventLoop.GetRunningLoop(), new DateTimeOffset(2026, 3, 28, 0, 0, 0, TimeSpan.Zero));
        var jobs = new Scheduler(new SchedulerOptions { WallClock = wallClock });
        jobs.Cron("30 2 * * *", run =>
        {
            Console.WriteLine($"  nightly at {TimeZoneInfo.ConvertTime(run.ScheduledAt, berlin):yyyy-MM-dd HH:mm zzz}");
            return Task.CompletedTask;
        }, "nightly", berlin);
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(TimeSpan.FromDays(3));
        await jobs.StopAsync();
        await running;
    }

    // Pause, resume, trigger now, and the job listing.
    public static async Task Control()
    {
        var jobs = new Scheduler();
        Job report = jobs.Every(TimeSpan.FromMinutes(1), () => Task.CompletedTask, "report");
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(90);
        report.Pause();                    // t=90: no ticks until Resume
        await Sleep(100);
        report.Resume();                   // t=190: the next tick on the schedule is t=240
        report.TriggerNow();               // one run now, outside the schedule
        await Sleep(1);
        foreach (Job job in jobs.Jobs)
        {
            Console.WriteLine($"  {job.Name}: {job.Schedule}, next at t={job.NextFireTime}, last {job.LastOutcome}, runs {job.Statistics.Started}");
        }
        await jobs.StopAsync();
        await running;
    }

    // Stop: nothing new fires; the run in flight gets the grace period, then is cancelled.
    public static async Task GracefulStop()
    {
        var jobs = new Scheduler();
        jobs.Every(TimeSpan.FromSeconds(10), async run =>
        {
            Console.WriteLine($"  export {run.RunNumber} starts at t={Now}");
            await Sleep(8);
            Console.WriteLine($"  export {run.RunNumber} done at t={Now}");
        }, "export");
        AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
        await Sleep(12);
        await jobs.StopAsync(gracePeriod: TimeSpan.FromSeconds(30));   // export 2 (started at t=10) finishes at t=18
        Console.WriteLine($"  stopped at t={Now}: {jobs.State}");
        await running;
    }

    // A test: a day of a per-second cron on a virtual clock, every fire time checked.
    public static void ADayOfCronInATest()
    {
        var wall = Stopwatch.StartNew();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        using var loop = new EventLoop(new VirtualClock());
        int exact = loop.RunUntilComplete(async () =>
        {
            var clock = new LoopWallClock(loop, start);
            var jobs = new Scheduler(new SchedulerOptions { WallClock = clock });
            int exact = 0;
            jobs.Cron("*/1 * * * * *", run =>
            {
                exact += run.ScheduledAt == clock.GetUtcNow() ? 1 : 0;   // fired at its occurrence, to the tick
                return Task.CompletedTask;
            }, "every-second");
            AioTask running = CreateTask(() => jobs.RunAsync(), "scheduler");
            await Sleep(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(0.5));
            await jobs.StopAsync();
            await running;
            return exact;
        });
        Console.WriteLine($"  {exact} runs, each at its occurrence; {wall.Elapsed.TotalMilliseconds:0} ms of real time");
    }
}
