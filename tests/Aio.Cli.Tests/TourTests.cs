using System.Text;
using System.Text.RegularExpressions;
using Aio.Cli.Tour;
using Aio.Os;

namespace Aio.Cli.Tests;

/// <summary>
/// <c>aio tour</c>: the whole tour in-process on a virtual clock (every line, every loop time), step 5's real SIGINT to
/// itself in a real process, and the steps' own functions.
/// </summary>
public sealed partial class TourTests
{
    /// <summary>
    /// A virtual clock for the tour's Runners. ClientSession's requests run on HttpClient's threads (foreign work), so
    /// before each jump the clock gives them 2 s of real time to report back (a shorter wait jumped past a reply on a
    /// loaded machine); steps 4 and 5 make nine jumps, so the whole tour takes about 20 s of real time.
    /// </summary>
    private static EventLoop VirtualLoop() => new(new VirtualClock { ForeignWaitThreshold = 2 });

    [GeneratedRegex(@"\(\d+\.\d\d s wall\)")]
    private static partial Regex WallTime();

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+")]
    private static partial Regex LocalUrl();

    private static readonly string[] Step1 =
    [
        "== 1. A coroutine run on a loop",
        "Hello, Aio!",
        "Hello, loop!",
        "",
    ];

    private static readonly string[] Step2 =
    [
        "== 2. Five one-second sleeps, awaited one by one (about 5 s)",
        "  sleep 1 done at 1.0 s",
        "  sleep 2 done at 2.0 s",
        "  sleep 3 done at 3.0 s",
        "  sleep 4 done at 4.0 s",
        "  sleep 5 done at 5.0 s",
        "elapsed: 5.00 s of loop time (x s wall)",
        "",
    ];

    private static readonly string[] Step3 =
    [
        "== 3. The same five sleeps awaited together (about 1 s)",
        "  gathered 1, 2, 3, 4, 5",
        "elapsed: 1.00 s of loop time (x s wall)",
        "",
    ];

    private static readonly string[] Step4 =
    [
        "== 4. Three queries of a jobs API made concurrently with ClientSession, gathered and flattened (local API, 1 s each)",
        "  local jobs API on http://127.0.0.1:PORT (each answer takes 1.0 s)",
        "  python   60 postings in 1.00 s",
        "  csharp   60 postings in 1.00 s",
        "  go       60 postings in 1.00 s",
        "  the three together: 1.00 s, about as long as the slowest (1.00 s), not their sum (3.00 s)",
        "  merged list: 180 postings (60 python, 60 csharp, 60 go); the newest:",
        "    2026-11-26  Lead Tooling Engineer (python)             Blue Harbor Labs     Amsterdam",
        "    2026-11-22  Junior API Developer (csharp)              Ironbark Energy      London",
        "    2026-11-22  Lead Site Reliability Engineer (go)        Cobalt Systems       London (remote)",
        "    2026-11-20  Lead Site Reliability Engineer (go)        Evergreen Logistics  Amsterdam",
        "    2026-11-18  Backend Engineer (python)                  Hollow Oak Games     Warsaw (remote)",
        "    2026-11-16  Backend Engineer (go)                      Hollow Oak Games     Warsaw",
        "elapsed: 1.00 s for three requests made together (x s wall)",
        "",
    ];

    private static readonly string[] Step5 =
    [
        "== 5. A periodic HEAD check as an Aio.Jobs job, stopped by Ctrl+C with a graceful shutdown",
        "  check 1: HEAD /health",
        "  check 1: 200 OK",
        "  check 2: HEAD /health",
        "  check 2: 200 OK",
        "  check 3: HEAD /health",
        "  check 3: 200 OK",
        "  check 4: HEAD /health",
        "  ^C",
        "  check 4: 200 OK",
        "  stopped: 4 check(s), 4 succeeded, 0 failed, mean 1.0 s",
        "  ^C: the main task was cancelled and the scheduler stopped gracefully",
        "",
    ];

    private static string[] Lines(string output) =>
        [.. output.Split('\n').Select(l => LocalUrl().Replace(WallTime().Replace(l.TrimEnd('\r'), "(x s wall)"), "http://127.0.0.1:PORT"))];

