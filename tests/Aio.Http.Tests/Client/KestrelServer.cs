using System.Net;
using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aio.Http.Tests.Client;

/// <summary>A local Kestrel (ASP.NET Core) on 127.0.0.1 and a free port, started once for the test classes that use it: a real server for the client.</summary>
public sealed class KestrelServer : IAsyncLifetime
{
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/hello", () => "Hello, World!");
        app.MapGet("/cookie", (HttpContext ctx) =>
        {
            ctx.Response.Cookies.Append("visits", "1");
            return $"cookie header: [{ctx.Request.Headers.Cookie}]";
        });
        app.Map("/ws/echo", async ctx =>
        {
            using WebSocket ws = await ctx.WebSockets.AcceptWebSocketAsync(ctx.WebSockets.WebSocketRequestedProtocols.FirstOrDefault());
            byte[] buffer = new byte[1 << 20];
            while (true)
            {
                WebSocketReceiveResult r = await ws.ReceiveAsync(buffer, ctx.RequestAborted);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "echo done", ctx.RequestAborted);
                    return;
                }
                int n = r.Count;
                while (!r.EndOfMessage)
                {
                    r = await ws.ReceiveAsync(buffer.AsMemory(n).ToArray() is var _ ? new ArraySegment<byte>(buffer, n, buffer.Length - n) : default, ctx.RequestAborted);
                    n += r.Count;
                }
                await ws.SendAsync(new ArraySegment<byte>(buffer, 0, n), r.MessageType, true, ctx.RequestAborted);
            }
        });
        app.Map("/ws/big", async ctx =>
        {
            using WebSocket ws = await ctx.WebSockets.AcceptWebSocketAsync();
            await ws.SendAsync(new byte[100_000], WebSocketMessageType.Binary, true, ctx.RequestAborted);
            try
            {
                await ws.ReceiveAsync(new byte[100], ctx.RequestAborted);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        });
        app.Map("/ws/bye", async ctx =>
        {
            using WebSocket ws = await ctx.WebSockets.AcceptWebSocketAsync();
            await ws.SendAsync(Encoding.UTF8.GetBytes("last words"), WebSocketMessageType.Text, true, ctx.RequestAborted);
            await ws.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, "bye", ctx.RequestAborted);
            try
            {
                await ws.ReceiveAsync(new byte[100], ctx.RequestAborted);   // the client's answer to the close
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        });
        app.Map("/ws/silent", async ctx =>
        {
            using WebSocket ws = await ctx.WebSockets.AcceptWebSocketAsync();
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);   // never reads: PINGs go unanswered
            }
            catch (OperationCanceledException)
            {
            }
        });
        await app.StartAsync();
        _app = app;
        BaseUrl = app.Urls.First().Replace("[::1]", "127.0.0.1", StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
