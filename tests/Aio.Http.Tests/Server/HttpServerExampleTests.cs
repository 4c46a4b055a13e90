using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aio.Http.Tests.Server;

/// <summary>End to end: examples/HttpServer run as a real process and stopped with SIGTERM while a request is in flight.</summary>
public class HttpServerExampleTests
{
    [Fact]
    public void Sigterm_DuringARequest_RequestCompletesNewConnectionsRefusedExit0()
    {
        string dll = ExampleProgram.Find("HttpServer");
        string dotnet = ExampleProgram.Dotnet;
        var events = Asyncio.Run(async () =>
        {
            AioProcess p = await Asyncio.CreateSubprocessExecAsync(dotnet, [dll, "0"],
                new ProcessOptions { Stdout = ProcessStdio.Pipe, Stderr = ProcessStdio.Pipe, TerminateGracePeriod = 1 });
            string listening = ExampleProgram.Line(await Asyncio.FailAfter(60, () => p.Stdout!.ReadLineAsync()));
            int port = int.Parse(listening[(listening.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await Asyncio.Cancellable(socket.ConnectAsync(IPAddress.Loopback, port));
            await Asyncio.Cancellable(socket.SendAsync(Encoding.ASCII.GetBytes("GET /slow?seconds=1.5 HTTP/1.1\r\nHost: a\r\n\r\n")));
            await Asyncio.Sleep(0.5);                    // the request is in flight (it takes 1.5 s)
            double signalled = EventLoop.GetRunningLoop().Time();
            p.Terminate();   // SIGTERM
            var events = new List<string>();
            // The server stops listening once it has handled the SIGTERM; on a loaded machine that takes more than a
            // fixed 0.3 s (real time: another process), so try every 0.1 s for up to 10 s until a connection is refused.
            string late = "late connection accepted";
            for (double giveUp = signalled + 10; EventLoop.GetRunningLoop().Time() < giveUp;)
            {
                await Asyncio.Sleep(0.1);
                using var attempt = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await Asyncio.Cancellable(attempt.ConnectAsync(IPAddress.Loopback, port));
                }
                catch (SocketException e)
                {
                    late = $"late connection: {e.SocketErrorCode}";
                    break;
                }
            }
            events.Add(late);
            var answer = new StringBuilder();
            var buffer = new byte[4096];
            while (true)
            {
                int n = await Asyncio.FailAfter(30, () => Asyncio.Cancellable(socket.ReceiveAsync(buffer, SocketFlags.None)));
                if (n == 0)
                {
                    break;
                }
                answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var (rest, err) = await Asyncio.FailAfter(30, () => p.CommunicateAsync());
            double exitedAfter = EventLoop.GetRunningLoop().Time() - signalled;
            string text = answer.ToString();
            events.Add(text[..text.IndexOf("\r\n", StringComparison.Ordinal)]);
            events.Add(text.Contains("Connection: close\r\n", StringComparison.Ordinal) ? "Connection: close" : "kept alive");
            events.Add(text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]);
            events.Add(Encoding.UTF8.GetString(rest!).Trim());
            events.Add(Encoding.UTF8.GetString(err!));
            events.Add($"exit {p.ReturnCode}");
            events.Add(exitedAfter < 10 ? "within the grace period" : $"after {exitedAfter:0.0} s");
            return events;
        });
        Assert.Equal(["late connection: ConnectionRefused", "HTTP/1.1 200 OK", "Connection: close", "done after 1.5 s", "stopped", "", "exit 0", "within the grace period"], events);
    }
}
