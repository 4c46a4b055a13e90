using System.Runtime.InteropServices;
using Aio.Http;
using Aio.Net;

namespace Aio.Bench.Workloads;

/// <summary>
/// W9's server: an Aio.Http application on 127.0.0.1:P whose WebSocket route /ws echoes every message as it came
/// (text stays text), written the way an application would: the router, <c>await foreach</c> over the socket, and
/// <c>SendTextAsync(msg.Data)</c>, which sends the received UTF-8 back without making a string (Node's `ws` peer
/// sends its Buffer back the same way). Prints READY once listening; exits 0 on SIGTERM/SIGINT.
/// </summary>
internal sealed class WsEchoServerCommand : IBenchCommand
{
    public string Name => "ws-echo";

    public string Description => "W9 WebSocket echo server: --port P (route /ws echoes every message, text as UTF-8 bytes)";

    public int Run(BenchArgs args)
    {
        int port = args.Int("port", 28090);
        using var loop = new EventLoop();
        var stop = new AioEvent();
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            loop.CallSoonThreadSafe(stop.Set);
        }
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        loop.RunUntilComplete(async () =>
        {
            var app = new Application();
            app.Router.WebSocket("/ws", async (ws, req) =>
            {
                await foreach (WebSocketMessage msg in ws)
                {
                    await (msg.Kind == WebSocketMessageKind.Text ? ws.SendTextAsync(msg.Data) : ws.SendBytesAsync(msg.Data));
                }
            });
            HttpServer server = await app.StartAsync("127.0.0.1", port, new ServerOptions { Backlog = 512 });
            Console.WriteLine("READY");
            Console.Out.Flush();
            await stop.WaitAsync();
            await server.ShutdownAsync(0);
        });
        return 0;
    }
}
