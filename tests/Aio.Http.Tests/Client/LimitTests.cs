using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

public sealed class LimitTests
{
    [Fact]
    public void LimitPerHost_ExtraRequests_QueueFifoOnTheLoop() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        var arrived = new AioQueue<int>();
        var gates = Enumerable.Range(0, 6).Select(_ => new AioEvent()).ToArray();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            int id = int.Parse(r.Target[1..], System.Globalization.CultureInfo.InvariantCulture);
            arrived.PutNowait(id);
            await gates[id].WaitAsync();
            await RespondAsync(w, 200, $"r{id}");
        });
        await using var session = new ClientSession(new()
        {
            LimitPerHost = 2,
            Timeout = ClientTimeout.None,
            Trace = e => { if (e.Kind is ClientTraceEventKind.QueuedStart or ClientTraceEventKind.QueuedEnd) events.Add($"{e.Kind} {e.Url.AbsolutePath}"); },
        });
        AioTask<string>[] tasks = Enumerable.Range(0, 6).Select(i => CreateTask(async () =>
        {
            await using ClientResponse response = await session.GetAsync(server.Url($"/{i}"));
            return await response.TextAsync();
        })).ToArray();
        int a = await arrived.GetAsync(), b = await arrived.GetAsync();
        events.Add($"arrived {Math.Min(a, b)} and {Math.Max(a, b)}; active {session.ActiveRequests}, queued {session.QueuedRequests}");
        for (int i = 0; i < 4; i++)
        {
            gates[i].Set();                                   // one finishes: exactly the oldest waiter goes next
            events.Add($"arrived {await arrived.GetAsync()}");
        }
        gates[4].Set();
        gates[5].Set();
        Assert.Equal(["r0", "r1", "r2", "r3", "r4", "r5"], await Gather(tasks));
        Assert.Equal(
        [
            "QueuedStart /2", "QueuedStart /3", "QueuedStart /4", "QueuedStart /5", "arrived 0 and 1; active 2, queued 4",
            "QueuedEnd /2", "arrived 2", "QueuedEnd /3", "arrived 3", "QueuedEnd /4", "arrived 4", "QueuedEnd /5", "arrived 5",
        ], events);
        Assert.Equal((2L, 0, 0), (session.OpenedConnections, session.ActiveRequests, session.QueuedRequests));
    });

    [Fact]
    public void LimitPerHost_OtherHost_IsNotQueued() => HttpTestLoop.Run(async () =>
    {
        var gate = new AioEvent();
        await using RawHttpServer slow = await StartAsync(async (r, w) =>
        {
            await gate.WaitAsync();
            await RespondAsync(w, 200, "slow");
        });
        await using RawHttpServer fast = await StartAsync((r, w) => RespondAsync(w, 200, "fast"));
        await using var session = new ClientSession(new() { LimitPerHost = 1, Timeout = ClientTimeout.None });
        AioTask<string> held = CreateTask(async () =>
        {
            await using ClientResponse r = await session.GetAsync(slow.Url("/"));
            return await r.TextAsync();
        });
        while (slow.Requests.Count == 0)
        {
            await Sleep(0);
        }
        await using (ClientResponse r = await session.GetAsync(fast.Url("/")))
        {
            Assert.Equal("fast", await r.TextAsync());
        }
        gate.Set();
        Assert.Equal("slow", await held);
    });

    [Fact]
    public void Limit_Overall_QueuesAcrossHosts() => HttpTestLoop.Run(async () =>
    {
        var gate = new AioEvent();
        await using RawHttpServer one = await StartAsync(async (r, w) =>
        {
            await gate.WaitAsync();
            await RespondAsync(w, 200, "one");
        });
        await using RawHttpServer two = await StartAsync((r, w) => RespondAsync(w, 200, "two"));
        await using var session = new ClientSession(new() { Limit = 1, Timeout = ClientTimeout.None });
        AioTask<string> first = CreateTask(async () =>
        {
            await using ClientResponse r = await session.GetAsync(one.Url("/"));
            return await r.TextAsync();
        });
        AioTask<string> second = CreateTask(async () =>
        {
            await using ClientResponse r = await session.GetAsync(two.Url("/"));
            return await r.TextAsync();
        });
        while (one.Requests.Count == 0)
        {
            await Sleep(0);
        }
        await Aio.TestUtilities.TestLoop.Spin(10);
        Assert.Equal((1, 1, false), (session.ActiveRequests, session.QueuedRequests, second.Done));
        gate.Set();
        Assert.Equal(["one", "two"], await Gather(first, second));
    });

    [Fact]
    public void Response_NotReadNotDisposed_KeepsItsPlace_DisposeGivesItBack() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, "body"));
        await using var session = new ClientSession(new() { LimitPerHost = 1, Timeout = ClientTimeout.None });
        ClientResponse first = await session.GetAsync(server.Url("/1"));
        bool inTime = await MoveOnAfter(5, async () => await session.GetAsync(server.Url("/2")));
        Assert.False(inTime);                                 // the unread first response holds the only place
        await first.DisposeAsync();
        await using ClientResponse second = await session.GetAsync(server.Url("/3"));
        Assert.Equal("body", await second.TextAsync());
    });

    [Fact]
    public void Response_WithoutABody_GivesItsPlaceBackAtOnce() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => r.Target == "/empty" ? RespondAsync(w, 204, "") : RespondAsync(w, 200, "body"));
        await using var session = new ClientSession(new() { LimitPerHost = 1, Timeout = ClientTimeout.None });
        ClientResponse head = await session.HeadAsync(server.Url("/"));              // not disposed, not read
        ClientResponse empty = await session.GetAsync(server.Url("/empty"));
        Assert.Equal((true, true, 0), (head.IsReleased, empty.IsReleased, session.ActiveRequests));
        Assert.Equal("", await empty.TextAsync());
        await using ClientResponse next = await session.GetAsync(server.Url("/"));
        Assert.Equal("body", await next.TextAsync());
    });
}
