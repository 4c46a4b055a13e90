using Aio;
using Aio.Http;
using Aio.Http.Testing;
using static Aio.Asyncio;

namespace Aio.Examples.Guides;

/// <summary>docs/sse.md: an event stream that resumes from Last-Event-ID, with heartbeats, in virtual time.</summary>
public static class ServerSentEventsGuide
{
    public static void Run()
    {
        using var loop = new EventLoop(new VirtualClock());
        loop.RunUntilComplete(async () =>
        {
            var app = new Application();
            Prices(app);
            await using var client = new TestClient(app);
            TestResponse first = await client.GetAsync("/prices?count=2");
            Console.Write(first.Text);
            // A browser that reconnects sends the id of the last event it got.
            TestResponse resumed = await client.GetAsync("/prices?count=4", ("Last-Event-ID", "2"));
            Console.Write(resumed.Text);
        });
    }

    static void Prices(Application app)
    {
        app.Router.Get("/prices", req => Response.EventStream(req, async sse =>
        {
            int count = int.Parse(req.Query["count"] ?? "10", System.Globalization.CultureInfo.InvariantCulture);
            // Resume after the last event the client got (none: from the start).
            int next = int.TryParse(sse.LastEventId, out int last) ? last + 1 : 1;
            for (int i = next; i <= count; i++)
            {
                await sse.SendAsync($"{{\"tick\":{i}}}", eventName: "price", id: i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Sleep(30);   // a quiet spell: the heartbeat comment keeps proxies from closing the connection
            }
        }, heartbeat: TimeSpan.FromSeconds(20)));
    }
}
