using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>Item 1: the parser and the connection, every request also split at every byte offset.</summary>
public class ParserTests
{
    private const string Hello = "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!";

    private static string Run(string request, Action<HttpLimits>? limits = null) => ExchangeAllSplits(() => EchoApp(), request, limits: limits);

    private static void AssertRejected(string request, int status)
    {
        string answer = Run(request);
        Assert.Equal([status], Statuses(answer));
        Assert.Contains("Connection: close\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_Simple_AnswersHello() =>
        Assert.Equal(Hello, Run("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));

    [Fact]
    public void Pipelining_ThreeRequests_AnsweredInOrder()
    {
        string answer = Run("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /host HTTP/1.1\r\nHost: b\r\n\r\n");
        Assert.Equal(Hello +
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 26\r\n\r\nPOST /echo host=a body=abc" +
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n\r\nb", answer);
    }

    [Fact]
    public void Http10_WithoutKeepAlive_ClosesAfterResponse() =>
        Assert.Equal("HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!",
            Run("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n"));

    [Fact]
    public void Http10_KeepAlive_ServesTheNextRequest() =>
        Assert.Equal([200, 200], Statuses(Run("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")));

    [Fact]
    public void Head_OfGetRoute_HeadersWithoutBody() =>
        Assert.Equal("HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\n" + Hello,
            Run("HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));

    [Fact]
    public void Chunked_WithExtensionsAndTrailers_BodyDecoded() =>
        Assert.EndsWith("POST /echo host=a body=hello world",
            Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"), StringComparison.Ordinal);

    [Fact]
    public void AbsoluteForm_AuthorityWinsOverHost() =>
        Assert.EndsWith("\r\n\r\nexample.com:81", Run("GET http://example.com:81/host HTTP/1.1\r\nHost: other\r\n\r\n"), StringComparison.Ordinal);

    [Fact]
    public void OptionsAsterisk_AnswersAllow()
    {
        string answer = Run("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", answer, StringComparison.Ordinal);
        Assert.Contains("Allow: GET, HEAD, POST", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void LeadingEmptyLine_IsIgnored() => Assert.Equal(Hello, Run("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));

    [Fact]
    public void UnreadBody_IsDrained_NotParsedAsRequest() =>
        Assert.Equal([200, 200], Statuses(Run("POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 18\r\n\r\nGET /evil HTTP/1.1GET / HTTP/1.1\r\nHost: a\r\n\r\n")));

    [Fact]
    public void UnreadChunkedBody_IsDrained_NotParsedAsRequest() =>
        Assert.Equal([200, 200], Statuses(Run("POST /ignore HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nGET \r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")));

    [Fact]
    public void UnreadBodyOverDrainLimit_ClosesConnection()
    {
        string answer = Run("POST /ignore HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + new string('x', 100) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", l => l.MaxDrainSize = 10);
        Assert.Equal([200], Statuses(answer));
        Assert.Contains("Connection: close", answer, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\nabc", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501)]
    [InlineData("POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\rHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n  folded\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHo\u0001st: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: b\u0000c\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: b\u007fc\r\n\r\n", 400)]
    [InlineData("GET /a\u0001b HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET /a\u007fb HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400)]
    [InlineData("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505)]
    [InlineData("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET / http/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400)]
    [InlineData("GET /\r\n\r\n", 400)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", 417)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", 400)]
    public void Head_Malformed_RejectedAndClosed(string request, int status) => AssertRejected(request, status);

    [Theory]
    [InlineData("0x5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("+5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("-5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("\r\nhello\r\n0\r\n\r\n")]
    [InlineData("10000000000000000\r\nhello\r\n0\r\n\r\n")]
    [InlineData("FFFFFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n")]
    [InlineData("5\nhello\r\n0\r\n\r\n")]
    [InlineData("5\rhello\r\n0\r\n\r\n")]
    [InlineData("5\r\nhelloXX0\r\n\r\n")]
    [InlineData("5\r\nhello\n0\r\n\r\n")]
    [InlineData("5;a\u0001b\r\nhello\r\n0\r\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\nX : y\r\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\n folded\r\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\nX: y\n\r\n")]
    [InlineData("5\r\nhello\r\n0\r\n\n")]
    public void ChunkedBody_Malformed_400AndClosed(string body)
    {
        string answer = Run("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal([400], Statuses(answer));
        Assert.Contains("Connection: close\r\n", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void ExpectContinue_HandlerReads_100ThenResponse()
    {
        var events = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            c.Send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
            TestResponse interim = await c.ReadResponseAsync();
            c.Send("abc");
            TestResponse final = await c.ReadResponseAsync();
            return new List<string> { $"{interim.Status}", $"{final.Status} {final.Text}" };
        });
        Assert.Equal(["100", "200 POST /echo host=a body=abc"], events);
    }

    [Fact]
    public void ExpectContinue_BodyArrivedWithHead_No100()
    {
        string answer = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            return await ExchangeAsync(client, [System.Text.Encoding.Latin1.GetBytes("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc")]);
        });
        Assert.Equal([200], Statuses(answer));
    }

    [Fact]
    public void ExpectContinue_HandlerDoesNotRead_No100AndClosed()
    {
        string answer = TestLoop.Run(async () =>
        {
            await using var client = new TestClient(EchoApp());
            TestConnection c = client.Connect();
            c.Send("POST /ignore HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
            return Normalize(await c.ReadToEndAsync());
        });
        Assert.Equal("HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 7\r\nConnection: close\r\n\r\nignored", answer);
    }

    [Fact]
    public void ExpectContinue_DeclaredLengthOverLimit_413Without100()
    {
        string answer = Run("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n", l => l.MaxRequestBodySize = 100);
        Assert.StartsWith("HTTP/1.1 413 Content Too Large\r\n", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("100 Continue", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void Headers_RepeatedFields_KeptInOrderCaseInsensitive()
    {
        string answer = ExchangeAllSplits(() => EchoApp(app => app.Router.Get("/h", req =>
            Response.Text(string.Join("|", req.Headers.GetAll("x-a")) + ";" + req.Headers["X-B"] + ";" + req.Headers.Count))),
            "GET /h HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-b:  two  \r\nX-a: 3\r\n\r\n");
        Assert.EndsWith("\r\n\r\n1|3;two;4", answer, StringComparison.Ordinal);
    }
}
