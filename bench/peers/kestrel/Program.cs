// W7 HTTP server for Kestrel: a minimal API, GET / -> "Hello, World!" (text/plain); with --static DIR (W10S)
// also UseStaticFiles for DIR at /static; with --ws (W9) also UseWebSockets and an echo loop at /ws (the receive/send
// loop of ASP.NET Core's WebSockets documentation, each frame sent back as it came).
//
//   dotnet Peers.Kestrel.dll --port P [--static DIR] [--ws]
//
// Listens on 127.0.0.1:P, prints READY once listening, exits 0 on SIGTERM or SIGINT (the host's own handling).
int port = 0;
string? staticDir = null;
bool webSockets = args.Contains("--ws");
for (int i = 0; i + 1 < args.Length; i++)
{
    if (args[i] == "--port")
    {
        port = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
    }
    if (args[i] == "--static")
    {
        staticDir = args[i + 1];
    }
}
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, port));
var app = builder.Build();
if (staticDir is not null)
{
    // W10S: UseStaticFiles over the directory at /static.
    app.UseStaticFiles(new StaticFileOptions
    {
        FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(staticDir),
        RequestPath = "/static",
    });
}
if (webSockets)
{
    // W9: WebSocket echo at /ws.
    app.UseWebSockets();
    app.Map("/ws", async (HttpContext context) =>
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using System.Net.WebSockets.WebSocket ws = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        while (true)
        {
            System.Net.WebSockets.WebSocketReceiveResult r = await ws.ReceiveAsync(buffer, CancellationToken.None);
            if (r.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
            {
                await ws.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                return;
            }
            await ws.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, CancellationToken.None);
        }
    });
}
app.MapGet("/", () => "Hello, World!");
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine("READY"));
app.Run();
