using Aio.TestUtilities;
using System.Text;

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
}
