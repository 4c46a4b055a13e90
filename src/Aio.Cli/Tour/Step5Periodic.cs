using Aio.Http;
using Aio.Jobs;

namespace Aio.Cli.Tour;

/// <summary>
/// Step 5: a periodic HEAD check of a web site (step 4's local jobs API) as an Aio.Jobs job — fixed rate (every 2 s, anchored),
/// skipped on overlap, with a per-run timeout — run until Ctrl+C. Ctrl+C cancels the main task; the
/// scheduler then stops gracefully: nothing new fires, the check in flight finishes, and the run statistics
/// are printed. In the tour the program sends itself the SIGINT after a few checks (a real signal, as
/// Ctrl+C sends); run it alone with <c>aio tour 5 --wait-for-ctrl-c</c> to press Ctrl+C yourself.
/// </summary>
internal static class Step5Periodic
{
    // The job's body: one HEAD request. The run's cancel scope is cancelled by its timeout (or a stop's grace period ending).
    public static async Task CheckAsync(ClientSession session, string url, JobContext run, TextWriter output)
    {
        output.WriteLine($"  check {run.RunNumber}: HEAD {new Uri(url).AbsolutePath}");
        await using ClientResponse response = await session.HeadAsync(url);
        output.WriteLine($"  check {run.RunNumber}: {response.Status} {response.Reason}");
    }

    public static async Task CheckUntilCtrlC(TourContext tour, Runner runner)
    {
        TextWriter output = tour.Out;
        (HttpServer server, string baseUrl) = await JobsApiServer.StartAsync();   // step 4's jobs API: /health answers in 1 s
        await using var session = new ClientSession();
        // One untimed request first: the connection and the code paths are warm, so a check's time is the site's.
        await using (ClientResponse warm = await session.GetAsync(baseUrl + "/health?delay=0"))
        {
        }
        var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(5) });
        Aio.Jobs.Job check = jobs.Every(TimeSpan.FromSeconds(2), run => CheckAsync(session, baseUrl + "/health", run, output), "check", new JobOptions
        {
            Overlap = OverlapPolicy.Skip,            // a check still running at the next tick: skip that tick
            Timeout = TimeSpan.FromSeconds(1.9),     // a check that takes longer is cancelled and counts as failed
        });
        if (!tour.WaitForCtrlC)
        {
            // Unattended tour: press "Ctrl+C" (a real SIGINT to this process) in the middle of the fourth check.
            EventLoop.GetRunningLoop().CallLater(6.5, () =>
            {
                output.WriteLine("  ^C");
                tour.PressCtrlC(runner);
            });
        }
        else
        {
            output.WriteLine("  press Ctrl+C to stop");
        }
        try
        {
            await jobs.RunAsync();   // until Ctrl+C cancels this task: then it stops gracefully and rethrows
        }
        finally
        {
            JobStatistics s = check.Statistics;
            output.WriteLine($"  stopped: {s.Started} check(s), {s.Succeeded} succeeded, {s.Failures} failed, mean {s.MeanDuration.TotalSeconds:0.0} s");
            await new CancelScope(shield: true).RunAsync(async () => await server.DisposeAsync());   // then close the site
        }
    }

    public static void Run(TourContext tour)
    {
        // Runner: asyncio.run's loop, which turns SIGINT into a cancellation of the main task.
        using var runner = new Runner(loopFactory: tour.LoopFactory);
        try
        {
            runner.Run(() => CheckUntilCtrlC(tour, runner));
        }
        catch (KeyboardInterrupt)
        {
            tour.Out.WriteLine("  ^C: the main task was cancelled and the scheduler stopped gracefully");
        }
    }
}
