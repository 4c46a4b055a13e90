using System.Text;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

public sealed class CancellationTests
{
    private static readonly ClientSessionOptions NoTimeouts = new() { Timeout = ClientTimeout.None };

    [Fact]
    public void Cancel_WhileWaitingForHeaders_AbortsAndClosesTheConnection() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        var arrived = new AioEvent();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            arrived.Set();
            await new AioEvent().WaitAsync();              // never answers
        });
        await using var session = new ClientSession(NoTimeouts);
        AioTask task = CreateTask(async () =>
        {
            try
            {
                await session.GetAsync(server.Url("/stall"));
            }
            catch (CancelledError)
            {
                events.Add("cancelled");
                throw;
            }
        });
        await arrived.WaitAsync();
        events.Add($"open {session.OpenConnections}");
        task.Cancel();
        await Wait([task]);
        events.Add($"task cancelled {task.Cancelled}, open {session.OpenConnections}, active {session.ActiveRequests}");
        Assert.Equal(["open 1", "cancelled", "task cancelled True, open 0, active 0"], events);
    });

    [Fact]
    public void Cancel_MidBody_FreesTheConnection() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, "Content-Length: 1000");
            w.Write(new byte[10]);
            await w.DrainAsync();
            await new AioEvent().WaitAsync();              // the other 990 bytes never come
        });
        await using var session = new ClientSession(NoTimeouts);
        var gotTen = new AioEvent();
        AioTask task = CreateTask(async () =>
        {
            await using ClientResponse response = await session.GetAsync(server.Url("/body"));
            byte[] buffer = new byte[100];
            events.Add($"read {await response.ReadAsync(buffer)}");
            gotTen.Set();
            await response.ReadAsync(buffer);
        });
        await gotTen.WaitAsync();
        await TestSpin();
        events.Add($"open {session.OpenConnections}, active {session.ActiveRequests}");
        task.Cancel();
        await Wait([task]);
        events.Add($"cancelled {task.Cancelled}, open {session.OpenConnections}, active {session.ActiveRequests}");
        Assert.Equal(["read 10", "open 1, active 1", "cancelled True, open 0, active 0"], events);
    });

    [Fact]
    public void FailAfter_AroundARequest_AbortsItWithTimeoutException() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) => await new AioEvent().WaitAsync());
        await using var session = new ClientSession(NoTimeouts);
        double start = HttpTestLoop.Now;
        TimeoutException e = await Assert.ThrowsAsync<TimeoutException>(() => FailAfter(5, async () => await session.GetAsync(server.Url("/stall"))));
        Assert.IsNotType<ClientTimeoutException>(e);       // the caller's own timeout, not the session's
        Assert.Equal((5.0, 0, 0), (HttpTestLoop.Now - start, session.OpenConnections, session.ActiveRequests));
    }, foreignWaitThreshold: 2);   // the deadline only once the request is surely on the wire (a connect still under way would stay pooled)

    [Fact]
    public void Cancel_AfterCancellation_TheSessionStillWorks() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            if (r.Target == "/1")
            {
                await new AioEvent().WaitAsync();
            }
            await RespondAsync(w, 200, "second");
        });
        await using var session = new ClientSession(NoTimeouts with { LimitPerHost = 1 });
        AioTask first = CreateTask(async () => await session.GetAsync(server.Url("/1")));
        while (server.Requests.Count == 0)
        {
            await Sleep(0);                                   // the first request reached the server
        }
        first.Cancel();
        await Wait([first]);
        await using ClientResponse response = await session.GetAsync(server.Url("/2"));
        Assert.Equal("second", await response.TextAsync());
        Assert.Equal(2, server.Accepted);                  // the aborted connection was not reused
    });

    private static async Task TestSpin()
    {
        for (int i = 0; i < 5; i++)
        {
            await Sleep(0);
        }
    }
}
