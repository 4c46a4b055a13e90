using System.Text;
using Aio.Http.Testing;
using Aio.TestUtilities;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>
/// A client that sends its requests and then shuts down its sending side (a half-close, e.g. <c>nc -N</c> or
/// <c>shutdown(SHUT_WR)</c>) still gets an answer to every complete request it sent, in order; the server closes after
/// the last one.
/// </summary>
public class HalfCloseTests
{
    private static string Exchange(string request) => TestLoop.Run(async () =>
    {
        await using var client = new TestClient(EchoApp());
        TestConnection c = client.Connect();
        c.Send(Encoding.Latin1.GetBytes(request));
        c.ShutdownWrite();
        string answer = Normalize(await c.ReadToEndAsync());
        Assert.True(c.IsClosed, "The server closes the connection after the last answer.");
        return answer;
    });

    [Fact]
    public void OneRequest_ThenHalfClose_AnsweredThenClosed()
    {
        // Whether the answer still says Connection: close depends on whether it was written before the FIN arrived.
        string answer = Exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal([200], Statuses(answer));
        Assert.EndsWith("\r\n\r\nHello, World!", answer, StringComparison.Ordinal);
    }

    [Fact]
    public void PipelinedRequests_ThenHalfClose_EveryOneAnsweredInOrder()
    {
        string answer = Exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /host HTTP/1.1\r\nHost: b\r\n\r\n");
        Assert.Equal(
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!" +
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 26\r\n\r\nPOST /echo host=a body=abc" +
            "HTTP/1.1 200 OK\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\nConnection: close\r\n\r\nb", answer);
    }

    [Fact]
    public void PipelinedChunkedRequest_ThenHalfClose_NextRequestStillAnswered() =>
        Assert.Equal([200, 200], Statuses(Exchange(
            "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")));

    [Fact]
    public void CompleteRequestsThenHalfARequest_ThenHalfClose_CompleteOnesAnsweredPartialOneDropped() =>
        Assert.Equal([200, 200], Statuses(Exchange("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHo")));

    [Fact]
    public void BodyCutShortByHalfClose_Answers400AndCloses() =>
        Assert.Equal([400], Statuses(Exchange("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")));
}
