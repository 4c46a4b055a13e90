using System.Text;

namespace Aio.Tests.Os;

/// <summary>End to end: examples/GracefulShutdown run as a real process and interrupted with SIGINT.</summary>
public class GracefulShutdownExampleTests
{
    [Fact]
    public void GracefulShutdown_SigintDuringACheck_FinishesItCancelsTheRestAndExits130()
    {
        string dll = ExampleProgram.Find("GracefulShutdown");
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
            p.SendSignal(Posix.SIGINT); // check 1 is in flight: it holds its connection for 0.5 s
            var (rest, err) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            seen.AddRange(Encoding.UTF8.GetString(rest!).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal("", Encoding.UTF8.GetString(err!));
            return (seen, p.ReturnCode);
        });
        Assert.StartsWith("ready: checking 127.0.0.1:", lines[0]);
        Assert.Equal(
            ["check 1: start", "check 1: done (OK)", "shutdown: 1 check(s) completed; stopping the server", "exit: interrupted"],
            lines.Skip(1));
        Assert.Equal(130, code);
    }

    [Fact]
    public void GracefulShutdown_SecondSigint_EndsTheProcessAtOnce()
    {
        string dll = ExampleProgram.Find("GracefulShutdown");
        string dotnet = ExampleProgram.Dotnet;
        var (output, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Null, TerminateGracePeriod = 1 });
            await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()); // ready
            await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()); // check 1: start (it holds its connection 0.5 s)
            p.SendSignal(Posix.SIGINT);                                  // first Ctrl+C: graceful shutdown begins
            AioTask<byte[]> rest = Asyncio.CreateTask(() => p.Stdout!.ReadAsync());
            // Second Ctrl+C. Signals sent close together may merge into one, so repeat until the process is gone.
            AioTask<int> exited = Asyncio.CreateTask(() => p.WaitAsync());
            for (int i = 0; i < 200 && !exited.Done; i++)
            {
                await Asyncio.Sleep(0.05);
                p.SendSignal(Posix.SIGINT);
            }
            int rc = await Asyncio.FailAfter(60, async () => await exited);
            return (Encoding.UTF8.GetString(await rest), rc);
        });
        Assert.Equal(-2, code);                            // ended by SIGINT's default action, not by the graceful path
        Assert.DoesNotContain("exit: interrupted", output);
    }
}
