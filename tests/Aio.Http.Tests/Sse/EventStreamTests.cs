using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Sse;

/// <summary>Server-sent events over the in-memory transport, in virtual time.</summary>
public class EventStreamTests
{
    private const string Get = "GET /events HTTP/1.1\r\nHost: a\r\n";

    /// <summary>The chunked body as the client would see it (chunk sizes removed).</summary>
    private static string Body(string raw)
    {
        int start = raw.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
        var sb = new System.Text.StringBuilder();
        int pos = start;
        while (pos < raw.Length)
        {
            int eol = raw.IndexOf("\r\n", pos, StringComparison.Ordinal);
            if (eol < 0)
            {
                break;
            }
            int size = Convert.ToInt32(raw[pos..eol], 16);
            if (size == 0)
            {
                sb.Append("<end>");
                break;
            }
            sb.Append(raw.AsSpan(eol + 2, size));
            pos = eol + 2 + size + 2;
        }
        return sb.ToString();
    }

    [Fact]
    public void SendAsync_Fields_FramedAsTheSpecSays() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            await sse.SendAsync("one");
            await sse.SendAsync("a\nb\r\nc\rd", eventName: "multi", id: "7", retry: TimeSpan.FromSeconds(3));
            await sse.SendAsync("", eventName: "empty");
            await sse.CommentAsync("note");
        }, heartbeat: TimeSpan.Zero));
        await using var client = new TestClient(app);
        TestResponse r = await client.GetAsync("/events");
        Assert.Equal(("text/event-stream; charset=utf-8", "no-cache", "no", "chunked"),
            (r.Header("Content-Type"), r.Header("Cache-Control"), r.Header("X-Accel-Buffering"), r.Header("Transfer-Encoding")));
        Assert.Equal("data: one\n\nid: 7\nevent: multi\nretry: 3000\ndata: a\ndata: b\ndata: c\ndata: d\n\nevent: empty\ndata: \n\n: note\n\n", r.Text);
    });

    [Theory]
    [InlineData("bad\nname", null, "The event name 'bad\\nname' contains a line break, which would end the field early; pass it without CR or LF. (Parameter 'eventName')")]
    [InlineData(null, "1\r2", "The event id '1\\n2' contains a line break, which would end the field early; pass it without CR or LF. (Parameter 'id')")]
    [InlineData(null, "a\0b", "The event id 'a\\0b' contains NUL, which browsers reject; use an id without it. (Parameter 'id')")]
    public void SendAsync_LineBreakInNameOrId_Throws(string? name, string? id, string expected) => AioTest.Run(async () =>
    {
        string? error = null;
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            error = (await Assert.ThrowsAsync<ArgumentException>(() => sse.SendAsync("x", name, id).AsTask())).Message;
        }, heartbeat: TimeSpan.Zero));
        await using var client = new TestClient(app);
        await client.GetAsync("/events");
        Assert.Equal(expected, error);
    });

    [Fact]
    public void LastEventId_OfTheReconnect_ReachesTheProducer() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, sse => sse.SendAsync($"resume after {sse.LastEventId ?? "nothing"}").AsTask()));
        await using var client = new TestClient(app);
        string first = (await client.GetAsync("/events")).Text;
        string again = (await client.GetAsync("/events", ("Last-Event-ID", "42"))).Text;
        Assert.Equal(("data: resume after nothing\n\n", "data: resume after 42\n\n"), (first, again));
    });

    [Fact]
    public void Heartbeat_SilentProducer_CommentEveryInterval() => AioTest.Run(async () =>
    {
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            await Sleep(12);
            await sse.SendAsync("late");
            await Sleep(4);
        }, heartbeat: TimeSpan.FromSeconds(5)));
        await using var client = new TestClient(app);
        TestConnection c = client.Connect();
        c.Send(Get + "\r\n");
        var seen = new List<string>();
        foreach (double t in new[] { 4.9, 5.1, 10.1, 12.1, 16.1 })
        {
            await Sleep(t - EventLoop.GetRunningLoop().Time());
            seen.Add($"{t}: {Body(c.Peek()).Replace("\n", "|", StringComparison.Ordinal)}");
        }
        Assert.Equal(["4.9: ", "5.1: :||", "10.1: :||:||", "12.1: :||:||data: late||", "16.1: :||:||data: late||<end>"], seen);
    });

    [Fact]
    public void Disconnect_CancelsTheProducer() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            try
            {
                for (int i = 0; ; i++)
                {
                    await sse.SendAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    await Sleep(1);
                }
            }
            catch (OperationCanceledException)
            {
                events.Add($"producer cancelled at {EventLoop.GetRunningLoop().Time():0.0} after {sse.EventsSent}");
                throw;
            }
        }));
        await using var client = new TestClient(app);
        TestConnection c = client.Connect();
        c.Send(Get + "\r\n");
        await Sleep(2.5);
        c.Abort();
        await Sleep(1);
        Assert.Equal(["producer cancelled at 2.5 after 3"], events);
    });

    [Fact]
    public void Shutdown_StopsTheProducerAndEndsTheStreamCleanly() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        var app = new Application();
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            try
            {
                while (true)
                {
                    await sse.SendAsync("tick");
                    await Sleep(1);
                }
            }
            finally
            {
                events.Add($"producer stopped, shutting down {sse.IsShuttingDown}");
            }
        }));
        var client = new TestClient(app);
        TestConnection c = client.Connect();
        c.Send(Get + "\r\n");
        await Sleep(1.5);
        await client.ShutdownAsync(30);
        events.Add($"shut down at {EventLoop.GetRunningLoop().Time():0.0}");
        string raw = await c.ReadToEndAsync();
        events.Add(Body(raw).Replace("\n", "|", StringComparison.Ordinal));
        Assert.Equal(["producer stopped, shutting down True", "shut down at 1.5", "data: tick||data: tick||<end>"], events);
    });
}
