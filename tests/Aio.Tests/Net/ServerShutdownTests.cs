using System.Net.Sockets;
using System.Text;
using Aio.Testing;
using static Aio.Asyncio;

namespace Aio.Tests.Net;

/// <summary>
/// Server.ShutdownAsync and a cancelled ServeForeverAsync: stop accepting, notify through ShuttingDown, let the
/// handlers finish within the grace period, then cancel the rest. Real sockets on 127.0.0.1:0, virtual time.
/// </summary>
public sealed class ServerShutdownTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    private static string Text(byte[] line) => Encoding.UTF8.GetString(line);

    /// <summary>Starts a stream server whose handler can reach the server (for its ShuttingDown token).</summary>
    private static async Task<Server> StartAsync(Func<Server, AioStreamReader, AioStreamWriter, Task> handler)
    {
        Server? server = null;
        var ready = new AioEvent();
        server = await StartServerAsync(async (r, w) =>
        {
            await ready.WaitAsync();
            await handler(server!, r, w);
        }, "127.0.0.1", 0);
        ready.Set();
        return server;
    }

    /// <summary>Lets the loop run queued callbacks (ConnectionLost and the closes after it) before the test ends.</summary>
    private static async Task SettleAsync()
    {
        for (int i = 0; i < 5; i++)
        {
            await Sleep(0);
        }
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ShutdownAsync_HandlerSaysGoodbyeWhenNotified_ClientGetsItAndNothingIsCancelled(string backEnd)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                using CancellationTokenRegistration bye = srv.ShuttingDown.Register(() =>
                {
                    events.Add("handler: notified");
                    writer.Write("server shutting down\n"u8);
                    writer.Close();
                });
                writer.Write("welcome\n"u8);
                while (await reader.ReadLineAsync() is { Length: > 0 } line)
                {
                    events.Add($"handler: got {Text(line).TrimEnd()}");
                }
                events.Add("handler: done");
            });
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            events.Add($"client: {Text(await reader.ReadLineAsync()).TrimEnd()}");
            writer.Write("hi\n"u8);
            await Sleep(0.1);
            double t0 = loop.Time();
            await server.ShutdownAsync(10);
            events.Add($"shutdown took {loop.Time() - t0:0.###} s, connections {server.ActiveConnections}");
            events.Add($"client: {Text(await reader.ReadLineAsync()).TrimEnd()}");
            events.Add($"client: eof {(await reader.ReadAsync()).Length == 0}");
            writer.Close();
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[]
        {
            "client: welcome", "handler: got hi", "handler: notified", "handler: done",
            "shutdown took 0 s, connections 0", "client: server shutting down", "client: eof True",
        }, events);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ShutdownAsync_HandlerIgnoresNotification_CancelledAfterGracePeriod(string backEnd)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double t0 = 0;
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                writer.Write("welcome\n"u8);
                try
                {
                    await reader.ReadLineAsync();   // the client never sends: waits until cancelled
                    events.Add("handler: read returned");
                }
                catch (CancelledError)
                {
                    events.Add($"handler: cancelled after {loop.Time() - t0:0.###} s");
                    writer.Write("cancelled\n"u8);   // a last word on the way out still goes to the client
                    throw;
                }
            });
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await reader.ReadLineAsync();
            t0 = loop.Time();
            await server.ShutdownAsync(5);
            events.Add($"shutdown took {loop.Time() - t0:0.###} s, connections {server.ActiveConnections}");
            events.Add($"client: {Text(await reader.ReadLineAsync()).TrimEnd()}");
            events.Add($"client: eof {(await reader.ReadAsync()).Length == 0}");
            writer.Close();
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[]
        {
            "handler: cancelled after 5 s", "shutdown took 5 s, connections 0", "client: cancelled", "client: eof True",
        }, events);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ShutdownAsync_Started_NewConnectionsAreRefused(string backEnd)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                writer.Write("welcome\n"u8);
                await reader.ReadLineAsync();
                writer.Close();
            });
            int port = NetTest.Port(server);
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", port);
            await reader.ReadLineAsync();
            AioTask shutdown = CreateTask(() => server.ShutdownAsync(30), "shutdown");
            await Sleep(1);   // inside the grace period: the old connection is still open
            events.Add($"done={shutdown.Done} serving={server.IsServing} sockets={server.Sockets.Count} connections={server.ActiveConnections}");
            SocketException refused = await Assert.ThrowsAsync<SocketException>(() => OpenConnectionAsync("127.0.0.1", port));
            events.Add($"new connection: {refused.SocketErrorCode}");
            writer.Write("bye\n"u8);   // the old connection finishes: the shutdown ends before its grace period
            await shutdown;
            events.Add($"done={shutdown.Done} connections={server.ActiveConnections}");
            writer.Close();
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[]
        {
            "done=False serving=False sockets=0 connections=1", "new connection: ConnectionRefused", "done=True connections=0",
        }, events);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ShutdownAsync_HandlerAndCallbackErrors_AreReportedNotLost(string backEnd)
    {
        var errors = new List<ExceptionContext>();
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            loop.ExceptionHandler = (_, ctx) => errors.Add(ctx);
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                string first = Text(await reader.ReadLineAsync()).TrimEnd();
                if (first == "callback")
                {
                    using CancellationTokenRegistration r = srv.ShuttingDown.Register(() => throw new InvalidOperationException("callback bug"));
                    await reader.ReadLineAsync();   // the client sends nothing more: cancelled after the grace period
                    return;
                }
                if (first == "notified")
                {
                    var stop = new AioEvent();
                    using CancellationTokenRegistration r = srv.ShuttingDown.Register(stop.Set);
                    await stop.WaitAsync();
                    throw new InvalidOperationException("handler bug on shutdown");
                }
                try
                {
                    await reader.ReadLineAsync();
                }
                catch (CancelledError)
                {
                    throw new InvalidOperationException("handler bug while cancelled");
                }
            });
            var clients = new List<AioStreamWriter>();
            foreach (string kind in new[] { "callback", "notified", "cancelled" })
            {
                var (_, w) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
                w.Write(Encoding.UTF8.GetBytes(kind + "\n"));
                clients.Add(w);
            }
            await Sleep(0.1);
            await server.ShutdownAsync(2);
            events.Add($"connections {server.ActiveConnections}");
            foreach (AioStreamWriter w in clients)
            {
                w.Close();
            }
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[] { "connections 0" }, events);
        Assert.Equal(
            new[] { "callback bug", "handler bug on shutdown", "handler bug while cancelled" },
            errors.Select(e => e.Exception?.Message ?? "").OrderBy(m => m, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ServeForeverAsync_Cancelled_HandlersGetTheGracePeriodBeforeTheCallersFinally(string backEnd)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            double t0 = 0;
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                var stop = new AioEvent();
                using CancellationTokenRegistration r = srv.ShuttingDown.Register(stop.Set);
                writer.Write("welcome\n"u8);
                await stop.WaitAsync();
                await Sleep(1);   // an async goodbye: it takes a while, within the grace period
                writer.Write("server shutting down\n"u8);
                await writer.DrainAsync();
                writer.Close();
                events.Add($"handler: said goodbye after {loop.Time() - t0:0.###} s");
            });
            AioTask serving = CreateTask(async () =>
            {
                try
                {
                    await server.ServeForeverAsync(shutdownGracePeriod: 3);
                }
                finally
                {
                    events.Add($"finally: connections {server.ActiveConnections}, serving {server.IsServing}");
                }
            }, "serving");
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await reader.ReadLineAsync();
            t0 = loop.Time();
            serving.Cancel();   // what Ctrl+C does to the main task under Asyncio.Run
            await Assert.ThrowsAsync<CancelledError>(async () => await serving);
            events.Add($"serving cancelled after {loop.Time() - t0:0.###} s");
            events.Add($"client: {Text(await reader.ReadLineAsync()).TrimEnd()}");
            writer.Close();
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[]
        {
            "handler: said goodbye after 1 s", "finally: connections 0, serving False", "serving cancelled after 1 s",
            "client: server shutting down",
        }, events);
    }

    [Fact]
    public void ShutdownAsync_CalledTwice_SecondWaitsForTheFirstAndLaterCallsReturnAtOnce()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            Server server = await StartAsync(async (srv, reader, writer) => await reader.ReadLineAsync());
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await Sleep(0.1);
            double t0 = loop.Time();
            AioTask first = CreateTask(async () => { await server.ShutdownAsync(4); events.Add($"first after {loop.Time() - t0:0.###} s"); });
            AioTask second = CreateTask(async () => { await server.ShutdownAsync(1); events.Add($"second after {loop.Time() - t0:0.###} s"); });
            await Gather(first, second);
            await server.ShutdownAsync(4);
            events.Add($"third after {loop.Time() - t0:0.###} s");
            writer.Close();
            await SettleAsync();
        });
        // Both end at 4 s; the second was waiting for the end first, so it hears of it first.
        Assert.Equal(new[] { "second after 4 s", "first after 4 s", "third after 4 s" }, events);
    }

    [Fact]
    public void ShutdownAsync_CallerCancelledDuringGracePeriod_CancelsTheRestAtOnceAndWaits()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                try
                {
                    await reader.ReadLineAsync();
                }
                catch (CancelledError)
                {
                    events.Add("handler: cancelled");
                    throw;
                }
            });
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await Sleep(0.1);
            double t0 = loop.Time();
            bool finished = await MoveOnAfter(1, () => server.ShutdownAsync(60));
            events.Add($"finished={finished} after {loop.Time() - t0:0.###} s, connections {server.ActiveConnections}");
            writer.Close();
            await SettleAsync();
        });
        Assert.Equal(new[] { "handler: cancelled", "finished=False after 1 s, connections 0" }, events);
    }

    [Fact]
    public void ShutdownAsync_AwaitedByOneOfItsHandlers_ThrowsInsteadOfWaitingForItself()
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            AioTask? shutdown = null;
            Server server = await StartAsync(async (srv, reader, writer) =>
            {
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => srv.ShutdownAsync(1));
                events.Add(e.Message.Contains("would wait for itself", StringComparison.Ordinal) ? "handler: refused" : e.Message);
                shutdown = CreateTask(() => srv.ShutdownAsync(1), "shutdown");   // the way: a task of its own
                writer.Write("shutting down\n"u8);
                writer.Close();
            });
            var (reader, writer) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            // Bounded (virtual time): a handler waiting for itself would otherwise hang the test.
            events.Add($"client: {Text(await FailAfter(30, () => reader.ReadLineAsync())).TrimEnd()}");
            await Sleep(0.1);
            await shutdown!;
            events.Add($"shut down: serving {server.IsServing}, connections {server.ActiveConnections}");
            writer.Close();
            await SettleAsync();
        });
        Assert.Equal(new[] { "handler: refused", "client: shutting down", "shut down: serving False, connections 0" }, events);
    }

    [Fact]
    public void ShutdownAsync_NegativeOrNaNGracePeriod_Throws()
    {
        AioTest.Run(async () =>
        {
            await using Server server = await StartServerAsync((r, w) => Task.CompletedTask, "127.0.0.1", 0);
            var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => server.ShutdownAsync(-1));
            Assert.Contains("grace period", e.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => server.ShutdownAsync(double.NaN));
            Assert.True(server.IsServing);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ShutdownAsync_ProtocolServer_ProtocolThatClosesOnNotificationEndsEarlyOthersAreClosedAfterGrace(string backEnd)
    {
        var events = new List<string>();
        AioTest.Run(async () =>
        {
            EventLoop loop = EventLoop.GetRunningLoop();
            Server? server = null;
            int made = 0;
            server = await loop.CreateServerAsync(() => new WindDown(server!, made++ == 0, events), "127.0.0.1", 0);
            var (r1, w1) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await Sleep(0.1);
            var (r2, w2) = await OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            await Sleep(0.1);
            double t0 = loop.Time();
            await server.ShutdownAsync(2);
            events.Add($"shutdown took {loop.Time() - t0:0.###} s");
            events.Add($"client 1: {Text(await r1.ReadAsync())}");
            events.Add($"client 2: eof {(await r2.ReadAsync()).Length == 0}");
            w1.Close();
            w2.Close();
            await SettleAsync();
        }, poller: backEnd);
        Assert.Equal(new[] { "lost 1", "lost 2", "shutdown took 2 s", "client 1: going away\n", "client 2: eof True" }, events);
    }

    private sealed class WindDown(Server server, bool polite, List<string> events) : IProtocol
    {
        private CancellationTokenRegistration _registration;

        public void ConnectionMade(ITransport transport)
        {
            if (polite)
            {
                _registration = server.ShuttingDown.Register(() =>
                {
                    transport.Write("going away\n"u8);
                    transport.Close();
                });
            }
        }

        public void DataReceived(ReadOnlySpan<byte> data)
        {
        }

        public bool EofReceived() => false;

        public void ConnectionLost(Exception? exception)
        {
            _registration.Dispose();
            events.Add(polite ? "lost 1" : "lost 2");
        }

        public void PauseWriting()
        {
        }

        public void ResumeWriting()
        {
        }
    }
}