    [Fact]
    public void Tour_AllSteps_VirtualTime_PrintsEveryLineOfTheTour_Exit0()
    {
        // Step 5 "presses Ctrl+C" at 6.5 s of loop time, in the middle of the fourth check; here through Runner.Interrupt.
        var interrupted = new List<double>();
        CliResult r = CliHarness.Run(["tour"], loopFactory: VirtualLoop, sendInterrupt: runner =>
        {
            interrupted.Add(runner.GetLoop().Time());
            runner.Interrupt();
        });
        Assert.Equal("", r.Error);
        Assert.Equal([.. Step1, .. Step2, .. Step3, .. Step4, .. Step5, ""], Lines(r.Out));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal([6.5], interrupted);
    }

    [Fact]
    public void Tour_ChosenSteps_RunInTheOrderGiven()
    {
        CliResult r = CliHarness.Run(["tour", "3", "1"], loopFactory: VirtualLoop);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal([.. Step3, .. Step1, ""], Lines(r.Out));
    }

    [Fact]
    public void Tour_Step4WithApi_QueriesThatServerInstead()
    {
        // Another jobs API (here the same application with a 0.5 s delay, started on the tour's loop by the test).
        EventLoop loop = VirtualLoop();
        var output = new StringWriter();
        (List<Job> jobs, double seconds) = AioTest.RunOn(loop, async () =>
        {
            (HttpServer server, string url) = await JobsApiServer.StartAsync(delay: 0.5);
            await using (server)
            {
                return await Step4Http.SearchJobs(url + "/", output);
            }
        });
        Assert.Equal(0.5, seconds);
        Assert.Equal(180, jobs.Count);
        Assert.Equal(
            [
                "  python   60 postings in 0.50 s",
                "  csharp   60 postings in 0.50 s",
                "  go       60 postings in 0.50 s",
                "  the three together: 0.50 s, about as long as the slowest (0.50 s), not their sum (1.50 s)",
                "",
            ],
            Lines(output.ToString()));
    }

    [Fact]
    public void Steps_SleepsOneByOneAndTogether_TakeFiveAndOneSecondsOfLoopTime()
    {
        Assert.Equal("Hello, Aio!", AioTest.Run(() => Step1Greet.Greet("Aio")));
        Assert.Equal(5.0, AioTest.Run(() => Step2Sequential.FiveSleepsOneByOne(TextWriter.Null)), 6);
        Assert.Equal(1.0, AioTest.Run(() => Step3Together.FiveSleepsTogether(TextWriter.Null)), 6);
    }

    [Fact]
    public void Tour_Step5_RealProcess_SendsItselfSigint_CheckInFlightFinishes_Exit0()
    {
        string dll = ExampleProgram.Find("Aio.Cli", "src");
        var (output, error, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(ExampleProgram.Dotnet, [dll, "tour", "5"],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            var (stdout, stderr) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            return (Encoding.UTF8.GetString(stdout!), Encoding.UTF8.GetString(stderr!), p.ReturnCode);
        });
        Assert.Equal("", error);
        // The tour sends itself SIGINT at t=6.5 s, in the middle of a check (the site answers in 1 s, a check starts
        // every 2 s). Real time: on a loaded machine the SIGINT may land in a different check, so the test asserts the
        // shape, not the count: checks pair up in order, the ^C comes while one is in flight and that check still
        // finishes, and the statistics count every check started.
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Step5[0], lines[0]);
        int checks = lines.Count(l => l.EndsWith(": HEAD /health", StringComparison.Ordinal));
        Assert.True(checks >= 2, "fewer than two checks before the SIGINT:\n" + output);
        var expected = new List<string> { lines[0] };
        for (int i = 1; i <= checks; i++)
        {
            expected.Add($"  check {i}: HEAD /health");
            if (i == checks)
            {
                expected.Add("  ^C");   // the last check was in flight when the signal came, and finishes
            }
            expected.Add($"  check {i}: 200 OK");
        }
        expected.Add($"  stopped: {checks} check(s), {checks} succeeded, 0 failed, mean x s");
        expected.Add("  ^C: the main task was cancelled and the scheduler stopped gracefully");
        Assert.Equal(expected, lines.Select(l => Regex.Replace(l, @"mean \d+\.\d s$", "mean x s")));   // real HTTP: about 1 s each
        Assert.Equal(0, code);
    }
}
