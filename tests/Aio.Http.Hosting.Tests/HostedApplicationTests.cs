using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Aio.Http.Hosting.Tests;

/// <summary>
/// An Aio.Http application in a real Generic Host, stopped by the host: real sockets and real time (the host's stop is
/// the point), with generous bounds.
/// </summary>
public sealed class HostedApplicationTests
{
    private sealed class Probe
    {
        public TaskCompletionSource<int> Port { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource SlowStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource<string> SlowEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static IHost BuildHost(Probe probe, double gracePeriod, double slowSeconds)
    {
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddAioHttpApplication(app =>
        {
            app.ShutdownGracePeriod = gracePeriod;
            app.Router.Get("/", _ => Response.Text("hello"));
            app.Router.Get("/slow", async _ =>
            {
                probe.SlowStarted.TrySetResult();
                try
                {
                    await Asyncio.Sleep(slowSeconds);
                    probe.SlowEnded.TrySetResult("finished");
                    return Response.Text("slow done");
                }
                catch (CancelledError)
                {
                    probe.SlowEnded.TrySetResult("cancelled");
                    throw;
                }
            });
        }, o =>
        {
            o.Port = 0;
            o.Started = server => probe.Port.TrySetResult(server.Port);
        });
        return builder.Build();
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }

    // Sends one GET and reads until the peer closes or the response's declared body has come; returns the raw text.
    private static async Task<string> GetAsync(Socket socket, string path, bool untilClosed)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"));
        var text = new StringBuilder();
        byte[] buffer = new byte[4096];
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                return text.ToString();
            }
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            string s = text.ToString();
            int end = s.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (!untilClosed && end >= 0 && s.Length - end - 4 >= int.Parse(s.Split("Content-Length: ")[1].Split("\r\n")[0]))
            {
                return s;
            }
        }
    }

    [Fact]
    public async Task HostStop_RequestInFlight_CompletesWithConnectionCloseNewConnectionsRefusedIdleClosed()
    {
        var probe = new Probe();
        using IHost host = BuildHost(probe, gracePeriod: 10, slowSeconds: 1);
        await host.StartAsync();
        int port = await probe.Port.Task.WaitAsync(TimeSpan.FromSeconds(30));

        using Socket idle = await ConnectAsync(port);
        Assert.EndsWith("\r\n\r\nhello", await GetAsync(idle, "/", untilClosed: false));   // a keep-alive connection, now idle
        using Socket busy = await ConnectAsync(port);
        Task<string> slow = GetAsync(busy, "/slow", untilClosed: true);
        await probe.SlowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        Task stopping = host.StopAsync();
        // Phase 1: the listener closes, then idle keep-alive connections are closed at once.
        Assert.Equal(0, await idle.ReceiveAsync(new byte[16], SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30)));
        double idleClosedAt = clock.Elapsed.TotalSeconds;
        var refused = await Assert.ThrowsAsync<SocketException>(() => ConnectAsync(port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        // Phase 2: the request in flight finishes inside the grace period and its response says the connection closes.
        string response = await slow.WaitAsync(TimeSpan.FromSeconds(30));
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        double stoppedAt = clock.Elapsed.TotalSeconds;

        Assert.Equal("finished", await probe.SlowEnded.Task);   // the stop waited for it: it was not cancelled
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", response);
        Assert.Contains("\r\nConnection: close\r\n", response);
        Assert.EndsWith("\r\n\r\nslow done", response);
        Assert.True(idleClosedAt < 0.9, $"the idle connection was closed {idleClosedAt:0.00} s into the stop, not at once");
        Assert.True(stoppedAt < 10, $"the host took {stoppedAt:0.00} s to stop, more than the 10 s grace period");
    }

    [Fact]
    public async Task HostStop_RequestOutlastsTheGracePeriod_IsCancelledAndTheHostStopsAfterTheGrace()
    {
        var probe = new Probe();
        using IHost host = BuildHost(probe, gracePeriod: 0.5, slowSeconds: 3600);
        await host.StartAsync();
        int port = await probe.Port.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using Socket busy = await ConnectAsync(port);
        Task<string> slow = GetAsync(busy, "/slow", untilClosed: true);
        await probe.SlowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        double stoppedAt = clock.Elapsed.TotalSeconds;

        Assert.Equal("cancelled", await probe.SlowEnded.Task);
        Assert.Equal("", await slow.WaitAsync(TimeSpan.FromSeconds(30)));   // cut off: the connection closed without a response
        Assert.InRange(stoppedAt, 0.5, 10);
    }
}
