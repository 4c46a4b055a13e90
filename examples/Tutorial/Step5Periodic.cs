using Aio;
using Aio.Http;
using Aio.Jobs;
using static Aio.Asyncio;

namespace Aio.Examples.Tutorial;

/// <summary>
/// Step 5: a periodic HEAD check of a web site (step 4's local jobs API) as an Aio.Jobs job — fixed rate (every 2 s, anchored),
/// skipped on overlap, with a per-run timeout — run until Ctrl+C. Ctrl+C cancels the main task; the
/// scheduler then stops gracefully: nothing new fires, the check in flight finishes, and the run statistics
/// are printed. In the tour the program sends itself the SIGINT after a few checks (a real signal, as
/// Ctrl+C sends); run it alone with <c>-- 5 --wait-for-ctrl-c</c> to press Ctrl+C yourself.
/// </summary>
public static class Step5Periodic
{
    // The job's body: one HEAD request. The run's token is cancelled by its timeout (or a stop's grace period ending).
    public static async Task CheckAsync(HttpClient http, string url, JobContext run)
    {
        Console.WriteLine($"  check {run.RunNumber}: HEAD {new Uri(url).AbsolutePath}");
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        using HttpResponseMessage response = await http.SendAsync(request, run.CancellationToken);
        Console.WriteLine($"  check {run.RunNumber}: {(int)response.StatusCode} {response.ReasonPhrase}");
    }

    public static async Task CheckUntilCtrlC(bool waitForCtrlC)
    {
        (HttpServer server, string baseUrl) = await JobsApi.JobsApiServer.StartAsync();   // step 4's jobs API: /health answers in 1 s
        using var http = new HttpClient();
        // One untimed request first: the connection and the code paths are warm, so a check's time is the site's.
        using (HttpResponseMessage warm = await http.GetAsync(baseUrl + "/health?delay=0", CurrentToken))
        {
        }
        var jobs = new Scheduler(new SchedulerOptions { StopGracePeriod = TimeSpan.FromSeconds(5) });
        Job check = jobs.Every(TimeSpan.FromSeconds(2), run => CheckAsync(http, baseUrl + "/health", run), "check", new JobOptions
        {
            Overlap = OverlapPolicy.Skip,            // a check still running at the next tick: skip that tick
            Timeout = TimeSpan.FromSeconds(1.9),     // a check that takes longer is cancelled and counts as failed
        });
        if (!waitForCtrlC)
        {
            // Unattended tour: press "Ctrl+C" (a real SIGINT to this process) in the middle of the fourth check.
            EventLoop.GetRunningLoop().CallLater(6.5, () =>
            {
                Console.WriteLine("  ^C");
                System.Diagnostics.Process.Start("kill", $"-INT {Environment.ProcessId}")!.Dispose();
            });
        }
        else
        {
            Console.WriteLine("  press Ctrl+C to stop");
        }
        try
        {
            await jobs.RunAsync();   // until Ctrl+C cancels this task: then it stops gracefully and rethrows
        }
        finally
        {
            JobStatistics s = check.Statistics;
            Console.WriteLine($"  stopped: {s.Started} check(s), {s.Succeeded} succeeded, {s.Failures} failed, mean {s.MeanDuration.TotalSeconds:0.0} s");
            await new CancelScope(shield: true).RunAsync(async () => await server.DisposeAsync());   // then close the site
        }
    }

    public static void Run(bool waitForCtrlC)
    {
        // Runner: asyncio.run's loop, which turns SIGINT into a cancellation of the main task.
        using var runner = new Runner();
        try
        {
            runner.Run(() => CheckUntilCtrlC(waitForCtrlC));
        }
        catch (KeyboardInterrupt)
        {
            Console.WriteLine("  ^C: the main task was cancelled and the scheduler stopped gracefully");
        }
    }
}
