using System.Net.WebSockets;
using System.Text;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.WebSockets;

/// <summary>The WebSocket server over the in-memory transport, in virtual time: handshake, framing rules, close.</summary>
public class WebSocketServerTests
{
    private static Application EchoApp(List<string>? events = null, AioWebSocketOptions? options = null)
    {
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            try
            {
                await foreach (WebSocketMessage m in ws)
                {
                    if (m.Kind == WebSocketMessageKind.Text)
                    {
                        await ws.SendTextAsync(m.Text);
                    }
                    else
                    {
                        await ws.SendBytesAsync(m.Data);
                    }
                }
                events?.Add($"handler saw close {(int?)ws.CloseStatus} {ws.WebSocket.CloseStatusDescription}");
            }
            catch (Exception e) when (events is not null)
            {
                events.Add($"handler: {e.GetType().Name}: {e.Message}");
                throw;
            }
        }, options);
        app.Router.Route("*", "/any", req => Response.WebSocket(req, ws => Task.CompletedTask, new AioWebSocketOptions
        {
            AllowedOrigins = ["https://good.example"],
            SubProtocols = ["chat.v2", "chat.v1"],
        }));
        return app;
    }

    public static TheoryData<string, string> Handshakes => new()
    {
        { WsPeer.Handshake("/ws"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" },
        { WsPeer.Handshake("/ws").Replace("Upgrade: websocket", "Upgrade: h2c, WebSocket").Replace("Connection: Upgrade", "Connection: keep-alive, UPGRADE"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" },
        { WsPeer.Handshake("/ws").Replace("Connection: Upgrade", "Connection: keep-alive\r\nConnection: upgrade"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" },
        { WsPeer.Handshake("/any").Replace("GET", "POST"), "405 Allow=GET A WebSocket handshake uses GET, not POST (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/ws").Replace("HTTP/1.1", "HTTP/1.0"), "400 A WebSocket handshake needs HTTP/1.1 (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/ws").Replace("Upgrade: websocket\r\n", ""), "400 Not a WebSocket handshake: the Upgrade field has no \"websocket\" token (RFC 6455 §4.2.1)." },
        { WsPeer.Handshake("/ws").Replace("Upgrade: websocket", "Upgrade: websockets"), "400 Not a WebSocket handshake: the Upgrade field has no \"websocket\" token (RFC 6455 §4.2.1)." },
        { WsPeer.Handshake("/ws").Replace("Connection: Upgrade", "Connection: keep-alive"), "400 Not a WebSocket handshake: the Connection field has no \"Upgrade\" token (RFC 6455 §4.2.1)." },
        { WsPeer.Handshake("/ws").Replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), "426 Sec-WebSocket-Version=13 Unsupported WebSocket version: this server speaks Sec-WebSocket-Version 13 (RFC 6455 §4.4)." },
        { WsPeer.Handshake("/ws").Replace("Sec-WebSocket-Version: 13\r\n", ""), "426 Sec-WebSocket-Version=13 Unsupported WebSocket version: this server speaks Sec-WebSocket-Version 13 (RFC 6455 §4.4)." },
        { WsPeer.Handshake("/ws").Replace(WsPeer.Key, "dGhlIHNhbXBsZSBub25jZQ"), "400 The Sec-WebSocket-Key field must be one base64 value of 16 bytes (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/ws").Replace(WsPeer.Key, "dGhlIHNhbXBsZSBub25jZSE="), "400 The Sec-WebSocket-Key field must be one base64 value of 16 bytes (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/ws").Replace(WsPeer.Key, "dGhlIHNhbXBsZSBub25j!Q=="), "400 The Sec-WebSocket-Key field must be one base64 value of 16 bytes (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/ws").Replace("Sec-WebSocket-Key: " + WsPeer.Key + "\r\n", ""), "400 The Sec-WebSocket-Key field must be one base64 value of 16 bytes (RFC 6455 §4.1)." },
        { WsPeer.Handshake("/any", "Origin: https://evil.example"), "403 The origin 'https://evil.example' may not open a WebSocket here (AioWebSocketOptions.AllowedOrigins)." },
        { WsPeer.Handshake("/any"), "403 The origin (none) may not open a WebSocket here (AioWebSocketOptions.AllowedOrigins)." },
        { WsPeer.Handshake("/any", "Origin: https://GOOD.example", "Sec-WebSocket-Protocol: chat.v1, chat.v2"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo= Sec-WebSocket-Protocol=chat.v2" },
        { WsPeer.Handshake("/any", "Origin: https://good.example", "Sec-WebSocket-Protocol: chat.v1"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo= Sec-WebSocket-Protocol=chat.v1" },
        { WsPeer.Handshake("/any", "Origin: https://good.example", "Sec-WebSocket-Protocol: mqtt"), "101 Upgrade=websocket Connection=Upgrade Sec-WebSocket-Accept=s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" },
    };

    [Theory]
    [MemberData(nameof(Handshakes))]
    public void Handshake_EachRule_AnswersAsTheRfcSays(string request, string expected)
    {
        string answer = AioTest.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            c.Send(request);
            TestResponse r = await c.ReadResponseAsync();
            var parts = new List<string> { r.Status.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            foreach (string h in new[] { "Upgrade", "Connection", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol", "Sec-WebSocket-Version", "Allow" })
            {
                if (r.Header(h) is string v && !(h == "Connection" && r.Status != 101))
                {
                    parts.Add($"{h}={v}");
                }
            }
            if (r.Status != 101)
            {
                parts.Add(r.Text);
            }
            return string.Join(" ", parts);
        });
        Assert.Equal(expected, answer);
    }

    [Fact]
    public void Request_IsWebSocket_TellsAnUpgradeRequest() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.Get("/", req => Response.Text(req.IsWebSocket ? "ws" : "http"));
        await using var client = new TestClient(app);
        string plain = (await client.GetAsync("/")).Text;
        string ws = (await client.GetAsync("/", ("Upgrade", "WebSocket"), ("Connection", "Upgrade"))).Text;
        Assert.Equal(("http", "ws"), (plain, ws));
    });

    [Fact]
    public void Echo_FrameSentWithTheUpgradeRequest_IsNotLost() => AioTest.Run(async () =>
    {
        await using var client = new TestClient(EchoApp());
        WsPeer peer = await WsPeer.OpenAsync(client, after: [.. WsPeer.Text("early"), .. WsPeer.Text("second")]);
        List<string> frames = [await peer.ReadFrameAsync(), await peer.ReadFrameAsync()];
        peer.Send(WsPeer.Frame(2, [1, 2, 3]));
        frames.Add(await peer.ReadFrameAsync());
        peer.Send(WsPeer.Close(1000, "bye"));
        frames.AddRange(await peer.ReadAllAsync());
        Assert.Equal(["text early", "text second", "binary 1,2,3", "close 1000"], frames);
    });

    [Fact]
    public void Frames_SplitAtEveryByte_SameMessages() => AioTest.Run(async () =>
    {
        // A fragmented text message with a PING between its fragments, a binary message, then a close.
        byte[] bytes = [.. WsPeer.Text("Hel", fin: false), .. WsPeer.Frame(9, "p"u8.ToArray()), .. WsPeer.Frame(0, "lo é"u8.ToArray()),
            .. WsPeer.Frame(2, new byte[300]), .. WsPeer.Close(1000)];
        await using var client = new TestClient(EchoApp());
        List<string>? first = null;
        for (int split = 0; split < bytes.Length; split++)
        {
            WsPeer peer = await WsPeer.OpenAsync(client);
            if (split > 0)
            {
                peer.Send(bytes[..split]);
            }
            peer.Send(bytes[split..]);
            List<string> frames = await peer.ReadAllAsync();
            first ??= frames;
            Assert.True(first.SequenceEqual(frames), $"split at {split}: {string.Join(" | ", frames)}");
        }
        Assert.Equal(["pong p", "text Hello é", "binary " + string.Join(",", new byte[300]), "close 1000"], first);
    });

    [Fact]
    public void Receive_DeclaredLengthOf2Pow40_ClosesWith1009AtOnce() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        await using var client = new TestClient(EchoApp(events));
        WsPeer peer = await WsPeer.OpenAsync(client);
        // Only the header: the server must answer without waiting for a single payload byte.
        peer.Send(WsPeer.Frame(2, [], declaredLength: 1L << 40)[..14]);
        List<string> frames = await peer.ReadAllAsync();
        await Sleep(0.1);
        Assert.Equal(["close 1009 message too big"], frames);
        Assert.Equal(["handler: WebSocketException: The client announced a message of at least 1099511627776 bytes, over AioWebSocketOptions.MaxMessageSize (4194304). The WebSocket with 127.0.0.1:50000 /ws was closed with 1009 (MessageTooBig)."], events);
    });

    [Fact]
    public void Receive_FragmentsAddingUpOverTheLimit_ClosesWith1009() => AioTest.Run(async () =>
    {
        await using var client = new TestClient(EchoApp(options: new() { MaxMessageSize = 1000 }));
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Send(WsPeer.Frame(2, new byte[1000]));                // exactly the limit: fine
        string echoed = await peer.ReadFrameAsync();
        // The header of the second fragment is enough: the server does not wait for the PING before it or the payload.
        peer.Send([.. WsPeer.Frame(2, new byte[600], fin: false), .. WsPeer.Frame(9, []), .. WsPeer.Frame(0, new byte[401])[..8]]);
        List<string> frames = await peer.ReadAllAsync();
        Assert.Equal("binary " + string.Join(",", new byte[1000]), echoed);
        Assert.Equal(["close 1009 message too big"], frames);
    });

    public static TheoryData<string, byte[], string> ProtocolErrors => new()
    {
        { "unmasked frame", WsPeer.Frame(1, "hi"u8.ToArray(), mask: false), "close 1002 unmasked frame from the client" },
        { "invalid UTF-8", WsPeer.Frame(1, [0x61, 0xFF]), "close 1007" },
        { "code point split, second half invalid", [.. WsPeer.Frame(1, [0xC3], fin: false), .. WsPeer.Frame(0, [0x28])], "close 1007" },
        { "truncated code point at the end", WsPeer.Frame(1, [0x61, 0xE2, 0x82]), "close 1007" },
        { "close code 999", WsPeer.Close(999), "close 1002" },
        { "close code 1005", WsPeer.Close(1005), "close 1002" },
        { "close code 1006", WsPeer.Close(1006), "close 1002" },
        { "close code 1015", WsPeer.Close(1015), "close 1002" },
        { "close code 2999", WsPeer.Close(2999), "close 1002" },
        { "close payload of 1 byte", WsPeer.Frame(8, [3]), "close 1002" },
        { "reserved opcode", WsPeer.Frame(3, []), "close 1002" },
        { "fragmented ping", WsPeer.Frame(9, [], fin: false), "close 1002" },
        { "continuation without a start", WsPeer.Frame(0, [1]), "close 1002" },
        { "RSV1 set", [0xC1, 0x80, 0, 0, 0, 0], "close 1002" },
    };

    [Theory]
    [MemberData(nameof(ProtocolErrors))]
    public void Receive_ProtocolViolation_ClosesWithItsCode(string what, byte[] frame, string expected)
    {
        List<string> frames = AioTest.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            WsPeer peer = await WsPeer.OpenAsync(client);
            peer.Send(frame);
            return await peer.ReadAllAsync();
        });
        Assert.True(frames.Count == 1 && frames[0].StartsWith(expected, StringComparison.Ordinal), $"{what}: {string.Join(" | ", frames)}");
    }

    [Fact]
    public void Receive_CodePointSplitAcrossFragments_IsValid() => AioTest.Run(async () =>
    {
        await using var client = new TestClient(EchoApp());
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Send([.. WsPeer.Frame(1, [0x61, 0xE2], fin: false), .. WsPeer.Frame(0, [0x82], fin: false), .. WsPeer.Frame(0, [0xAC])]);
        Assert.Equal("text a€", await peer.ReadFrameAsync());
    });

    [Fact]
    public void SendTextAsync_Utf8Bytes_SentAsTheSameTextMessage() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            await foreach (WebSocketMessage m in ws)
            {
                await ws.SendTextAsync(m.Data);                 // relayed as UTF-8, no string made
                await ws.SendTextAsync("é€𝄞"u8.ToArray().AsMemory(2));
            }
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Send([.. WsPeer.Text("Hel", fin: false), .. WsPeer.Frame(0, "lo é€𝄞"u8.ToArray())]);
        List<string> frames = [await peer.ReadFrameAsync(), await peer.ReadFrameAsync()];
        peer.Send(WsPeer.Close(1000));
        frames.AddRange(await peer.ReadAllAsync());
        Assert.Equal(["text Hello é€𝄞", "text €𝄞", "close 1000"], frames);
    });

    [Fact]
    public void SendTextAsync_InvalidUtf8_ThrowsAndSendsNothing() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            foreach (byte[] bad in new byte[][] { [0x61, 0xC3], [0xED, 0xA0, 0x80], [0xFF] })
            {
                try
                {
                    await ws.SendTextAsync(bad.AsMemory());
                }
                catch (ArgumentException e)
                {
                    events.Add(e.Message);
                }
            }
            await ws.SendTextAsync("after"u8.ToArray().AsMemory());
            await ws.ReceiveAsync();
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        string first = await peer.ReadFrameAsync();
        peer.Send(WsPeer.Close(1000));
        await peer.ReadAllAsync();
        Assert.Equal("text after", first);
        Assert.Equal([2, 3, 1], events.Select(m => int.Parse(m.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("The 2 bytes given to SendTextAsync on <AioWebSocket 127.0.0.1:50000 /ws Open> are not valid UTF-8, and a text message must be " +
            "(RFC 6455 §8.1); nothing was sent. Send them with SendBytesAsync as a binary message, or fix the encoding. (Parameter 'utf8')", events[0]);
    });

    [Fact]
    public void Text_ReadTwice_DecodedOnce() => AioTest.Run(async () =>
    {
        var texts = new List<string>();
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            WebSocketMessage m = await ws.ReceiveAsync();
            texts.Add(m.Text);
            texts.Add(m.Text);
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Send(WsPeer.Text("once"));
        await peer.ReadAllAsync();
        Assert.Equal(["once", "once"], texts);
        Assert.Same(texts[0], texts[1]);
    });

    [Fact]
    public void Close_FromTheClient_HandlerSeesItAndTheServerAnswers() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        await using var client = new TestClient(EchoApp(events));
        WsPeer peer = await WsPeer.OpenAsync(client);
        peer.Send(WsPeer.Close(4000, "done here"));
        List<string> frames = await peer.ReadAllAsync();
        await Sleep(0.1);
        Assert.Equal(["close 4000"], frames);     // the answer echoes the code
        Assert.Equal(["handler saw close 4000 done here"], events);
        Assert.Equal(0, client.ActiveConnections);
    });

    [Fact]
    public void Close_FromTheServer_WaitsForTheClientsAnswer() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            await ws.SendTextAsync("bye soon");
            await ws.CloseAsync(WebSocketCloseStatus.PolicyViolation, "go away");
            events.Add($"closed at {EventLoop.GetRunningLoop().Time():0} {ws.State} {ws.CloseStatus}");
        });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        events.Add(await peer.ReadFrameAsync());
        events.Add(await peer.ReadFrameAsync());
        await Sleep(3);
        peer.Send(WsPeer.Close(1008));
        events.AddRange(await peer.ReadAllAsync());
        Assert.Equal(["text bye soon", "close 1008 go away", "closed at 3 Closed PolicyViolation"], events);
    });

    [Fact]
    public void Close_ClientNeverAnswers_DroppedAfterTheCloseTimeout() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.WebSocket("/ws", async (ws, req) =>
        {
            await ws.CloseAsync();
            events.Add($"closed at {EventLoop.GetRunningLoop().Time():0} {ws.State}");
        }, new AioWebSocketOptions { CloseTimeout = TimeSpan.FromSeconds(4) });
        await using var client = new TestClient(app);
        WsPeer peer = await WsPeer.OpenAsync(client);
        events.AddRange(await peer.ReadAllAsync());
        Assert.Equal(["closed at 4 Aborted", "close 1000"], events);    // the frames are read once the connection closed
    });
}
