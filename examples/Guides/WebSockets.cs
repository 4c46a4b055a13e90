using System.Net.WebSockets;
using Aio;
using Aio.Http;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/websockets.md: an echo route, a relay that keeps bytes as bytes, a broadcast room with WebSocketGroup, the options, on real sockets.</summary>
public static class WebSocketsGuide
{
    public static void Run() => Asyncio.Run(async () =>
    {
        var app = new Application();
        Echo(app);
        Relay(app);
        Room(app);
        Guarded(app);
        await using HttpServer server = await app.StartAsync("127.0.0.1", 0);
        await using var session = new ClientSession();

        await using (AioWebSocket ws = await session.WebSocketAsync($"ws://127.0.0.1:{server.Port}/echo"))
        {
            await ws.SendTextAsync("hello");
            Console.WriteLine($"echo: {(await ws.ReceiveAsync()).Text}");
            await ws.CloseAsync();
        }

        await using (AioWebSocket ws = await session.WebSocketAsync($"ws://127.0.0.1:{server.Port}/relay"))
        {
            await ws.SendTextAsync("grüße");
            Console.WriteLine($"relay: {(await ws.ReceiveAsync()).Text}");
            await ws.CloseAsync();
        }

        await using AioWebSocket alice = await session.WebSocketAsync($"ws://127.0.0.1:{server.Port}/room");
        await using AioWebSocket bob = await session.WebSocketAsync($"ws://127.0.0.1:{server.Port}/room");
        await alice.SendTextAsync("hi all");
        Console.WriteLine($"alice got: {(await alice.ReceiveAsync()).Text}");
        Console.WriteLine($"bob got: {(await bob.ReceiveAsync()).Text}");
    });

    static void Echo(Application app)
    {
        app.Router.WebSocket("/echo", async (ws, req) =>
        {
            await foreach (WebSocketMessage message in ws)   // ends when the client closes
            {
                await ws.SendTextAsync(message.Text);
            }
        });
    }

    static void Relay(Application app)
    {
        // The fast echo: a text message goes back as the UTF-8 bytes it came in (checked, never decoded to a string).
        app.Router.WebSocket("/relay", async (ws, req) =>
        {
            await foreach (WebSocketMessage message in ws)
            {
                await (message.Kind == WebSocketMessageKind.Text
                    ? ws.SendTextAsync(message.Data)
                    : ws.SendBytesAsync(message.Data));
            }
        });
    }

    static void Room(Application app)
    {
        // One group for the room: Broadcast queues the message for every member and returns at once;
        // a member whose outbox (100 messages) is full misses messages instead of slowing the others.
        var room = new WebSocketGroup(SlowClientPolicy.DropMessages, maxQueuedMessages: 100);
        app.Router.WebSocket("/room", async (ws, req) =>
        {
            room.Add(ws);
            try
            {
                await foreach (WebSocketMessage message in ws)
                {
                    room.Broadcast(message.Text);
                }
            }
            finally
            {
                room.Remove(ws);
            }
        });
    }

    static void Guarded(Application app)
    {
        var options = new AioWebSocketOptions
        {
            Heartbeat = TimeSpan.FromSeconds(20),          // a PING after 20 s of silence ...
            HeartbeatTimeout = TimeSpan.FromSeconds(10),   // ... and no answer within 10 s: the peer is gone
            MaxMessageSize = 64 * 1024,                    // a larger message closes with 1009
            AllowedOrigins = ["https://example.com"],      // any other Origin (or none) gets 403
            SubProtocols = ["chat.v2", "chat.v1"],         // the server's preference order
        };
        app.Router.Get("/private", req =>
        {
            // Your own checks first, then the upgrade.
            if (!req.IsWebSocket || req.Query["token"] != "secret")
            {
                return Response.Text("forbidden", 403);
            }
            return Response.WebSocket(req, async ws =>
            {
                await ws.SendTextAsync($"welcome ({ws.SubProtocol ?? "no sub-protocol"})");
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye");
            }, options);
        });
    }
}
