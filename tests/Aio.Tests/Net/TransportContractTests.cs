using System.Net.Sockets;

namespace Aio.Tests.Net;

/// <summary>
/// The transport contract suite: the same behaviours over TCP and Unix sockets, on the epoll and the
/// portable back end (uvloop runs one suite against two loops; Kestrel's TransportSelector).
/// </summary>
public class TransportContractTests
{
    public static TheoryData<string, string> Transports => NetTest.TransportData();

    [Theory]
    [MemberData(nameof(Transports))]
    public void CallOrder_EchoThenPeerEof_IsMadeDataEofLost(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () =>
                serverSide = new RecordingProtocol { OnData = (p, d) => p.Transport!.Write(d) });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());

            transport.Write(NetTest.Bytes("hello "));
            transport.Write(NetTest.Bytes("world"));
            await NetTest.Until(() => client.BytesReceived == 11, what: "echo");
            transport.WriteEof();
            await NetTest.Until(() => client.Lost && serverSide!.Lost, what: "both sides lost");

            // The server got EOF and (EofReceived returned false) closed itself; the client then read EOF.
            Assert.Equal(["made", "data:hello world", "eof", "lost:null"], serverSide!.Events);
            Assert.Equal(["made", "data:hello world", "eof", "lost:null"], client.Events);
            Assert.True(transport.IsClosing);
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void HalfClose_EofReceivedReturnsTrue_PeerCanStillAnswer(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new RecordingProtocol
            {
                KeepOpenOnEof = true,
                OnEof = p =>
                {
                    p.Transport!.Write(NetTest.Bytes("bye"));
                    p.Transport.Close();
                },
            });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            transport.Write(NetTest.Bytes("question"));
            transport.WriteEof();
            Assert.Throws<InvalidOperationException>(() => transport.Write(NetTest.Bytes("x")));
            await NetTest.Until(() => client.Lost && serverSide!.Lost, what: "both sides lost");
            Assert.Equal(["made", "data:question", "eof", "lost:null"], serverSide!.Events);
            Assert.Equal(["made", "data:bye", "eof", "lost:null"], client.Events);
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void BackPressure_PausesAtHighAndResumesAtLow_Once(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new RecordingProtocol
            {
                RecordData = false,
                OnMade = (_, t) => t.PauseReading(),
            });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            await NetTest.Until(() => serverSide is { Transport: not null }, what: "server connection");
            transport.SetWriteBufferLimits(high: 64 * 1024, low: 16 * 1024);
            Assert.Equal((16 * 1024, 64 * 1024), transport.GetWriteBufferLimits());

            var chunk = new byte[64 * 1024];
            int written = 0;
            while (!client.Events.Contains("pause"))
            {
                transport.Write(chunk);
                written += chunk.Length;
                Assert.True(written < 64 * 1024 * 1024, "the transport never paused writing");
                await Asyncio.Sleep(0);
            }
            Assert.True(transport.GetWriteBufferSize() > 64 * 1024);
            Assert.Equal(["made", "pause"], client.Events);

            serverSide!.Transport!.ResumeReading();
            await NetTest.Until(() => client.Events.Contains("resume"), what: "resume writing");
            Assert.True(transport.GetWriteBufferSize() <= 16 * 1024);
            Assert.Equal(["made", "pause", "resume"], client.Events);
            await NetTest.Until(() => serverSide.BytesReceived == written, what: "every byte delivered");
            transport.Close();
            await NetTest.Until(() => client.Lost, what: "client lost");
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void Abort_DiscardsBuffer_LostWithNull(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new RecordingProtocol
            {
                RecordData = false,
                OnMade = (_, t) => t.PauseReading(),
            });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            await NetTest.Until(() => serverSide is { Transport: not null }, what: "server connection");
            transport.Write(new byte[8 * 1024 * 1024]);
            Assert.True(transport.GetWriteBufferSize() > 0);
            transport.Abort();
            Assert.True(transport.IsClosing);
            Assert.Equal(0, transport.GetWriteBufferSize());
            await NetTest.Until(() => client.Lost, what: "client lost");
            Assert.Equal(["made", "pause", "lost:null"], client.Events);
            serverSide!.Transport!.ResumeReading();
            await NetTest.Until(() => serverSide.Lost, what: "server lost");
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void ResetByPeer_MidRead_LostWithSocketException(string backEnd, string family)
    {
        if (family == "unix")
        {
            return; // SO_LINGER 0 resets TCP only; Unix sockets have no reset (covered by the TCP case).
        }
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await NetTest.ServeAsync(loop, family, () => new RecordingProtocol
            {
                OnData = (p, _) =>
                {
                    var socket = (Socket)p.Transport!.GetExtraInfo("socket")!;
                    socket.LingerState = new LingerOption(true, 0);
                    p.Transport.Abort();   // close with SO_LINGER 0: the peer gets RST
                },
            });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            transport.Write(NetTest.Bytes("reset me"));
            await NetTest.Until(() => client.Lost, what: "client lost");
            Assert.Equal(["made", "lost:SocketException"], client.Events);
            Assert.Equal(SocketError.ConnectionReset, ((SocketException)client.LostError!).SocketErrorCode);
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void ResetByPeer_MidWrite_LostWithError_NoHang(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new RecordingProtocol
            {
                RecordData = false,
                OnMade = (_, t) => t.PauseReading(),
            });
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            await NetTest.Until(() => serverSide is { Transport: not null }, what: "server connection");
            // More than the socket buffers hold, so the rest is buffered past the high-water mark: loopback TCP can take
            // 4 MiB into the kernel when net.ipv4.tcp_rmem allows a 32 MiB receive window (seen on the CI machine).
            transport.Write(new byte[64 * 1024 * 1024]);
            Assert.True(transport.GetWriteBufferSize() > 0);
            var socket = (Socket)serverSide!.Transport!.GetExtraInfo("socket")!;
            if (family == "tcp")
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            serverSide.Transport.Abort();
            await NetTest.Until(() => client.Lost, what: "client lost");
            Assert.Equal("made", client.Events[0]);
            Assert.Equal("pause", client.Events[1]);
            Assert.StartsWith("lost:SocketException", client.Events[^1]);
        });
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void ThousandConcurrentConnections_EchoedIntact(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await NetTest.ServeAsync(loop, family,
                () => new RecordingProtocol { RecordData = false, OnData = (p, d) => p.Transport!.Write(d) },
                new ServerOptions { Backlog = 1024 });
            const int N = 1000;
            var clients = new List<AioTask<bool>>();
            for (int i = 0; i < N; i++)
            {
                int id = i;
                clients.Add(loop.CreateTask(async () =>
                {
                    var payload = new byte[2048 + id];
                    new Random(id).NextBytes(payload);
                    var received = new MemoryStream();
                    var (t, p) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol
                    {
                        RecordData = false,
                        OnData = (_, d) => received.Write(d),
                    });
                    t.Write(payload);
                    await NetTest.Until(() => received.Length >= payload.Length, 20, "echo");
                    t.Close();
                    await NetTest.Until(() => p.Lost, 20, "closed");
                    return received.ToArray().AsSpan().SequenceEqual(payload);
                }));
            }
            bool[] results = await Asyncio.Gather(clients.ToArray());
            Assert.All(results, Assert.True);
        }, timeoutSeconds: 60);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void ProtocolThrows_ReportedAndConnectionAborted_LoopGoesOn(string backEnd, string family)
    {
        var errors = new List<ExceptionContext>();
        NetTest.Run(backEnd, async loop =>
        {
            RecordingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new ThrowingProtocol());
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            transport.Write(NetTest.Bytes("boom"));
            await NetTest.Until(() => client.Lost && serverSide!.Lost, what: "both lost");
            Assert.Equal(["made", "lost:InvalidOperationException"], serverSide!.Events);
            Assert.Equal("lost:null", client.Events[^1]);
            // The loop still serves.
            var (t2, c2) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            t2.Close();
            await NetTest.Until(() => c2.Lost, what: "second client");
        }, errors: errors);
        ExceptionContext error = Assert.Single(errors);
        Assert.IsType<InvalidOperationException>(error.Exception);
        Assert.Contains("DataReceived", error.Message);
    }

    private sealed class ThrowingProtocol : RecordingProtocol
    {
        public override void DataReceived(ReadOnlySpan<byte> data) => throw new InvalidOperationException("protocol bug");
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void BufferedProtocol_ReceivesIntoItsOwnMemory(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await NetTest.ServeAsync(loop, family,
                () => new RecordingProtocol { RecordData = false, OnData = (p, d) => p.Transport!.Write(d) });
            var buffered = new CollectingBufferedProtocol();
            var (transport, _) = await NetTest.ConnectAsync(loop, server, () => buffered);
            var payload = new byte[300_000];
            new Random(7).NextBytes(payload);
            transport.Write(payload);
            await NetTest.Until(() => buffered.Received.Length == payload.Length, what: "echo");
            Assert.True(buffered.Received.ToArray().AsSpan().SequenceEqual(payload));
            Assert.True(buffered.Updates > 1);
            transport.Close();
            await NetTest.Until(() => buffered.Lost, what: "lost");
            Assert.Equal(["made", "lost"], buffered.Events);
        });
    }

    private sealed class CollectingBufferedProtocol : IBufferedProtocol
    {
        private readonly byte[] _memory = new byte[4096];

        public MemoryStream Received { get; } = new();

        public List<string> Events { get; } = [];

        public int Updates { get; private set; }

        public bool Lost { get; private set; }

        public void ConnectionMade(ITransport transport) => Events.Add("made");

        public Memory<byte> GetBuffer(int sizeHint) => _memory;

        public void BufferUpdated(int bytes)
        {
            Updates++;
            Received.Write(_memory, 0, bytes);
        }

        public void ConnectionLost(Exception? exception)
        {
            Lost = true;
            Events.Add("lost");
        }
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void SlowReader_WriterPaused_MemoryBounded(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            // The server streams as fast as it may: it writes while not paused, up to 32 MiB.
            int maxBuffered = 0;
            long sent = 0;
            const long Total = 32L * 1024 * 1024;
            var chunk = new byte[16 * 1024];
            StreamingProtocol? serverSide = null;
            await using Server server = await NetTest.ServeAsync(loop, family, () => serverSide = new StreamingProtocol());
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol { RecordData = false });
            transport.PauseReading();
            await NetTest.Until(() => serverSide is { Transport: not null }, what: "server connection");
            ITransport st = serverSide!.Transport!;
            for (int round = 0; round < 3; round++)
            {
                // Write until paused, then let the (slow) reader take a little.
                while (!serverSide.Paused && sent < Total)
                {
                    st.Write(chunk);
                    sent += chunk.Length;
                    maxBuffered = Math.Max(maxBuffered, st.GetWriteBufferSize());
                }
                Assert.True(serverSide.Paused);
                transport.ResumeReading();
                await NetTest.Until(() => !serverSide.Paused, what: "resume");
                transport.PauseReading();
            }
            Assert.True(maxBuffered <= 64 * 1024 + chunk.Length, $"write buffer grew to {maxBuffered} bytes");
            transport.ResumeReading();
            st.Close();
            await NetTest.Until(() => client.Lost, 20, "client lost");
            Assert.True(sent == client.BytesReceived, $"sent {sent}, received {client.BytesReceived}; client {string.Join(",", client.Events)} {client.LostError}");
        });
    }

    private sealed class StreamingProtocol : RecordingProtocol
    {
        public bool Paused { get; private set; }

        public override void PauseWriting() => Paused = true;

        public override void ResumeWriting() => Paused = false;
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public void ExtraInfo_And_Repr(string backEnd, string family)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await NetTest.ServeAsync(loop, family, () => new RecordingProtocol());
            var (transport, client) = await NetTest.ConnectAsync(loop, server, () => new RecordingProtocol());
            Assert.NotNull(transport.GetExtraInfo("peername"));
            Assert.NotNull(transport.GetExtraInfo("sockname"));
            Assert.IsType<Socket>(transport.GetExtraInfo("socket"));
            Assert.Equal("dflt", transport.GetExtraInfo("nope", "dflt"));
            string kind = family == "unix" ? "UnixTransport" : "TcpTransport";
            Assert.Matches($"^<{kind} fd=\\d+ read=polling write=<idle, bufsize=0>>$", transport.ToString());
            transport.PauseReading();
            Assert.Contains("read=paused", transport.ToString());
            Assert.False(transport.IsReading);
            transport.ResumeReading();
            Assert.True(transport.IsReading);
            await NetTest.Until(() => server.ActiveConnections == 1, what: "accepted");
            Assert.Matches("^<Server sockets=\\(.+\\) serving clients=1>$", server.ToString());
            transport.Close();
            await NetTest.Until(() => client.Lost, what: "lost");
            Assert.Equal($"<{kind} closed>", transport.ToString());
        });
    }
}
