using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using static Aio.Http.Tests.Server.Harness;

namespace Aio.Http.Tests.Server;

/// <summary>Item 4: the two-phase graceful shutdown, in virtual time (TestClient) and on real sockets.</summary>
public class ShutdownTests
{
    private static Application SlowApp(double seconds, List<string> events)
    {
        var app = new Application();
        app.Router.Get("/", _ => Response.Text("fast"));
        app.Router.Get("/slow", async _ =>
        {
            events.Add("handler started");
            try
            {
                await Sleep(seconds);
            }
            catch (CancelledError)
            {
                events.Add($"handler cancelled at {EventLoop.GetRunningLoop().Time():0.#}");
                throw;
            }
            events.Add($"handler done at {EventLoop.GetRunningLoop().Time():0.#}");
            return Response.Text("slow");
        });
        return app;
    }

    [Fact]
    public void Shutdown_InFlightRequest_CompletesWithConnectionClose_IdleClosedAtOnce()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var client = new TestClient(SlowApp(2, events));
            TestConnection idle = client.Connect();
            idle.Send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            await idle.ReadResponseAsync();
            TestConnection busy = client.Connect();
            busy.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(1);
            AioTask shutdown = CreateTask(() => client.ShutdownAsync(10));
            await Sleep(0.5);
            events.Add($"idle closed={idle.IsClosed}");
            TestResponse r = await busy.ReadResponseAsync();
            events.Add($"response {r.Status} {r.Text} Connection: {r.Header("Connection")}");
            await shutdown;
            events.Add($"shutdown done at {EventLoop.GetRunningLoop().Time():0.#}; busy closed={busy.IsClosed}");
        });
        Assert.Equal(["handler started", "idle closed=True", "handler done at 2", "response 200 slow Connection: close", "shutdown done at 2; busy closed=True"], events);
    }

    [Fact]
    public void Shutdown_GraceExpires_HandlerCancelledAndCutOffLogged()
    {
        var events = new List<string>();
        var logs = new ListLoggerFactory();
        Application app = SlowApp(100, events);
        app.LoggerFactory = logs;
        TestLoop.Run(async () =>
        {
            var client = new TestClient(app);
            TestConnection busy = client.Connect();
            busy.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(1);
            await client.ShutdownAsync(5);
            events.Add($"shutdown done at {EventLoop.GetRunningLoop().Time():0.#}; answer=\"{await busy.ReadToEndAsync()}\"");
        });
        Assert.Equal(["handler started", "handler cancelled at 6", "shutdown done at 6; answer=\"\""], events);
        Assert.Contains(logs["Aio.Http.Server"].Entries, e => e.Id.Id == 201 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public void Shutdown_RequestArrivingDuringGrace_OnBusyConnection_AnsweredWithClose()
    {
        var events = new List<string>();
        TestLoop.Run(async () =>
        {
            var client = new TestClient(SlowApp(2, events));
            TestConnection c = client.Connect();
            c.Send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
            await Sleep(1);
            await client.ShutdownAsync(10);
            events.Add(string.Join(",", Statuses(Normalize(await c.ReadToEndAsync()))));
        });
        Assert.Equal(["handler started", "handler done at 2", "200"], events);
    }

    [Fact]
    public void RealSockets_ShutdownWithInFlightRequest_CompletesAndRefusesNewConnections()
    {
        var events = new List<string>();
        TestLoop.RunOnThread("epoll", async loop =>
        {
            var app = new Application();
            var started = new AioEvent();
            app.Router.Get("/slow", async _ => { started.Set(); await Sleep(0.3); return Response.Text("slow"); });
            HttpServer server = await app.StartAsync("127.0.0.1", 0);
            int port = server.Port;
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await Cancellable(socket.ConnectAsync(IPAddress.Loopback, port));
            await Cancellable(socket.SendAsync(Encoding.ASCII.GetBytes("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")));
            await started.WaitAsync();
            AioTask shutdown = CreateTask(() => server.ShutdownAsync(10));
            await Sleep(0.05);
            using var late = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await Cancellable(late.ConnectAsync(IPAddress.Loopback, port));
                events.Add("late connection accepted");
            }
            catch (SocketException e)
            {
                events.Add($"late connection: {e.SocketErrorCode}");
            }
            var buffer = new byte[4096];
            var answer = new StringBuilder();
            while (true)
            {
                int n = await Cancellable(socket.ReceiveAsync(buffer, SocketFlags.None));
                if (n == 0)
                {
                    break;
                }
                answer.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            await shutdown;
            string text = Normalize(answer.ToString());
            events.Add(text[..text.IndexOf("\r\n", StringComparison.Ordinal)]);
            events.Add(text.Contains("Connection: close", StringComparison.Ordinal) ? "close" : "keep-alive");
            events.Add(text[^4..]);
        });
        Assert.Equal(["late connection: ConnectionRefused", "HTTP/1.1 200 OK", "close", "slow"], events);
    }
}
