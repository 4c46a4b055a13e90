using System.Text;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>Item 2: every limit, checked as bytes arrive; the timers in virtual time.</summary>
public class LimitTests
{
    private static string Run(string request, Action<HttpLimits> limits) => ExchangeAllSplits(() => EchoApp(), request, limits: limits);

    [Fact]
    public void RequestLine_OverLimit_414() =>
        Assert.Equal([414], Statuses(Run("GET /" + new string('a', 40) + " HTTP/1.1\r\nHost: a\r\n\r\n", l => l.MaxRequestLineSize = 40)));

    [Fact]
    public void RequestLine_AtLimit_Served() =>
        Assert.Equal([404], Statuses(Run("GET /" + new string('a', 40 - 15) + " HTTP/1.1\r\nHost: a\r\n\r\n", l => l.MaxRequestLineSize = 40)));

    [Fact]
    public void HeaderSection_OverLimit_431() =>
        Assert.Equal([431], Statuses(Run("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('b', 60) + "\r\n\r\n", l => l.MaxRequestHeadersTotalSize = 64)));

    [Fact]
    public void HeaderSection_AtLimit_Served() =>
        Assert.Equal([200], Statuses(Run("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('b', 64 - 9 - 7 - 2) + "\r\n\r\n", l => l.MaxRequestHeadersTotalSize = 64)));

    [Fact]
    public void HeaderCount_OverLimit_431() =>
        Assert.Equal([431], Statuses(Run("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", l => l.MaxRequestHeaderCount = 3)));

    [Fact]
    public void HeaderCount_AtLimit_Served() =>
        Assert.Equal([200], Statuses(Run("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", l => l.MaxRequestHeaderCount = 3)));

    [Fact]
    public void DeclaredBody_OverLimit_413BeforeHandler() =>
        Assert.Equal([413], Statuses(Run("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", l => l.MaxRequestBodySize = 10)));

    [Fact]
    public void ChunkedBody_OverLimit_413() =>
        Assert.Equal([413], Statuses(Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n", l => l.MaxRequestBodySize = 10)));

    [Fact]
    public void ChunkedBody_AtLimit_Served() =>
        Assert.EndsWith("body=helloworld", Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", l => l.MaxRequestBodySize = 10), StringComparison.Ordinal);

    [Fact]
    public void ChunkExtension_OverLimit_400() =>
        Assert.Equal([400], Statuses(Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;" + new string('e', 20) + "\r\nhello\r\n0\r\n\r\n", l => l.MaxChunkExtensionSize = 16)));

    [Fact]
    public void Trailers_OverCount_431() =>
        Assert.Equal([431], Statuses(Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\n\r\n", l => l.MaxRequestHeaderCount = 1)));

    [Fact]
    public void PerRequestBodyLimit_RaisedByHandler_Served()
    {
        string answer = ExchangeAllSplits(() => EchoApp(app => app.Router.Post("/upload", async req =>
        {
            req.MaxBodySize = 100;
            return Response.Text((await req.ReadBodyAsync()).Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        })), "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n" + new string('x', 20) + "\r\n0\r\n\r\n", limits: l => l.MaxRequestBodySize = 10);
        Assert.EndsWith("\r\n\r\n20", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void RequestLine_DribbledOneByteAtATime_RejectedOnceOverLimit()
    {
        // The line never ends: the answer must come once the limit is passed, not at a CRLF.
        (string answer, int sent) = TestLoop.Run(async () =>
        {
            var app = EchoApp();
            app.Limits.MaxRequestLineSize = 32;
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            int sent = 0;
            while (!c.IsClosed && sent < 1000)
            {
                c.Send("a");
                sent++;
                await Sleep(0.01);
            }
            return (Normalize(await c.ReadToEndAsync()), sent);
        });
        Assert.Equal([414], Statuses(answer));
        Assert.Equal(34, sent);
    }

    [Fact]
    public void HeaderSection_DribbledWithoutEnd_RejectedOnceOverLimit()
    {
        (string answer, int sent) = TestLoop.Run(async () =>
        {
            var app = EchoApp();
            app.Limits.MaxRequestHeadersTotalSize = 100;
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            c.Send("GET / HTTP/1.1\r\n");
            int sent = 0;
            while (!c.IsClosed && sent < 1000)
            {
                c.Send("X: 1\r\n");
                sent++;
                await Sleep(0.01);
            }
            return (Normalize(await c.ReadToEndAsync()), sent);
        });
        Assert.Equal([431], Statuses(answer));
        Assert.Equal(17, sent);
    }

    [Fact]
    public void RequestHeadersTimeout_PartialHead_408After30s()
    {
        (string answer, double elapsed) = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            double start = EventLoop.GetRunningLoop().Time();
            c.Send("GET / HTTP/1.1\r\nHo");
            string answer = Normalize(await c.ReadToEndAsync());
            return (answer, EventLoop.GetRunningLoop().Time() - start);
        });
        Assert.Equal([408], Statuses(answer));
        Assert.InRange(elapsed, 30, 31.01);
    }

    [Fact]
    public void RequestHeadersTimeout_DribbledHead_408EvenThoughBytesKeepComing()
    {
        (string answer, double elapsed) = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            double start = EventLoop.GetRunningLoop().Time();
            c.Send("GET / HTTP/1.1\r\n");
            for (int i = 0; i < 100 && !c.IsClosed; i++)
            {
                c.Send($"X{i}: y\r\n");
                await Sleep(1);
            }
            string answer = Normalize(await c.ReadToEndAsync());
            return (answer, EventLoop.GetRunningLoop().Time() - start);
        });
        Assert.Equal([408], Statuses(answer));
        Assert.InRange(elapsed, 30, 32);
    }

    [Fact]
    public void KeepAliveTimeout_IdleConnection_ClosedAfter130sWithoutResponse()
    {
        (string answer, double elapsed) = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            c.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            await c.ReadResponseAsync();
            double start = EventLoop.GetRunningLoop().Time();
            string rest = await c.ReadToEndAsync();
            return (rest, EventLoop.GetRunningLoop().Time() - start);
        });
        Assert.Equal("", answer);
        Assert.InRange(elapsed, 129, 131.01);
    }

    [Fact]
    public void MinBodyDataRate_SlowBody_408AfterGrace()
    {
        (string answer, double elapsed) = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            double start = EventLoop.GetRunningLoop().Time();
            c.Send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n");
            for (int i = 0; i < 100 && !c.IsClosed; i++)
            {
                c.Send(new string('x', 100));   // 100 B/s: under 240 B/s
                await Sleep(1);
            }
            string answer = Normalize(await c.ReadToEndAsync());
            return (answer, EventLoop.GetRunningLoop().Time() - start);
        });
        Assert.Equal([408], Statuses(answer));
        Assert.InRange(elapsed, 5, 7.01);
    }

    [Fact]
    public void MinBodyDataRate_FastEnoughBody_Served()
    {
        string answer = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            c.Send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3000\r\n\r\n");
            for (int i = 0; i < 10; i++)
            {
                c.Send(new string('x', 300));   // 300 B/s for 10 s
                await Sleep(1);
            }
            return Normalize((await c.ReadResponseAsync()).Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
        });
        Assert.Equal("200", answer);
    }

    [Fact]
    public void MaxConcurrentConnections_Exceeded_ExtraConnectionClosed()
    {
        List<bool> closed = TestLoop.Run(async () =>
        {
            var app = EchoApp();
            app.Limits.MaxConcurrentConnections = 2;
            await using var client = new TestClient(app);
            TestConnection a = client.Connect();
            TestConnection b = client.Connect();
            TestConnection c = client.Connect();
            await Sleep(0.1);
            return new List<bool> { a.IsClosed, b.IsClosed, c.IsClosed };
        });
        Assert.Equal([false, false, true], closed);
    }

    [Fact]
    public void PipelinedFlood_WhileHandlerBlocks_ReadingPausesAndMemoryStaysBounded()
    {
        (int statuses, long pending) = TestLoop.Run(async () =>
        {
            var gate = new AioEvent();
            var app = EchoApp(a => a.Router.Get("/slow", async _ => { await gate.WaitAsync(); return Response.Text("slow"); }));
            await using var client = new TestClient(app);
            TestConnection c = client.Connect();
            c.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            byte[] one = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            for (int i = 0; i < 5_000; i++)
            {
                c.Send(one);
            }
            await Sleep(1);
            long pending = c.PendingBytes;   // what the server left unread while the handler blocked
            gate.Set();
            int n = 0;
            while (n < 5_001)
            {
                await c.ReadResponseAsync();
                n++;
            }
            return (n, pending);
        });
        Assert.Equal(5_001, statuses);
        // 5,000 × 27 bytes (twice the 64 KiB buffer) were sent; the server filled at most its buffer and paused reading.
        Assert.InRange(pending, (5_000 * 27) - (64 * 1024), 5_000 * 27);
    }
}

/// <summary>A client that pipelines requests but does not read the answers cannot make the server buffer them without bound.</summary>
public class PipelineBackPressureTests
{
    [Fact]
    public void PipelinedRequests_ClientNotReading_ServerStopsServingUntilItReads()
    {
        (long pendingWhileNotReading, int answered) = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(Harness.EchoApp());
            TestConnection c = client.Connect();
            c.PauseReading();
            byte[] one = System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            for (int i = 0; i < 5_000; i++)
            {
                c.Send(one);
            }
            await Sleep(1);
            long pending = c.PendingBytes;
            c.ResumeReading();
            int n = 0;
            while (n < 5_000)
            {
                await c.ReadResponseAsync();
                n++;
            }
            return (pending, n);
        });
        // Each answer is ~110 bytes: past 64 KiB of unread answers (~600 requests) the server stops reading requests;
        // at most its 64 KiB receive buffer more were taken.
        Assert.InRange(pendingWhileNotReading, (5_000 * 27) - (600 * 27) - (64 * 1024), (5_000 * 27) - (500 * 27));
        Assert.Equal(5_000, answered);
    }
}
