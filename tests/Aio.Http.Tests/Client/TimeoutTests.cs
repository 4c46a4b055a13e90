using System.Net;
using System.Net.Sockets;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

/// <summary>
/// Each ClientTimeout limit, on the virtual clock: the loop jumps once the client has been idle for the foreign-wait
/// threshold. Run alone (not beside other test classes) so a loaded machine does not make a reply look like silence.
/// </summary>
[Collection(nameof(TimingCollection))]
public sealed class TimeoutTests
{
    [Fact]
    public void Total_ServerNeverAnswers_ThrowsAtTheDeadline() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) => await new AioEvent().WaitAsync());
        await using var session = new ClientSession(new() { Timeout = new() { Total = TimeSpan.FromSeconds(7) } });
        double start = HttpTestLoop.Now;
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => session.GetAsync(server.Url("/stall")));
        Assert.Equal((ClientTimeoutKind.Total, 7.0, 0, 0), (e.Kind, HttpTestLoop.Now - start, session.OpenConnections, session.ActiveRequests));
        Assert.Equal($"GET {server.Url("/stall")} timed out waiting for the response headers: the total limit of 7 s passed; " +
            "the request was aborted and its connection closed. Raise ClientTimeout.Total if the server is just slow.", e.Message);
    }, foreignWaitThreshold: 2);   // the deadline only once the request is surely on the wire (a connect still under way would stay pooled)

    [Fact]
    public void Total_CoversTheBodyToo() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, "Content-Length: 100");
            for (int i = 0; i < 100; i++)
            {
                w.Write(new byte[1]);
                await Sleep(1);                               // a steady trickle: never idle long, but slow in total
            }
        });
        // Each 1 s step of the trickle is a jump of the clock, and each jump costs the foreign-wait threshold of real time.
        await using var session = new ClientSession(new() { Timeout = new() { Total = TimeSpan.FromSeconds(3.5), Read = TimeSpan.FromSeconds(2) } });
        double start = HttpTestLoop.Now;
        await using ClientResponse response = await session.GetAsync(server.Url("/slow"));
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => response.ReadAllBytesAsync());
        Assert.Equal((ClientTimeoutKind.Total, 3.5, 0), (e.Kind, HttpTestLoop.Now - start, session.ActiveRequests));
    });

    [Fact]
    public void Read_IdleBetweenChunks_ThrowsAfterTheIdleLimitButNotBefore() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, "Content-Length: 100");
            for (int i = 0; i < 3; i++)
            {
                await Sleep(2);                               // gaps of 2 s under a 3 s idle limit: fine, 6 s in all
                w.Write(new byte[1]);
            }
            await new AioEvent().WaitAsync();                 // then silence
        });
        await using var session = new ClientSession(new()
        {
            Timeout = new() { Read = TimeSpan.FromSeconds(3) },
            Trace = e => { if (e.Kind == ClientTraceEventKind.Chunk) events.Add($"chunk at {e.Elapsed}"); },
        });
        await using ClientResponse response = await session.GetAsync(server.Url("/trickle"));
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => response.ReadAllBytesAsync());
        events.Add($"{e.Kind} at {HttpTestLoop.Now}, active {session.ActiveRequests}, open {session.OpenConnections}");
        Assert.Equal(["chunk at 2", "chunk at 4", "chunk at 6", "Read at 9, active 0, open 0"], events);
    }, foreignWaitThreshold: 1.5);

    [Fact]
    public void Read_WaitingForHeaders_Throws() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) => await new AioEvent().WaitAsync());
        await using var session = new ClientSession(new() { Timeout = new() { Read = TimeSpan.FromSeconds(4), Total = TimeSpan.FromSeconds(60) } });
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => session.GetAsync(server.Url("/stall")));
        Assert.Equal((ClientTimeoutKind.Read, 4.0), (e.Kind, HttpTestLoop.Now));
    });

    [Fact]
    public void Connect_WaitingInThePerHostQueue_Throws() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync(async (r, w) => await new AioEvent().WaitAsync());
        await using var session = new ClientSession(new() { LimitPerHost = 1, Timeout = ClientTimeout.None });
        AioTask first = CreateTask(async () => await session.GetAsync(server.Url("/holds-the-place")));
        while (session.ActiveRequests == 0)
        {
            await Sleep(0);
        }
        ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() =>
            session.GetAsync(server.Url("/queued"), new() { Timeout = new() { Connect = TimeSpan.FromSeconds(2) } }));
        Assert.Equal((ClientTimeoutKind.Connect, 2.0, 0), (e.Kind, HttpTestLoop.Now, session.QueuedRequests));
        Assert.Contains("waiting for a free place in the connection queue", e.Message, StringComparison.Ordinal);
        first.Cancel();
        await Wait([first]);
    });

    [Fact]
    public void SocketConnect_PeerNeverAccepts_ThrowsAtTheLimit() => HttpTestLoop.Run(async () =>
    {
        // A listener with a full accept queue drops further SYNs: the connect hangs until the limit.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                s.Connect(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
                // in progress: fills the queue all the same
            }
            fillers.Add(s);
        }
        try
        {
            await using var session = new ClientSession(new() { Timeout = new() { SocketConnect = TimeSpan.FromSeconds(3) } });
            double start = HttpTestLoop.Now;
            ClientTimeoutException e = await Assert.ThrowsAsync<ClientTimeoutException>(() => session.GetAsync($"http://127.0.0.1:{port}/"));
            Assert.Equal((ClientTimeoutKind.SocketConnect, 3.0, 0), (e.Kind, HttpTestLoop.Now - start, session.OpenConnections));
            Assert.StartsWith($"Connecting to 127.0.0.1:{port} took longer than the socket-connect limit of 3 s", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            fillers.ForEach(s => s.Dispose());
        }
    });
}

[CollectionDefinition(nameof(TimingCollection), DisableParallelization = true)]
public sealed class TimingCollection;
