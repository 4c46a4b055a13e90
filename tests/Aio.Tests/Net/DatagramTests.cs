using System.Net;
using System.Text;

namespace Aio.Tests.Net;

/// <summary>UDP endpoints on both back ends.</summary>
public class DatagramTests
{
    public static TheoryData<string> BackEnds => NetTest.BackEndData();

    private sealed class Recorder : IDatagramProtocol
    {
        public IDatagramTransport? Transport { get; private set; }

        public List<string> Events { get; } = [];

        public List<(string Text, EndPoint From)> Received { get; } = [];

        public bool Echo { get; init; }

        public void ConnectionMade(IDatagramTransport transport)
        {
            Transport = transport;
            Events.Add("made");
        }

        public void DatagramReceived(ReadOnlySpan<byte> data, EndPoint remote)
        {
            Received.Add((Encoding.ASCII.GetString(data), remote));
            if (Echo)
            {
                Transport!.SendTo(data, remote);
            }
        }

        public void ErrorReceived(Exception exception) => Events.Add("error");

        public void ConnectionLost(Exception? exception) => Events.Add(exception is null ? "lost:null" : "lost:" + exception.GetType().Name);
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Udp_EchoRoundTrip_AndCallOrder(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            var (serverTransport, server) = await loop.CreateDatagramEndpointAsync(() => new Recorder { Echo = true }, local: new IPEndPoint(IPAddress.Loopback, 0));
            var serverAddress = (IPEndPoint)serverTransport.GetExtraInfo("sockname")!;
            var (clientTransport, client) = await loop.CreateDatagramEndpointAsync(() => new Recorder(), remote: serverAddress);
            Assert.Equal(serverAddress, clientTransport.GetExtraInfo("peername"));
            for (int i = 0; i < 10; i++)
            {
                clientTransport.SendTo(Encoding.ASCII.GetBytes($"ping {i}"));
            }
            await NetTest.Until(() => client.Received.Count == 10, what: "echoes");
            Assert.Equal(Enumerable.Range(0, 10).Select(i => $"ping {i}"), client.Received.Select(r => r.Text));
            Assert.All(server.Received, r => Assert.Equal(clientTransport.GetExtraInfo("sockname"), r.From));
            Assert.Throws<InvalidOperationException>(() => clientTransport.SendTo("x"u8, new IPEndPoint(IPAddress.Loopback, 9)));
            clientTransport.Close();
            serverTransport.Close();
            await NetTest.Until(() => client.Events.Count == 2 && server.Events.Count == 2, what: "closed");
            Assert.Equal(["made", "lost:null"], client.Events);
            Assert.Equal(["made", "lost:null"], server.Events);
        });
    }

    [Theory]
    [MemberData(nameof(BackEnds))]
    public void Udp_ConnectedToClosedPort_ErrorReceived(string backEnd)
    {
        NetTest.Run(backEnd, async loop =>
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var dead = (IPEndPoint)probe.LocalEndPoint!;
            probe.Dispose();   // nobody listens there now: ICMP port unreachable
            var (t, p) = await loop.CreateDatagramEndpointAsync(() => new Recorder(), remote: dead);
            for (int i = 0; i < 5 && !p.Events.Contains("error"); i++)
            {
                t.SendTo("anyone?"u8);
                await Asyncio.Sleep(0.05);
            }
            Assert.Contains("error", p.Events);
            t.Abort();
        });
    }
}
