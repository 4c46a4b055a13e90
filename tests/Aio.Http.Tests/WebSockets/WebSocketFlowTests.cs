using System.Net.WebSockets;
using System.Text;

namespace Aio.Http.Tests.WebSockets;

/// <summary>Heartbeat, timeouts, back-pressure, broadcast and shutdown of the WebSocket server, in virtual time.</summary>
public class WebSocketFlowTests
{
    private static double Now => EventLoop.GetRunningLoop().Time();

    private static Application App(Func<AioWebSocket, Task> handler, AioWebSocketOptions? options = null)
    {
        var app = new Application();
        app.Router.WebSocket("/ws", (ws, _) => handler(ws), options);
        return app;
    }

    [Fact]
    public void Heartbeat_PeerNeverAnswers_ClosedAfterTheTimeout() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            try
            {
                await ws.ReceiveAsync();
            }
            catch (WebSocketException e)
            {
                events.Add($"{Now:0} handler: {e.Message}");
            }
        }, new AioWebSocketOptions { Heartbeat = TimeSpan.FromSeconds(5), HeartbeatTimeout = TimeSpan.FromSeconds(2) });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        for (int i = 0; i < 2; i++)
        {
            string frame = await peer.ReadFrameAsync();
            events.Add($"{Now:0} {frame}");
        }
        await Sleep(0.1);
        Assert.Equal(["5 ping ", "7 close 1008 heartbeat timeout",
            "7 handler: The client did not answer a heartbeat PING within 2 s (AioWebSocketOptions.HeartbeatTimeout); it is taken as gone. The WebSocket with 127.0.0.1:50000 /ws was closed with 1008 (PolicyViolation)."], events);
    });

    [Fact]
    public void Heartbeat_PeerAnswers_StaysOpen() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            await foreach (WebSocketMessage m in ws)
            {
                events.Add($"{Now:0} got {m.Text}");
            }
        }, new AioWebSocketOptions { Heartbeat = TimeSpan.FromSeconds(5), HeartbeatTimeout = TimeSpan.FromSeconds(2) });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        for (int i = 0; i < 3; i++)
        {
            string frame = await peer.ReadFrameAsync();
            events.Add($"{Now:0} {frame}");
            peer.Send(WsPeer.Frame(10, []));
        }
        peer.Send(WsPeer.Text("still here"));
        await Sleep(1);
        Assert.Equal(["5 ping ", "10 ping ", "15 ping ", "15 got still here"], events);
    });

    [Fact]
    public void Receive_CancelledBeforeAMessageArrived_WebSocketStaysOpen() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            bool inTime = await Asyncio.MoveOnAfter(1, async () => await ws.ReceiveAsync());
            events.Add($"{Now:0} in time: {inTime}, {ws.State}");
            string text = (await ws.ReceiveAsync()).Text;
            events.Add($"{Now:0} {text}");
            await ws.SendTextAsync(text);
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        await Sleep(2);
        peer.Send(WsPeer.Text("later"));
        events.Add(await peer.ReadFrameAsync());
        Assert.Equal(["1 in time: False, Open", "2 later", "text later"], events);
    });

    [Fact]
    public void ReceiveTimeout_NothingArrives_ThrowsTimeoutAndAborts() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            string first = (await ws.ReceiveAsync()).Text;
            events.Add($"{Now:0} {first}");
            try
            {
                await ws.ReceiveAsync();
            }
            catch (TimeoutException e)
            {
                events.Add($"{Now:0} {e.Message} {ws.State}");
            }
        }, new AioWebSocketOptions { ReceiveTimeout = TimeSpan.FromSeconds(3) });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        await Sleep(2);
        peer.Send(WsPeer.Text("in time"));
        await peer.ReadAllAsync();
        Assert.Equal(["2 in time", "5 No message arrived from 127.0.0.1:50000 /ws within 3 s (AioWebSocketOptions.ReceiveTimeout); the WebSocket was aborted. Aborted"], events);
    });

    [Fact]
    public void Send_PeerDoesNotRead_SendsWaitThenGoOn() => AioTest.Run(async () =>
    {
        int sent = 0;
        string message = new('x', 1024);
        Application app = App(async ws =>
        {
            await ws.ReceiveAsync();      // "go": the client has stopped reading by now
            for (int i = 0; i < 200; i++)
            {
                await ws.SendTextAsync(message);
                sent++;
            }
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Connection.PauseReading();
        peer.Send(WsPeer.Text("go"));
        await Sleep(5);
        int whilePaused = sent;
        peer.Connection.ResumeReading();
        int frames = 0;
        while (frames < 200 && (await peer.ReadFrameAsync()).StartsWith("text xxx", StringComparison.Ordinal))
        {
            frames++;
        }
        await Sleep(0.1);
        // 64 KiB (the transport's high-water mark) of 1 KiB frames go out, then the sender waits.
        Assert.InRange(whilePaused, 60, 70);
        Assert.Equal((200, 200), (sent, frames));
    });

    [Theory]
    [InlineData(SlowClientPolicy.DropMessages)]
    [InlineData(SlowClientPolicy.Disconnect)]
    public void Broadcast_OneSlowClient_OthersGetEverything(SlowClientPolicy policy) => AioTest.Run(async () =>
    {
        var group = new WebSocketGroup(policy, maxQueuedMessages: 8);
        Application app = App(async ws =>
        {
            group.Add(ws);
            try
            {
                await foreach (WebSocketMessage m in ws)
                {
                }
            }
            catch (WebSocketException)
            {
            }
            finally
            {
                group.Remove(ws);
            }
        });
        await using var client = new TestClient(app);
        WsPeer fast1 = await WsPeer.OpenAsync(client);
        WsPeer slow = await WsPeer.OpenAsync(client);
        WsPeer fast2 = await WsPeer.OpenAsync(client);
        await Sleep(0.1);
        slow.Connection.PauseReading();
        string big = new('b', 4096);
        for (int i = 0; i < 200; i++)
        {
            group.Broadcast($"{i:000}{big}");
            await Sleep(0.01);
        }
        async Task<int> CountAsync(WsPeer p, int expected)
        {
            int n = 0;
            while (n < expected && (await p.ReadFrameAsync()).StartsWith("text " + n.ToString("000", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                n++;
            }
            return n;
        }
        int got1 = await CountAsync(fast1, 200);
        int got2 = await CountAsync(fast2, 200);
        Assert.Equal((200, 200), (got1, got2));
        if (policy == SlowClientPolicy.DropMessages)
        {
            Assert.Equal(3, group.Count);
            Assert.InRange(group.DroppedMessages, 100, 199);
            Assert.Equal(0, group.DisconnectedMembers);
        }
        else
        {
            Assert.Equal((2, 0L, 1L), (group.Count, group.DroppedMessages, group.DisconnectedMembers));
            slow.Connection.ResumeReading();
            await Sleep(0.1);
            Assert.True(slow.Connection.IsClosed);
        }
    });

    [Fact]
    public void Shutdown_OpenWebSockets_Get1001AndHandlersSeeTheClose() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            await foreach (WebSocketMessage m in ws)
            {
            }
            events.Add($"{Now:0} handler saw close {(int?)ws.CloseStatus}");
        });
        var client = new TestClient(app);
        var peers = new List<WsPeer>();
        for (int i = 0; i < 3; i++)
        {
            peers.Add(await WsPeer.OpenAsync(client));
        }
        await Sleep(1);
        AioTask shutdown = Asyncio.CreateTask(() => client.ShutdownAsync(30));
        foreach (WsPeer p in peers)
        {
            string frame = await p.ReadFrameAsync();
            events.Add($"{Now:0} client got {frame}");
            await Sleep(1);
            p.Send(WsPeer.Close(1001));
        }
        await shutdown;
        events.Add($"{Now:0} shut down, connections {client.ActiveConnections}");
        Assert.Equal(["1 client got close 1001 server shutting down", "2 client got close 1001 server shutting down",
            "2 handler saw close 1001", "3 client got close 1001 server shutting down", "3 handler saw close 1001",
            "4 handler saw close 1001", "4 shut down, connections 0"], events);
    });

    [Fact]
    public void Shutdown_ClientNeverAnswers_CancelledAtTheEndOfGrace() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        Application app = App(async ws =>
        {
            try
            {
                await foreach (WebSocketMessage m in ws)
                {
                }
            }
            catch (OperationCanceledException)
            {
                events.Add($"{Now:0} handler cancelled");
                throw;
            }
        });
        var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        await client.ShutdownAsync(5);
        events.Add($"{Now:0} shut down, connections {client.ActiveConnections}");
        events.AddRange(await peer.ReadAllAsync());
        Assert.Equal(["5 handler cancelled", "5 shut down, connections 0", "close 1001 server shutting down"], events);
    });
}
