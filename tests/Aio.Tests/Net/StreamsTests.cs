using System.Net.Sockets;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>Streams over real connections: OpenConnection/StartServer, drain, EOF, server shutdown.</summary>
public class StreamsTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    private static async Task EchoHandler(AioStreamReader reader, AioStreamWriter writer)
    {
        await foreach (byte[] line in reader)
        {
            writer.Write(line);
            await writer.DrainAsync();
        }
        writer.Close();
        await writer.WaitClosedAsync();
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void OpenConnection_EchoesLines_ThenEof(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            writer.Write("hello\nworld\n"u8);
            await writer.DrainAsync();
            Assert.Equal("hello\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
            Assert.Equal("world\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
            writer.WriteEof();
            Assert.Empty(await reader.ReadAsync());
            Assert.True(reader.AtEof);
            writer.Close();
            await writer.WaitClosedAsync();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void UnixStreams_EchoRoundTrip(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            string path = NetTest.UnixPath();
            await using (Server server = await Asyncio.StartUnixServerAsync(EchoHandler, path))
            {
                Assert.True(File.Exists(path));
                var (reader, writer) = await Asyncio.OpenUnixConnectionAsync(path);
                writer.Write("over unix\n"u8);
                Assert.Equal("over unix\n", Encoding.ASCII.GetString(await reader.ReadLineAsync()));
                await writer.DisposeAsync();
            }
            Assert.False(File.Exists(path));
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Drain_OnClosedConnection_Throws(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0);
            var (_, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            writer.Close();
            writer.Write("after close"u8);
            await Assert.ThrowsAsync<IOException>(() => writer.DrainAsync());
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Drain_PeerDiesWhileBlocked_FailsInsteadOfHanging(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            var peerReady = loop.CreateFuture<AioStreamWriter>();
            await using Server server = await Asyncio.StartServerAsync(async (r, w) =>
            {
                peerReady.SetResult(w);
                await Asyncio.Sleep(3600);   // never reads
            }, "127.0.0.1", 0);
            var (_, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            AioStreamWriter peer = await peerReady;
            var block = new byte[1024 * 1024];
            AioTask drain = loop.CreateTask(async () =>
            {
                while (true)
                {
                    writer.Write(block);
                    await writer.DrainAsync();
                }
            });
            await NetTest.Until(() => writer.Transport.GetWriteBufferSize() > 0, what: "writer blocked");
            var socket = (Socket)peer.GetExtraInfo("socket")!;
            socket.LingerState = new LingerOption(true, 0);
            peer.Transport.Abort();
            await Assert.ThrowsAsync<IOException>(async () => await drain);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ReadExactly_PeerClosesEarly_IncompleteReadError(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(async (r, w) =>
            {
                w.Write(new byte[18]);
                w.Close();
                await w.WaitClosedAsync();
            }, "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            IncompleteReadError e = await Assert.ThrowsAsync<IncompleteReadError>(() => reader.ReadExactlyAsync(36));
            Assert.Equal(18, e.Partial.Length);
            writer.Close();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ConnectionRefused_ThrowsSocketException(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            int port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;   // bound, not listening: refused
            SocketException e = await Assert.ThrowsAsync<SocketException>(() => Asyncio.OpenConnectionAsync("127.0.0.1", port));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ServerDispose_CancelsHandlersAndClosesClients(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            int cancelled = 0;
            int started = 0;
            Server server = await Asyncio.StartServerAsync(async (r, w) =>
            {
                started++;
                try
                {
                    await r.ReadAsync();   // until EOF: never, the client does not close
                }
                catch (CancelledError)
                {
                    cancelled++;
                    throw;
                }
            }, "127.0.0.1", 0);
            var clients = new List<AioStreamReader>();
            for (int i = 0; i < 3; i++)
            {
                var (r, _) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
                clients.Add(r);
            }
            await NetTest.Until(() => started == 3, what: "handlers started");
            await server.DisposeAsync();
            Assert.Equal(3, cancelled);
            Assert.Equal(0, server.ActiveConnections);
            Assert.Empty(server.Sockets);
            foreach (AioStreamReader r in clients)
            {
                Assert.Empty(await r.ReadAsync());   // the server closed them: EOF
            }
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void ServeForever_ReturnsOnClose_AndCancellationStopsServing(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0);
            AioTask serving = loop.CreateTask(() => server.ServeForeverAsync());
            await Asyncio.Sleep(0.01);
            Assert.True(server.IsServing);
            serving.Cancel();
            await Assert.ThrowsAsync<CancelledError>(async () => await serving);
            Assert.False(server.IsServing);
            await server.WaitClosedAsync();

            Server second = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0);
            AioTask serving2 = loop.CreateTask(() => second.ServeForeverAsync());
            await Asyncio.Sleep(0.01);
            second.Close();
            await serving2;
            await second.WaitClosedAsync();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void HandlerThrows_ReportedAndConnectionClosed(string backEnd)
    {
        var errors = new List<ExceptionContext>();
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync((r, w) => throw new InvalidOperationException("handler bug"), "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            Assert.Empty(await reader.ReadAsync());
            writer.Close();
        }, errors: errors);
        ExceptionContext e = Assert.Single(errors);
        Assert.IsType<InvalidOperationException>(e.Exception);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Reader_PausesTransportOverTwiceTheLimit(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(async (r, w) =>
            {
                var block = new byte[64 * 1024];
                for (int i = 0; i < 64; i++)
                {
                    w.Write(block);
                    await w.DrainAsync();
                }
                w.Close();
            }, "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server), new StreamOptions { Limit = 16 * 1024 });
            await NetTest.Until(() => !writer.Transport.IsReading, what: "paused");
            Assert.InRange(reader.BufferedCount, 32 * 1024 + 1, 32 * 1024 + 64 * 1024);
            byte[] all = await reader.ReadAsync();
            Assert.Equal(64 * 64 * 1024, all.Length);
            writer.Close();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Writer_ToString_And_ExtraInfo(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(EchoHandler, "127.0.0.1", 0);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("127.0.0.1", NetTest.Port(server));
            Assert.StartsWith("<AioStreamWriter transport=<TcpTransport fd=", writer.ToString());
            Assert.Equal(server.Sockets[0], writer.GetExtraInfo("peername"));
            await writer.DisposeAsync();
        });
    }
}
