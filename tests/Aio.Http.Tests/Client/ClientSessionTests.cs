using System.Net;
using System.Text;
using static Aio.Http.Tests.Client.RawHttpServer;

namespace Aio.Http.Tests.Client;

public sealed class ClientSessionTests
{
    private static readonly ClientSessionOptions NoTimeouts = new() { Timeout = ClientTimeout.None };

    [Fact]
    public void GetAsync_SimpleResponse_GivesStatusHeadersAndText() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, $"hello {r.Target}", "Content-Type: text/plain; charset=utf-8", "X-Test: 1"));
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/a?b=1"), new() { Query = [new("q", "x y"), new("flag", null)] });
        Assert.Equal((200, "OK", "text/plain", "1"), (response.Status, response.Reason, response.ContentType, response.GetHeader("X-Test")));
        Assert.Equal("hello /a?b=1&q=x%20y&flag", await response.TextAsync());
        Assert.True(response.IsReleased);
        Assert.Equal(0, session.ActiveRequests);
    });

    [Fact]
    public void RequestAsync_BaseAddressAndHeaders_SendsThem() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, "ok"));
        await using var session = new ClientSession(NoTimeouts with
        {
            BaseAddress = new Uri(server.Url("/api/")),
            Headers = new Dictionary<string, string> { ["X-Default"] = "d", ["X-Both"] = "session" },
        });
        await using ClientResponse response = await session.DeleteAsync("items/7", new() { Headers = [new("X-Both", "request")] });
        RawRequest seen = server.Requests.Single();
        Assert.Equal(("DELETE", "/api/items/7", "d", "request"), (seen.Method, seen.Target, seen.Header("x-default"), seen.Header("x-both")));
    });

    [Fact]
    public void PostJsonAsync_RoundTrip_SendsJsonAndParsesTheAnswer() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) =>
            RespondAsync(w, 200, Encoding.UTF8.GetString(r.Body).Replace("\"n\":1", "\"n\":2", StringComparison.Ordinal), "Content-Type: application/json"));
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.PostJsonAsync(server.Url("/echo"), new Item("x", 1));
        Assert.Equal(new Item("x", 2), await response.JsonAsync<Item>());
        Assert.Equal("application/json; charset=utf-8", server.Requests[0].Header("content-type"));
    });

    public sealed record Item(string Name, int N);

    [Fact]
    public void PostFormAsync_Form_SendsUrlEncodedBody() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, Encoding.UTF8.GetString(r.Body)));
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.PostFormAsync(server.Url("/f"), [new("a", "1 2"), new("b", "&")]);
        Assert.Equal("a=1+2&b=%26", await response.TextAsync());
        Assert.Equal("application/x-www-form-urlencoded", server.Requests[0].Header("content-type"));
    });

    [Fact]
    public void RaiseForStatus_ErrorStatus_ThrowsWithStatusAndUrl() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 404, "nope"));
        await using var session = new ClientSession(NoTimeouts with { RaiseForStatus = true });
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => session.GetAsync(server.Url("/missing")));
        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.StartsWith($"GET {server.Url("/missing")} answered 404 Not Found", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, session.ActiveRequests);
        await using ClientResponse ok = await session.GetAsync(server.Url("/missing"), new() { RaiseForStatus = false });
        Assert.Equal((404, false), (ok.Status, ok.Ok));
    });

    [Fact]
    public void ReadLinesAsync_StreamedLines_ComeAsTheyArrive() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        var lineRead = new AioSemaphore(0);
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            WriteHead(w, 200, "Transfer-Encoding: chunked", "Content-Type: text/plain");
            string[] parts = ["one\ntw", "o\r\n", "three"];
            for (int i = 0; i < parts.Length; i++)
            {
                w.Write(Encoding.ASCII.GetBytes($"{parts[i].Length:x}\r\n{parts[i]}\r\n"));
                await w.DrainAsync();
                events.Add($"sent {i}");
                if (i < parts.Length - 1)
                {
                    await lineRead.AcquireAsync();     // the next part only once the client has seen a line
                }
            }
            w.Write("0\r\n\r\n"u8);
            await w.DrainAsync();
        });
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/lines"));
        await foreach (string line in response.ReadLinesAsync())
        {
            events.Add($"line {line}");
            lineRead.Release();
        }
        Assert.Equal(["sent 0", "line one", "sent 1", "line two", "sent 2", "line three"], events);
    });

    [Fact]
    public void ReadAsync_AfterTextAsync_ThrowsBodyConsumed() => HttpTestLoop.Run(async () =>
    {
        await using RawHttpServer server = await StartAsync((r, w) => RespondAsync(w, 200, "abc"));
        await using var session = new ClientSession(NoTimeouts);
        await using ClientResponse response = await session.GetAsync(server.Url("/"));
        Assert.Equal("abc", await response.TextAsync());
        Assert.Equal(0, await response.ReadAsync(new byte[10]));
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => response.TextAsync());
        Assert.Contains("already read", e.Message, StringComparison.Ordinal);
    });

    [Fact]
    public void GetAsync_RelativeUrlWithoutBaseAddress_Throws() => HttpTestLoop.Run(async () =>
    {
        await using var session = new ClientSession(NoTimeouts);
        ArgumentException e = await Assert.ThrowsAsync<ArgumentException>(() => session.GetAsync("/x"));
        Assert.Contains("no BaseAddress", e.Message, StringComparison.Ordinal);
    });

    [Fact]
    public void GetAsync_AfterDispose_Throws() => HttpTestLoop.Run(async () =>
    {
        var session = new ClientSession(NoTimeouts);
        await session.DisposeAsync();
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => session.GetAsync("http://127.0.0.1:1/"));
        Assert.Equal("ClientSession.RequestAsync was called after the session was disposed; create a new ClientSession.", e.Message);
        Assert.Equal("<ClientSession closed active=0 queued=0 connections=0>", session.ToString());
    });

    [Fact]
    public void GetAsync_FromAnotherThread_Throws() => HttpTestLoop.Run(async () =>
    {
        await using var session = new ClientSession(NoTimeouts);
        Exception e = await Assert.ThrowsAnyAsync<Exception>(() => Task.Run(() => session.GetAsync("http://127.0.0.1:1/")));
        Assert.StartsWith("ClientSession.RequestAsync was called outside the thread of", e.Message, StringComparison.Ordinal);
    });

    [Fact]
    public void Trace_Request_ReportsEachStep() => HttpTestLoop.Run(async () =>
    {
        var events = new List<string>();
        await using RawHttpServer server = await StartAsync(async (r, w) =>
        {
            if (r.Target == "/old")
            {
                await RespondAsync(w, 302, "", "Location: /new");
                return;
            }
            await RespondAsync(w, 200, "12345");
        });
        await using var session = new ClientSession(NoTimeouts with
        {
            Trace = e => events.Add($"{e.Kind} {e.Method} {e.Url.AbsolutePath} {e.Status} {e.Bytes}{(e.RedirectTo is null ? "" : " -> " + e.RedirectTo.AbsolutePath)}"),
        });
        await using ClientResponse response = await session.GetAsync(server.Url("/old"));
        await response.TextAsync();
        Assert.Equal(["RequestStart GET /old 0 0", "Redirect GET /old 302 0 -> /new", "Headers GET /new 200 0", "Chunk GET /new 200 5", "End GET /new 200 5"], events);
        Assert.Equal([302], response.History.Select(h => h.Status));
    });
}
