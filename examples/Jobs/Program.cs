// Jobs: periodic and cron jobs on an Aio loop, stopped gracefully by Ctrl+C or SIGTERM.
//
//   dotnet run --project examples/Jobs            a "report" every 2 s (each takes 1 s) and a cron "tick"
//                                                 every 5 s, until Ctrl+C / SIGTERM
//   dotnet run --project examples/Jobs -- guide   the snippets of docs/jobs.md, in virtual time
//
// Ctrl+C (SIGINT) or SIGTERM cancels Asyncio.Run's main task. The scheduler's RunAsync, awaited by main,
// then stops gracefully: nothing new fires, the run in flight finishes (within the 5 s grace period),
// then RunAsync rethrows the cancellation; main prints the statistics and Asyncio.Run throws
// KeyboardInterrupt: the program prints "exit: interrupted" and exits with 130 (143 after SIGTERM). A second signal ends the
// process at once.
using Aio;
using Aio.Examples.Jobs;
using Aio.Jobs;
using static Aio.Asyncio;

if (args.Contains("guide"))
{
    JobsGuide.RunAll();
    return 0;
}

try
{
    Run(MainAsync);
    return 0;
}
catch (KeyboardInterrupt e)
{
    Console.WriteLine("exit: interrupted");
    return e.ProcessExitCode;   // 130 after Ctrl+C (SIGINT), 143 after SIGTERM
}

static async Task MainAsync()
{
    var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(5) });
    jobs.Every(TimeSpan.FromSeconds(2), Report, "report", new JobOptions
    {
        Overlap = OverlapPolicy.Skip,           // a report still running when the next tick comes: skip that tick
        Timeout = TimeSpan.FromSeconds(10),     // a report stuck for 10 s is cancelled and counts as a failure
    });
    jobs.Cron("*/5 * * * * *", () => Task.CompletedTask, "tick");   // every 5 s on the wall clock
    Console.WriteLine("ready: report every 2 s, tick every 5 s; press Ctrl+C to stop");
    try
    {
        await jobs.RunAsync();   // until stopped; Ctrl+C/SIGTERM makes it stop gracefully, then rethrow
    }
    finally
    {
        foreach (Job job in jobs.Jobs)
        {
            JobStatistics s = job.Statistics;
            Console.WriteLine($"stopped: {job.Name} runs={s.Started} succeeded={s.Succeeded} failed={s.Failures} cancelled={s.Cancelled}");
        }
    }
}

static async Task Report(JobContext run)
{
    Console.WriteLine($"report {run.RunNumber}: start");
    await Sleep(1);              // the report's work
    Console.WriteLine($"report {run.RunNumber}: done");
}
