using System.Net.WebSockets;
using Aio.Http.Tests.Client;

namespace Aio.Http.Tests.WebSockets;

/// <summary>The WebSocket client against Kestrel's WebSockets (real time: the server runs on its own threads).</summary>
public sealed class WebSocketClientTests(KestrelServer kestrel) : IClassFixture<KestrelServer>
{
    private string Ws(string path) => kestrel.BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + path;

    [Fact]
    public void WebSocketAsync_Echo_TextBinaryJsonThenClose() => AioTest.Run(async () =>
    {
        var events = new List<string>();
        await using var session = new ClientSession();
        await using (AioWebSocket ws = await session.WebSocketAsync(Ws("/ws/echo")))
        {
            events.Add($"{ws.State} active={session.ActiveRequests}");
            await ws.SendTextAsync("hello");
            WebSocketMessage text = await ws.ReceiveAsync();
            await ws.SendBytesAsync(new byte[] { 1, 2, 3 });
            WebSocketMessage binary = await ws.ReceiveAsync();
            await ws.SendJsonAsync(new { Name = "x", N = 2 });
            WebSocketMessage json = await ws.ReceiveAsync();
            events.Add($"{text.Kind} {text.Text}; {binary.Kind} {string.Join(",", binary.Data)}; {json.Text}");
            await ws.CloseAsync();
            events.Add($"{ws.State} {ws.CloseStatus} active={session.ActiveRequests}");
        }
        Assert.Equal(["Open active=1", "Text hello; Binary 1,2,3; {\"name\":\"x\",\"n\":2}", "Closed NormalClosure active=0"], events);
    }, virtualTime: false);

    [Fact]
    public void ReceiveAsync_PeerCloses_ReturnsCloseMessageAndAnswersIt() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync(Ws("/ws/bye"));
        var seen = new List<string>();
        await foreach (WebSocketMessage m in ws)
        {
            seen.Add(m.Text);
        }
        WebSocketMessage close = await ws.ReceiveAsync();
        Assert.Equal(["last words"], seen);
        Assert.Equal((WebSocketMessageKind.Close, WebSocketCloseStatus.PolicyViolation, "bye"), (close.Kind, close.CloseStatus, close.CloseDescription));
        Assert.Equal("<WebSocketMessage Close PolicyViolation 'bye'>", close.ToString());
        Assert.Equal((WebSocketState.Closed, 0), (ws.State, session.ActiveRequests));
    }, virtualTime: false);

    [Fact]
    public void ReceiveAsync_MessageOverMaxSize_ClosesWith1009AndThrows() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync(Ws("/ws/big"), new() { MaxMessageSize = 50_000 });
        WebSocketException e = await Assert.ThrowsAsync<WebSocketException>(() => ws.ReceiveAsync());
        Assert.StartsWith("A message of more than 50000 bytes arrived from ws://127.0.0.1:", e.Message, StringComparison.Ordinal);
        Assert.Equal(WebSocketState.CloseSent, ws.State);
    }, virtualTime: false);

    [Fact]
    public void Heartbeat_PeerNeverAnswers_AbortsTheReceive() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync(Ws("/ws/silent"),
            new() { Heartbeat = TimeSpan.FromSeconds(0.3), HeartbeatTimeout = TimeSpan.FromSeconds(0.3) });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<Exception>(() => ws.ReceiveAsync());
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.3, 10);
        Assert.Equal(WebSocketState.Aborted, ws.State);
        Assert.Equal(0, session.ActiveRequests);
    }, virtualTime: false);

    [Fact]
    public void ReceiveAsync_Cancelled_AbortsTheWebSocket() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await using AioWebSocket ws = await session.WebSocketAsync(Ws("/ws/echo"));
        bool inTime = await MoveOnAfter(0.2, async () => await ws.ReceiveAsync());
        Assert.Equal((false, WebSocketState.Aborted, 0), (inTime, ws.State, session.ActiveRequests));
    }, virtualTime: false);

    [Fact]
    public void WebSocketAsync_NotAWebSocketEndpoint_Throws() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await Assert.ThrowsAsync<WebSocketException>(() => session.WebSocketAsync(Ws("/hello")));
        Assert.Equal(0, session.ActiveRequests);
    }, virtualTime: false);

    [Fact]
    public void GetAsync_Kestrel_TextAndCookies() => AioTest.Run(async () =>
    {
        await using var session = new ClientSession();
        await using (ClientResponse hello = await session.GetAsync(kestrel.BaseUrl + "/hello"))
        {
            Assert.Equal("Hello, World!", await hello.TextAsync());
        }
        await using (ClientResponse first = await session.GetAsync(kestrel.BaseUrl + "/cookie"))
        {
            Assert.Equal("cookie header: []", await first.TextAsync());
        }
        await using ClientResponse second = await session.GetAsync(kestrel.BaseUrl + "/cookie");
        Assert.Equal("cookie header: [visits=1]", await second.TextAsync());
    }, virtualTime: false);
}
