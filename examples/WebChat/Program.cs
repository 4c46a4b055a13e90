// WebChat: a WebSocket chat room on Aio.Http – a small HTML page, one broadcast group, graceful shutdown.
//
//   dotnet run --project examples/WebChat [port]      (default 8080; 0 lets the system choose)
//   then open http://127.0.0.1:8080/ in two browser tabs.
//
// Every message a client sends goes to everyone through a WebSocketGroup: a client that does not keep up misses
// messages instead of slowing the room down. Ctrl+C or SIGTERM closes every WebSocket with 1001 (going away), waits
// for the clients' answers (up to 10 s), and the program exits with 0.
using System.Globalization;
using Aio.Http;
using static Aio.Asyncio;

int port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 8080;
Run(() => MainAsync(port));
Console.WriteLine("stopped");
return 0;

static async Task MainAsync(int port)
{
    var room = new WebSocketGroup(SlowClientPolicy.DropMessages, maxQueuedMessages: 100);
    var app = new Application();
    app.Router.Get("/", _ => Response.Html(ChatPage.Html));
    app.Router.WebSocket("/chat", async (ws, req) =>
    {
        room.Add(ws);
        room.Broadcast($"* someone joined ({room.Count} here)");
        try
        {
            await foreach (WebSocketMessage message in ws)
            {
                room.Broadcast(message.Text);
            }
        }
        finally
        {
            room.Remove(ws);
        }
    });
    await app.RunAsync("127.0.0.1", port, started: server =>
        Console.WriteLine($"listening on http://127.0.0.1:{server.Port}"));
}

/// <summary>The chat page: a WebSocket to /chat, a list of messages and an input line.</summary>
internal static class ChatPage
{
    public const string Html = """
        <!doctype html>
        <meta charset="utf-8"><title>Aio chat</title>
        <ul id="log"></ul>
        <form id="f"><input id="text" autocomplete="off"><button>Send</button></form>
        <script>
          const ws = new WebSocket(`ws://${location.host}/chat`);
          const log = document.getElementById("log");
          ws.onmessage = e => { const li = document.createElement("li"); li.textContent = e.data; log.append(li); };
          ws.onclose = e => { const li = document.createElement("li"); li.textContent = `closed ${e.code}`; log.append(li); };
          document.getElementById("f").onsubmit = e => {
            e.preventDefault();
            const t = document.getElementById("text");
            ws.send(t.value); t.value = "";
          };
        </script>
        """;
}
