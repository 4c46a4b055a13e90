using System.Net.WebSockets;
using System.Text;

namespace Aio.Http.Tests.WebSockets;

/// <summary>The WebSocket server on real sockets: Aio's own client against it, and a shutdown with 1,000 open WebSockets.</summary>
public class WebSocketRealSocketTests
{
    [Fact]
    public void ClientSession_AgainstTheAioServer_RoundTripAndCloseCodes() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.WebSocket("/echo", async (ws, req) =>
        {
            await foreach (WebSocketMessage m in ws)
            {
                if (m.Text == "bye")
                {
                    await ws.CloseAsync((WebSocketCloseStatus)4001, "server says bye");
                    return;
                }
                await ws.SendTextAsync("echo " + m.Text);
            }
        }, new AioWebSocketOptions { SubProtocols = ["v1"] });
        await using HttpServer server = await app.StartAsync("127.0.0.1", 0);
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync($"ws://127.0.0.1:{server.Port}/echo", new() { SubProtocols = ["v1"] });
        var seen = new List<string> { $"sub-protocol {ws.SubProtocol}" };
        await ws.SendTextAsync("hello");
        seen.Add((await ws.ReceiveAsync()).Text);
        await ws.SendTextAsync(new string('é', 70_000));
        seen.Add($"{(await ws.ReceiveAsync()).Text.Length} chars");
        await ws.SendTextAsync("bye");
        WebSocketMessage close = await ws.ReceiveAsync();
        seen.Add($"{close.Kind} {(int?)close.CloseStatus} {close.CloseDescription}");
        Assert.Equal(["sub-protocol v1", "echo hello", "70005 chars", "Close 4001 server says bye"], seen);
    }, virtualTime: false);

    [Fact]
    public void Shutdown_1000OpenWebSockets_AllGet1001WithinTheGracePeriod() => AioTest.Run(async () =>
    {
        const int n = 1000;
        int handlersSawClose = 0;
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            await foreach (WebSocketMessage m in ws)
            {
            }
            if (ws.CloseStatus == WebSocketCloseStatus.EndpointUnavailable)
            {
                handlersSawClose++;
            }
        });
        HttpServer server = await app.StartAsync("127.0.0.1", 0);
        byte[] handshake = Encoding.ASCII.GetBytes(WsPeer.Handshake("/ws"));
        int clientsGot1001 = 0;
        var opened = new List<(AioStreamReader Reader, AioStreamWriter Writer)>();
        for (int i = 0; i < n; i++)
        {
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", server.Port);
            writer.Write(handshake);
            opened.Add((reader, writer));
        }
        foreach (var (reader, _) in opened)
        {
            await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray());
        }
        Assert.Equal(n, server.ActiveConnections);
        double started = EventLoop.GetRunningLoop().Time();
        await TaskGroup.Run(async group =>
        {
            foreach (var (reader, writer) in opened)
            {
                _ = group.CreateTask(async () =>
                {
                    byte[] head = await reader.ReadExactlyAsync(2);
                    byte[] payload = await reader.ReadExactlyAsync(head[1] & 0x7F);
                    if (head[0] == 0x88 && payload[0] == 0x03 && payload[1] == 0xE9)
                    {
                        clientsGot1001++;
                    }
                    writer.Write(WsPeer.Close(1001));
                    _ = await reader.ReadAsync();     // EOF: the server closes the connection
                    writer.Close();
                });
            }
            await server.ShutdownAsync(10);
        });
        double took = EventLoop.GetRunningLoop().Time() - started;
        Assert.Equal((n, n, 0), (clientsGot1001, handlersSawClose, server.ActiveConnections));
        Assert.InRange(took, 0, 10);
    }, virtualTime: false);
}
