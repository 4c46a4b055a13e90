using System.Net;
using System.Net.Sockets;

namespace Aio.Tests.Net;

/// <summary>Happy eyeballs, name resolution, and accept failures.</summary>
public class ConnectingTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    /// <summary>
    /// A black hole on loopback: a socket listening with backlog 0 on 127.0.0.2 whose one queue slot is taken
    /// by a connection nobody accepts; Linux then drops further SYNs, so a connect hangs (retrying the SYN).
    /// </summary>
    private sealed class BlackHole : IDisposable
    {
        private readonly Socket _listener;
        private readonly Socket _filler;

        public BlackHole(int port)
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), port));
            _listener.Listen(0);
            _filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _filler.Connect(_listener.LocalEndPoint!);
            EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        }

        public IPEndPoint EndPoint { get; }

        public void Dispose()
        {
            _filler.Dispose();
            _listener.Dispose();
        }
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void HappyEyeballs_FirstAddressBlackHoled_SecondAnswersAfterTheDelay(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await loop.CreateServerAsync(() => new RecordingProtocol(), "127.0.0.1", 0);
            int port = NetTest.Port(server);
            using var hole = new BlackHole(port);
            EndPoint[] endPoints = [hole.EndPoint, new IPEndPoint(IPAddress.Loopback, port)];

            double start = loop.Time();
            var (transport, client) = await loop.CreateConnectionToEndPointsAsync(() => new RecordingProtocol(), endPoints,
                new ConnectionOptions { HappyEyeballsDelay = 0.25 });
            double took = loop.Time() - start;

            Assert.Equal(new IPEndPoint(IPAddress.Loopback, port), transport.GetExtraInfo("peername"));
            Assert.InRange(took, 0.2, 5.0);   // the second attempt started after the 250 ms delay
            transport.Close();
            await NetTest.Until(() => client.Lost, what: "closed");
            await NetTest.Until(() => !Asyncio.AllTasks().Any(t => t.Name.StartsWith("happy-eyeballs", StringComparison.Ordinal)), 2, "losing attempts cancelled");
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void HappyEyeballs_FirstRefused_NextStartsAtOnce(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await loop.CreateServerAsync(() => new RecordingProtocol(), "127.0.0.1", 0);
            int port = NetTest.Port(server);
            EndPoint[] endPoints = [new IPEndPoint(IPAddress.Parse("127.0.0.3"), port), new IPEndPoint(IPAddress.Loopback, port)];
            double start = loop.Time();
            var (transport, client) = await loop.CreateConnectionToEndPointsAsync(() => new RecordingProtocol(), endPoints,
                new ConnectionOptions { HappyEyeballsDelay = 2.0 });
            Assert.True(loop.Time() - start < 1.5, "a refused attempt must start the next one at once, not after the delay");
            transport.Close();
            await NetTest.Until(() => client.Lost, what: "closed");
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void HappyEyeballs_AllRefused_ThrowsTheError(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            EndPoint[] endPoints = [new IPEndPoint(IPAddress.Parse("127.0.0.3"), port), new IPEndPoint(IPAddress.Loopback, port)];
            SocketException e = await Assert.ThrowsAsync<SocketException>(
                () => loop.CreateConnectionToEndPointsAsync(() => new RecordingProtocol(), endPoints));
            Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Connect_ByHostName_ResolvesOffTheLoop(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            await using Server server = await Asyncio.StartServerAsync(async (r, w) => { w.Write(await r.ReadLineAsync()); w.Close(); }, "127.0.0.1", 0);
            IPAddress[] addresses = await loop.GetAddressesAsync("localhost");
            Assert.Contains(IPAddress.Loopback, addresses);
            var (reader, writer) = await Asyncio.OpenConnectionAsync("localhost", NetTest.Port(server));
            writer.Write("name\n"u8);
            Assert.Equal("name\n"u8.ToArray(), await reader.ReadLineAsync());
            writer.Close();
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Accept_OutOfDescriptors_BacksOffWithoutSpinning_ThenServes(string backEnd)
    {
        var errors = new List<ExceptionContext>();
        NetTest.Run(backEnd, async loop =>
        {
            int served = 0;
            await using Server server = await loop.CreateServerAsync(
                () => { served++; return new RecordingProtocol(); }, "127.0.0.1", 0);
            server.AcceptRetryDelay = 0.2;
            bool failing = true;
            server.AcceptFaultForTests = () => failing ? 24 /* EMFILE */ : 0;

            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(server.Sockets[0]);   // completes in the kernel's backlog
            await Asyncio.Sleep(0.5);
            // Backing off 0.2 s between tries: a handful of reports in 0.5 s, not a spinning loop.
            Assert.InRange(server.AcceptErrors, 1, 5);
            Assert.Equal(0, served);
            Assert.True(server.IsServing);

            failing = false;
            await NetTest.Until(() => served == 1, 5, "served after the back-off");
        }, errors: errors);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.Contains("lack of resources", e.Message));
    }
}
