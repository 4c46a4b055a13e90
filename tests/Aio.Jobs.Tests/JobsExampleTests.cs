using Aio.TestUtilities;
using System.Text;
using System.Text.RegularExpressions;

namespace Aio.Jobs.Tests;

/// <summary>End to end, in real time: examples/Jobs run as a real process and stopped with SIGTERM.</summary>
public sealed class JobsExampleTests
{
    [Fact]
    public void JobsExample_SigtermDuringARun_FinishesItPrintsStatisticsAndExits143()
    {
        string dll = ExampleProgram.Find("Jobs");
        string dotnet = ExampleProgram.Dotnet;
        var (lines, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            var seen = new List<string>
            {
                ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync())),
                ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync())),
            };
            p.Terminate();   // SIGTERM while report 1 is in flight (it takes 1 s)
            var (rest, err) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            seen.AddRange(Encoding.UTF8.GetString(rest!).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal("", Encoding.UTF8.GetString(err!));
            return (seen, p.ReturnCode);
        });
        Assert.Equal("ready: report every 2 s, tick every 5 s; press Ctrl+C to stop", lines[0]);
        // The cron tick fires on the real wall clock: how often it ran before the signal varies.
        Assert.Single(lines, l => l.StartsWith("stopped: tick runs=", StringComparison.Ordinal) && l.EndsWith(" failed=0 cancelled=0", StringComparison.Ordinal));
        Assert.Equal(
            ["report 1: start", "report 1: done", "stopped: report runs=1 succeeded=1 failed=0 cancelled=0", "exit: interrupted"],
            lines.Skip(1).Where(l => !l.StartsWith("stopped: tick", StringComparison.Ordinal)));
        Assert.Equal(143, code);   // 128 + SIGTERM, as a Python program ends
    }

    [Fact]
    public void TutorialStep5_RealSigint_CheckInFlightFinishesAndStatisticsArePrinted()
    {
        string dll = ExampleProgram.Find("Tutorial");
        string dotnet = ExampleProgram.Dotnet;
        var (output, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll, "5"],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            var (stdout, stderr) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            Assert.Equal("", Encoding.UTF8.GetString(stderr!));
            return (Encoding.UTF8.GetString(stdout!), p.ReturnCode);
        });
        // The tour sends itself SIGINT at t=6.5 s, in the middle of a check (the site answers in 1 s, a check
        // starts every 2 s). Real time: on a loaded machine the SIGINT may land in a different check, so the test
        // asserts the shape, not the count: checks pair up in order, the ^C comes while one is in flight and
        // that check still finishes, and the statistics count every check started.
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("== 5. A periodic HEAD check as an Aio.Jobs job, stopped by Ctrl+C with a graceful shutdown", lines[0]);
        int interrupt = Array.IndexOf(lines, "  ^C");
        Assert.True(interrupt > 0, "no ^C line:\n" + output);
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
