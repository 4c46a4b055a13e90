using PuppeteerSharp;

namespace Aio.Http.Tests.Browser;

/// <summary>
/// A real browser as the client: headless Chromium (Debian's chromium package, see Aio.TestUtilities.Browser) loads a
/// page from an Aio server that opens a WebSocket and an EventSource, and the test reads what the page received.
/// </summary>
public class BrowserTests
{
    private const string Page = """
        <!doctype html>
        <meta charset="utf-8"><title>aio browser test</title>
        <script>
          window.ws = []; window.sse = []; window.wsDone = false; window.sseDone = false;
          const socket = new WebSocket(`ws://${location.host}/echo`);
          socket.onopen = () => { socket.send("one"); socket.send("two ü"); };
          socket.onmessage = e => { ws.push(`message ${e.data}`); if (ws.length === 2) socket.close(1000, "done"); };
          socket.onclose = e => { ws.push(`close ${e.code} ${e.wasClean}`); wsDone = true; };
          const events = new EventSource("/events");
          events.addEventListener("tick", e => {
            sse.push(`${e.lastEventId} ${e.data}`);
            if (e.lastEventId === "3") { events.close(); sseDone = true; }
          });
        </script>
        """;

    [Fact]
    public void Chromium_WebSocketEchoAndEventSource_PageReceivesEverything() => AioTest.Run(async () =>
    {
        var serverSaw = new List<string>();
        var app = new Application();
        app.Router.Get("/", _ => Response.Html(Page));
        app.Router.WebSocket("/echo", async (ws, req) =>
        {
            await foreach (WebSocketMessage m in ws)
            {
                serverSaw.Add($"ws {m.Text}");
                await ws.SendTextAsync("echo " + m.Text);
            }
            serverSaw.Add($"ws closed {(int?)ws.CloseStatus}");
        });
        app.Router.Get("/events", req => Response.EventStream(req, async sse =>
        {
            serverSaw.Add($"sse Last-Event-ID {sse.LastEventId ?? "none"}");
            if (sse.LastEventId is null)
            {
                // The first connection sends two events and ends; the browser reconnects (after 100 ms) with
                // Last-Event-ID 2 and gets the third.
                await sse.SendAsync("first", eventName: "tick", id: "1", retry: TimeSpan.FromMilliseconds(100));
                await sse.SendAsync("second\nline", eventName: "tick", id: "2");
            }
            else
            {
                await sse.SendAsync($"resumed after {sse.LastEventId}", eventName: "tick", id: "3");
                await Sleep(10);   // until the browser closes the EventSource: its disconnect cancels this
            }
        }));
        await using HttpServer server = await app.StartAsync("127.0.0.1", 0);
        string url = $"http://127.0.0.1:{server.Port}/";

        // The browser's API is thread-pool async: drive it from an executor thread while the loop serves.
        (string[] Ws, string[] Sse) page = await ToThread(() => LoadPageAsync(url).GetAwaiter().GetResult());

        Assert.Equal(["message echo one", "message echo two ü", "close 1000 true"], page.Ws);
        Assert.Equal(["1 first", "2 second\nline", "3 resumed after 2"], page.Sse);
        // The server's side: both SSE connections, and the WebSocket's messages and close (which may still be in flight).
        await FailAfter(5, async () =>
        {
            while (!serverSaw.Contains("ws closed 1000"))
            {
                await Sleep(0.01);
            }
        });
        Assert.Equal(["sse Last-Event-ID 2", "sse Last-Event-ID none", "ws closed 1000", "ws one", "ws two ü"],
            serverSaw.Order(StringComparer.Ordinal));
    }, virtualTime: false);

    [Fact]
    public async Task LaunchAsync_NoChromium_FailsSayingHowToInstallIt()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestUtilities.Browser.LaunchAsync(TimeSpan.FromSeconds(1), "/nonexistent/chromium"));
        Assert.Equal("The browser tests need Chromium at /nonexistent/chromium, which does not exist. Install Debian's package: " +
            "'sudo apt-get update && sudo apt-get install -y chromium' (.ci/run does this when it is missing).", e.Message);
    }

    /// <summary>Launches Chromium, loads <paramref name="url"/>, waits for both halves of the page: 20 s at most in all.</summary>
    private static async Task<(string[] Ws, string[] Sse)> LoadPageAsync(string url)
    {
        IBrowser? browser = null;
        try
        {
            browser = await TestUtilities.Browser.LaunchAsync(TimeSpan.FromSeconds(10));
            IPage page = await browser.NewPageAsync();
            await page.GoToAsync(url, new NavigationOptions { Timeout = 5000 });
            await page.WaitForFunctionAsync("() => window.wsDone && window.sseDone", new WaitForFunctionOptions { Timeout = 5000 });
            return (await page.EvaluateExpressionAsync<string[]>("window.ws"), await page.EvaluateExpressionAsync<string[]>("window.sse"));
        }
        finally
        {
            TestUtilities.Browser.Kill(browser);
        }
    }
}
