using System.Net.WebSockets;
using System.Text;

namespace Aio.Http.Tests.WebSockets;

/// <summary>End to end: examples/WebChat as a real process: two clients chat, SIGTERM closes them with 1001, exit 0.</summary>
public class WebChatExampleTests
{
    [Fact]
    public void WebChat_TwoClientsThenSigterm_BroadcastAnd1001AndExit0()
    {
        string dll = ExampleProgram.Find("WebChat");
        string dotnet = ExampleProgram.Dotnet;
        List<string> events = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll, "0"],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            string listening = ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()));
            string url = listening[(listening.IndexOf("http://", StringComparison.Ordinal) + 7)..];
            var events = new List<string>();
            await using var session = new ClientSession();
            string page = await (await session.GetAsync($"http://{url}/")).TextAsync();
            events.Add(page.Contains("new WebSocket", StringComparison.Ordinal) ? "page ok" : page);
            AioWebSocket alice = await session.WebSocketAsync($"ws://{url}/chat");
            events.Add((await alice.ReceiveAsync()).Text);
            AioWebSocket bob = await session.WebSocketAsync($"ws://{url}/chat");
            events.Add((await alice.ReceiveAsync()).Text);
            events.Add((await bob.ReceiveAsync()).Text);
            await bob.SendTextAsync("hi from bob");
            events.Add((await alice.ReceiveAsync()).Text);
            events.Add((await bob.ReceiveAsync()).Text);
            p.Terminate();
            foreach (AioWebSocket ws in new[] { alice, bob })
            {
                WebSocketMessage close = await Asyncio.FailAfter(30, () => ws.ReceiveAsync());
                events.Add($"{close.Kind} {(int?)close.CloseStatus}");
                await ws.DisposeAsync();
            }
            var (rest, _) = await Asyncio.FailAfter(30, () => p.CommunicateAsync());
            events.Add(Encoding.UTF8.GetString(rest!).Trim());
            events.Add($"exit {p.ReturnCode}");
            return events;
        });
        Assert.Equal(["page ok", "* someone joined (1 here)", "* someone joined (2 here)", "* someone joined (2 here)",
            "hi from bob", "hi from bob", "Close 1001", "Close 1001", "stopped", "exit 0"], events);
    }
}
