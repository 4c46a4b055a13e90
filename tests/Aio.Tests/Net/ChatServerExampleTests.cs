using System.Text;
using Aio.Tests.Os;

namespace Aio.Tests.Net;

/// <summary>End to end: examples/ChatServer run as a real process, two clients chatting, then SIGINT.</summary>
public class ChatServerExampleTests
{
    [Fact]
    public void ChatServer_TwoClientsThenSigint_EveryClientIsToldGoodbyeAndTheProcessExits130()
    {
        string dll = ExampleProgram.Find("ChatServer");
        string dotnet = ExampleProgram.Dotnet;
        var (alice, bob, output, code) = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll, "0"],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            string ready = ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()));
            Assert.StartsWith("ready: chat on 127.0.0.1:", ready, StringComparison.Ordinal);
            int port = int.Parse(ready[(ready.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            var seenByAlice = new List<string>();
            var seenByBob = new List<string>();
            var (ra, wa) = await Asyncio.OpenConnectionAsync("127.0.0.1", port);
            seenByAlice.Add(ExampleProgram.Line(await Asyncio.FailAfter(30, () => ra.ReadLineAsync())));
            wa.Write("alice\n"u8);
            Assert.Equal("* alice joined", ExampleProgram.Line(await Asyncio.FailAfter(30, () => p.Stdout!.ReadLineAsync())));
            var (rb, wb) = await Asyncio.OpenConnectionAsync("127.0.0.1", port);
            seenByBob.Add(ExampleProgram.Line(await Asyncio.FailAfter(30, () => rb.ReadLineAsync())));
            wb.Write("bob\n"u8);
            seenByAlice.Add(ExampleProgram.Line(await Asyncio.FailAfter(30, () => ra.ReadLineAsync())));
            wb.Write("hello alice\n"u8);
            seenByAlice.Add(ExampleProgram.Line(await Asyncio.FailAfter(30, () => ra.ReadLineAsync())));
            p.SendSignal(Posix.SIGINT);
            foreach ((AioStreamReader r, List<string> seen) in new[] { (ra, seenByAlice), (rb, seenByBob) })
            {
                seen.Add(ExampleProgram.Line(await Asyncio.FailAfter(30, () => r.ReadLineAsync())));
                seen.Add((await Asyncio.FailAfter(30, () => r.ReadAsync())).Length == 0 ? "<eof>" : "<more>");
            }
            wa.Close();
            wb.Close();
            var (rest, err) = await Asyncio.FailAfter(60, () => p.CommunicateAsync());
            Assert.Equal("", Encoding.UTF8.GetString(err!));
            return (seenByAlice, seenByBob, Encoding.UTF8.GetString(rest!).Split('\n', StringSplitOptions.RemoveEmptyEntries), p.ReturnCode);
        });
        Assert.Equal(
            ["* welcome! what is your name?", "* bob joined", "bob: hello alice", "* server shutting down, bye", "<eof>"],
            alice);
        Assert.Equal(["* welcome! what is your name?", "* server shutting down, bye", "<eof>"], bob);
        Assert.Equal(
            ["* bob joined", "bob: hello alice", "shutdown: telling 2 client(s) goodbye", "* alice left", "* bob left", "exit: interrupted"],
            output);
        Assert.Equal(130, code);
    }
}
