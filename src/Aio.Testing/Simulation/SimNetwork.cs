// SimNetwork: the simulated network of a Simulation (its INetworkProvider).
//
// Design note. Hosts have names and addresses 10.0.x.y; names resolve through a simulated DNS. A connection is two
// ends; each direction is an in-order byte pipe: a write is cut into seeded segments, each arriving after a seeded
// latency (plus its transmission time at the connection's bandwidth), never before the segment sent before it, so a
// TCP stream keeps its order while segments of different connections interleave as the seed says. A direction
// carries at most Options.Window bytes not yet read by the receiver; beyond that Send takes nothing (flow control).
// Readiness is level-triggered like epoll: while an end's interest is set and its condition holds, its callback is
// called once per loop iteration (a CallSoon), never inside a call of the provider interfaces.
using System.Net;
using System.Net.Sockets;
using Aio.LowLevel;

namespace Aio.Testing;

internal sealed class SimNetwork(Simulation sim) : INetworkProvider
{
    internal static readonly AsyncLocal<string?> CurrentHostName = new();

    private readonly Dictionary<string, SimHost> _hosts = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<IPAddress, SimHost> _byAddress = new();
    private readonly Dictionary<(string Host, int Port), SimListener> _listeners = new();
    private readonly Dictionary<string, SimListener> _unixListeners = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Host, int Port), SimDatagramSocket> _datagrams = new();
    private readonly List<(string A, string B, double Until)> _partitions = [];
    private readonly Dictionary<string, double> _dnsFailures = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<SimulatedConnection> _connections = [];
    private readonly Dictionary<string, IPAddress[]> _resolved = new(StringComparer.OrdinalIgnoreCase);

    public Simulation Sim => sim;

    public IReadOnlyList<SimulatedConnection> Connections => _connections;

    public SimHost CurrentHost => GetOrAddHost(CurrentHostName.Value ?? "local");

    public SimHost GetOrAddHost(string name)
    {
        if (!_hosts.TryGetValue(name, out SimHost? host))
        {
            int n = _hosts.Count + 1;
            host = new SimHost(name, new IPAddress([10, 0, (byte)(n / 250), (byte)(n % 250 + 1)]));
            _hosts[name] = host;
            _byAddress[host.Address] = host;
        }
        return host;
    }

    private SimHost? HostOf(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            return CurrentHost;
        }
        return _byAddress.GetValueOrDefault(address);
    }

    // ----------------------------------------------------------------- faults and link parameters

    public void Partition(string a, string b, double until) => _partitions.Add((a, b, until));

    public void FailDns(string name, double until) => _dnsFailures[name] = until;

    /// <summary>When traffic between two hosts may flow again (now when they are not partitioned).</summary>
    public double HealedAt(SimHost a, SimHost b)
    {
        double at = sim.Now;
        foreach ((string pa, string pb, double until) in _partitions)
        {
            if (until > at && ((pa.Equals(a.Name, StringComparison.OrdinalIgnoreCase) && pb.Equals(b.Name, StringComparison.OrdinalIgnoreCase))
                || (pa.Equals(b.Name, StringComparison.OrdinalIgnoreCase) && pb.Equals(a.Name, StringComparison.OrdinalIgnoreCase))))
            {
                at = until;
            }
        }
        return at;
    }

    /// <summary>One seeded one-way latency, with an occasional removable spike.</summary>
    public double Latency(string verb, object subject) => Latency(sim.NetworkFaults, verb, subject);

    /// <summary>One seeded one-way latency drawn from <paramref name="source"/>, with an occasional removable spike.</summary>
    public double Latency(FaultSource source, string verb, object subject)
    {
        SimulationOptions o = sim.Options;
        double latency = source.Random.Between(o.MinLatency, o.MaxLatency);
        if (o.DelaySpikeProbability > 0)
        {
            double spike = source.Random.Between(0, o.DelaySpike);
            if (sim.DrawFault(source, o.DelaySpikeProbability, $"delay spike {spike:0.######} s on {verb}", subject))
            {
                latency += spike;
            }
        }
        return latency;
    }

    // ----------------------------------------------------------------- DNS

    public async Task<IPAddress[]> ResolveAsync(string host)
    {
        // A resolver caches answers: a name looked up once answers at once (unless a DNS fault is on for it).
        if (_resolved.TryGetValue(host, out IPAddress[]? cached) && !(_dnsFailures.TryGetValue(host, out double failing) && failing > sim.Now))
        {
            return cached;
        }
        AioFuture<IPAddress[]> answer = sim.Loop.CreateFuture<IPAddress[]>();
        sim.Schedule(sim.Now + Latency("dns", host), () =>
        {
            if (answer.Done)
            {
                return;
            }
            if (_dnsFailures.TryGetValue(host, out double until) && until > sim.Now)
            {
                sim.Record("dns", $"{host} -> failed (fault)");
                answer.SetException(new SocketException((int)SocketError.HostNotFound));
                return;
            }
            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
            {
                answer.SetResult([IPAddress.Loopback]);
                return;
            }
            if (!_hosts.TryGetValue(host, out SimHost? h) && !sim.Options.AutoCreateHosts)
            {
                sim.Record("dns", $"{host} -> not found");
                answer.SetException(new SocketException((int)SocketError.HostNotFound));
                return;
            }
            h ??= GetOrAddHost(host);
            _resolved[host] = [h.Address];
            if (sim.Tracing)
            {
                sim.Record("dns", $"{host} -> {h.Address}");
            }
            answer.SetResult([h.Address]);
        });
        return await answer;
    }

    // ----------------------------------------------------------------- streams

    public INetworkListener Listen(EndPoint endPoint, int backlog)
    {
        if (endPoint is UnixDomainSocketEndPoint unix)
        {
            string path = unix.ToString();
            if (_unixListeners.TryGetValue(path, out SimListener? live) && !live.Closed)
            {
                throw new SocketException((int)SocketError.AddressAlreadyInUse);
            }
            var l = new SimListener(this, CurrentHost, unix, () => _unixListeners.Remove(path));
            _unixListeners[path] = l;
            if (sim.Tracing)
            {
                sim.Record("listen", $"{CurrentHost.Name} {path}");
            }
            return l;
        }
        var ip = (IPEndPoint)endPoint;
        SimHost host = HostOf(ip.Address) ?? throw new SocketException((int)SocketError.AddressNotAvailable);
        int port = ip.Port == 0 ? host.NextPort() : ip.Port;
        if (_listeners.ContainsKey((host.Name, port)))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }
        var listener = new SimListener(this, host, new IPEndPoint(host.Address, port), () => _listeners.Remove((host.Name, port)));
        _listeners[(host.Name, port)] = listener;
        if (sim.Tracing)
        {
            sim.Record("listen", $"{host.Name}:{port}");
        }
        return listener;
    }

    public async Task<INetworkConnection> ConnectAsync(EndPoint remote, EndPoint? local)
    {
        SimHost from = CurrentHost;
        SimHost? to;
        Func<SimListener?> find;
        string target;
        if (remote is UnixDomainSocketEndPoint unix)
        {
            to = from;
            string path = unix.ToString();
            find = () => _unixListeners.GetValueOrDefault(path);
            target = path;
        }
        else
        {
            var ip = (IPEndPoint)remote;
            to = HostOf(ip.Address);
            find = () => to is null ? null : _listeners.GetValueOrDefault((to.Name, ip.Port));
            target = $"{to?.Name ?? ip.Address.ToString()}:{ip.Port}";
        }
        AioFuture<INetworkConnection> done = sim.Loop.CreateFuture<INetworkConnection>();
        int localPort = local is IPEndPoint { Port: > 0 } lp ? lp.Port : from.NextPort();
        if (sim.Tracing)
        {
            sim.Record("connect", $"{from.Name}:{localPort} -> {target}");
        }
        if (to is null)
        {
            sim.Schedule(sim.Now + Latency("connect", remote), () => done.TrySetException(new SocketException((int)SocketError.HostUnreachable)));
            return await done;
        }
        double synArrives = HealedAt(from, to) + Latency("syn", target);
        sim.Schedule(synArrives, () =>
        {
            SimListener? listener = find();
            double back = HealedAt(from, to) + Latency("syn-ack", target);
            if (listener is null || listener.Closed)
            {
                sim.Record("refused", $"{from.Name}:{localPort} -> {target}");
                sim.Schedule(back, () => done.TrySetException(new SocketException((int)SocketError.ConnectionRefused)));
                return;
            }
            EndPoint clientEnd = remote is UnixDomainSocketEndPoint ? remote : new IPEndPoint(from.Address, localPort);
            var connection = new SimulatedConnection(this, _connections.Count + 1, from, to, clientEnd, listener.LocalEndPoint);
            _connections.Add(connection);
            if (sim.Tracing)
            {
                sim.Record("accept", $"{connection}");
            }
            listener.Enqueue(connection.ServerEnd);
            sim.Schedule(back, () =>
            {
                if (!done.TrySetResult(connection.ClientEnd))
                {
                    connection.ClientEnd.Close(); // the connecting task gave up (cancelled): the server sees EOF
                }
                else
                {
                    sim.Record("connected", $"{connection}");
                }
            });
        });
        return await done;
    }

    // ----------------------------------------------------------------- datagrams

    public INetworkDatagramSocket OpenDatagram(IPEndPoint? local, IPEndPoint? remote)
    {
        SimHost host = local is null ? CurrentHost : HostOf(local.Address) ?? throw new SocketException((int)SocketError.AddressNotAvailable);
        int port = local is { Port: > 0 } ? local.Port : host.NextPort();
        if (_datagrams.ContainsKey((host.Name, port)))
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse);
        }
        var socket = new SimDatagramSocket(this, host, port);
        _datagrams[(host.Name, port)] = socket;
        if (sim.Tracing)
        {
            sim.Record("bind", $"udp {host.Name}:{port}");
        }
        return socket;
    }

    internal void CloseDatagram(SimDatagramSocket socket) => _datagrams.Remove((socket.Host.Name, socket.Port));

    internal void SendDatagram(SimDatagramSocket from, byte[] data, EndPoint remote)
    {
        var ip = (IPEndPoint)remote;
        SimHost? to = HostOf(ip.Address);
        string what = $"udp {from.Host.Name}:{from.Port} -> {to?.Name ?? ip.Address.ToString()}:{ip.Port} {data.Length} B";
        if (to is null)
        {
            sim.Record("lost", what + " (no such host)");
            return;
        }
        if (HealedAt(from.Host, to) > sim.Now)
        {
            sim.Record("lost", what + " (partition)");
            return;
        }
        if (sim.DrawFault(from.Faults, sim.Options.DatagramDropProbability, "drop", what))
        {
            return;
        }
        int copies = sim.DrawFault(from.Faults, sim.Options.DatagramDuplicateProbability, "duplicate", what) ? 2 : 1;
        var sender = new IPEndPoint(from.Host.Address, from.Port);
        for (int i = 0; i < copies; i++)
        {
            sim.Schedule(sim.Now + Latency(from.Faults, "udp", what), () =>
            {
                if (_datagrams.TryGetValue((to.Name, ip.Port), out SimDatagramSocket? target))
                {
                    sim.Record("udp", what);
                    target.Deliver(data, sender);
                }
                else
                {
                    sim.Record("lost", what + " (nobody bound)");
                }
            });
        }
    }
}

/// <summary>A simulated host: a name and an address.</summary>
internal sealed class SimHost(string name, IPAddress address)
{
    private int _nextPort = 49152;

    public string Name => name;

    public IPAddress Address => address;

    public int NextPort() => _nextPort++;
}

internal sealed class SimListener(SimNetwork network, SimHost host, EndPoint endPoint, Action unregister) : INetworkListener
{
    private readonly Queue<SimEnd> _backlog = new();
    private Action<INetworkConnection>? _accepted;
    private bool _delivering;

    public EndPoint LocalEndPoint => endPoint;

    public SimHost Host => host;

    public bool Closed { get; private set; }

    public void StartAccepting(Action<INetworkConnection> accepted)
    {
        _accepted = accepted;
        Deliver();
    }

    public void StopAccepting() => _accepted = null;

    public void Close()
    {
        if (Closed)
        {
            return;
        }
        Closed = true;
        _accepted = null;
        unregister();
        if (network.Sim.Tracing)
        {
            network.Sim.Record("close", $"listener {endPoint}");
        }
        while (_backlog.TryDequeue(out SimEnd? end))
        {
            end.Connection.Reset(); // connections never accepted are reset, as a kernel does
        }
    }

    public void Enqueue(SimEnd end)
    {
        _backlog.Enqueue(end);
        Deliver();
    }

    private void Deliver()
    {
        if (_delivering || _accepted is null || _backlog.Count == 0)
        {
            return;
        }
        _delivering = true;
        network.Sim.Loop.CallSoon(() =>
        {
            _delivering = false;
            while (_accepted is { } accepted && _backlog.TryDequeue(out SimEnd? end))
            {
                accepted(end);
            }
        });
    }
}

/// <summary>
/// A connection of the simulated network (<see cref="Simulation.Connections"/>): its hosts and addresses, whether it is
/// still open, and a way to reset it (<see cref="Simulation.Reset"/>).
/// </summary>
public sealed class SimulatedConnection
{
    private readonly SimNetwork _network;

    internal SimulatedConnection(SimNetwork network, int id, SimHost client, SimHost server, EndPoint clientEnd, EndPoint serverEnd)
    {
        _network = network;
        Id = id;
        ClientHost = client.Name;
        ServerHost = server.Name;
        ClientEnd = new SimEnd(this, client, clientEnd, serverEnd);
        ServerEnd = new SimEnd(this, server, serverEnd, clientEnd);
        ClientEnd.Peer = ServerEnd;
        ServerEnd.Peer = ClientEnd;
        Faults = network.Sim.NewFaultSource($"conn#{id}");
        double bandwidth = Faults.Random.Between(network.Sim.Options.MinBandwidth, network.Sim.Options.MaxBandwidth);
        ClientEnd.Bandwidth = bandwidth;
        ServerEnd.Bandwidth = bandwidth;
    }

    /// <summary>The connection's number in the run (1, 2, …).</summary>
    public int Id { get; }

    /// <summary>The host that connected.</summary>
    public string ClientHost { get; }

    /// <summary>The host that accepted.</summary>
    public string ServerHost { get; }

    /// <summary>True until both ends are closed or the connection is reset.</summary>
    public bool IsOpen => !(ClientEnd.Closed || ClientEnd.Error != SocketError.Success) || !(ServerEnd.Closed || ServerEnd.Error != SocketError.Success);

    internal SimEnd ClientEnd { get; }

    internal SimEnd ServerEnd { get; }

    internal SimNetwork Network => _network;

    internal FaultSource Faults { get; }

    internal void Reset()
    {
        _network.Sim.Record("reset", ToString());
        ClientEnd.ResetNow();
        ServerEnd.ResetNow();
    }

    /// <summary><c>conn#1 local:49152->db:5432</c>.</summary>
    public override string ToString() => $"conn#{Id} {ClientHost}:{Port(ClientEnd.Local)}->{ServerHost}:{Port(ServerEnd.Local)}";

    private static string Port(EndPoint e) => e is IPEndPoint ip ? ip.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) : e.ToString()!;
}

/// <summary>One end of a simulated connection: what it has received, and its half of the sending.</summary>
internal sealed class SimEnd(SimulatedConnection connection, SimHost host, EndPoint local, EndPoint remote) : INetworkConnection
{
    private readonly Queue<byte[]> _incoming = new();
    private readonly Queue<(double At, byte[]? Segment)> _transit = new();   // this end -> peer, in order; null: EOF
    private int _headOffset;
    private int _unread;          // bytes arrived and not yet received
    private int _inFlight;        // bytes this end sent that have not arrived yet
    private double _lastArrival;  // this end -> peer: no segment arrives before the one sent before it
    private double _sendFree;     // when this end's link is free to transmit (bandwidth)
    private bool _eofArrived;
    private bool _shutdownSent;
    private bool _wantRead;
    private bool _wantWrite;
    private bool _kickScheduled;
    private Action? _readable;
    private Action? _writable;
    private Action? _deliver;

    public SimulatedConnection Connection => connection;

    public SimEnd Peer { get; set; } = null!;

    public double Bandwidth { get; set; } = double.PositiveInfinity;

    public EndPoint Local => local;

    public bool Closed { get; private set; }

    public SocketError Error { get; private set; }

    public EndPoint LocalEndPoint => local;

    public EndPoint RemoteEndPoint => remote;

    private Simulation Sim => connection.Network.Sim;

    private string Direction => $"conn#{connection.Id} {host.Name}->{Peer.HostName}";

    public override string ToString() => Direction;

    private string HostName => host.Name;

    private int Space => Sim.Options.Window - (Peer._unread + _inFlight);

    public void Start(Action readable, Action writable)
    {
        _readable = readable;
        _writable = writable;
    }

    public void SetInterest(bool read, bool write)
    {
        _wantRead = read;
        _wantWrite = write;
        Kick();
    }

    public int Receive(Span<byte> buffer, out SocketError socketError)
    {
        if (Error != SocketError.Success)
        {
            socketError = Error;
            return -1;
        }
        if (_unread == 0)
        {
            socketError = _eofArrived ? SocketError.Success : SocketError.WouldBlock;
            return _eofArrived ? 0 : -1;
        }
        byte[] head = _incoming.Peek();
        int n = Math.Min(buffer.Length, head.Length - _headOffset);
        head.AsSpan(_headOffset, n).CopyTo(buffer);
        _headOffset += n;
        _unread -= n;
        if (_headOffset == head.Length)
        {
            _incoming.Dequeue();
            _headOffset = 0;
        }
        Peer.Kick(); // window space for the sender
        socketError = SocketError.Success;
        return n;
    }

    public int Send(ReadOnlySpan<byte> data, out SocketError socketError)
    {
        if (Error != SocketError.Success)
        {
            socketError = Error;
            return -1;
        }
        if (Closed || _shutdownSent)
        {
            socketError = SocketError.Shutdown;
            return -1;
        }
        socketError = SocketError.Success;
        int take = Math.Min(data.Length, Space);
        if (take <= 0)
        {
            return 0;
        }
        SimNetwork network = connection.Network;
        // Segmentation: half the writes go out whole; the others are cut at one or two seeded points.
        SimRandom random = connection.Faults.Random;
        int cuts = Sim.Options.Segmentation && take > 1 ? random.Next(4) - 1 : 0;
        int offset = 0;
        while (offset < take)
        {
            int left = take - offset;
            int size = cuts-- > 0 && left > 1 ? 1 + random.Next(left - 1) : left;
            byte[] segment = data.Slice(offset, size).ToArray();
            offset += size;
            _inFlight += size;
            double start = Math.Max(Math.Max(Sim.Now, _sendFree), network.HealedAt(host, Peer.HostOf));
            _sendFree = double.IsPositiveInfinity(Bandwidth) ? start : start + size / Bandwidth;
            double arrival = Math.Max(_sendFree + network.Latency(connection.Faults, "segment", this), _lastArrival);
            _lastArrival = arrival;
            _transit.Enqueue((arrival, segment));
            Sim.Schedule(arrival, Arrive);
        }
        if (Sim.DrawFault(connection.Faults, Sim.Options.ResetProbability, "reset", connection))
        {
            Sim.Schedule(Sim.Now + random.Between(0, _lastArrival - Sim.Now + Sim.Options.MaxLatency), connection.Reset);
        }
        return take;
    }

    private SimHost HostOf => host;

    /// <summary>Delivers, in order, what of this direction has arrived by now (segments that arrive at the same instant keep their order).</summary>
    private void Arrive()
    {
        while (_transit.TryPeek(out (double At, byte[]? Segment) head) && head.At <= Sim.Now + 1e-12)
        {
            _transit.Dequeue();
            if (head.Segment is null)
            {
                ArriveEof();
            }
            else
            {
                ArriveSegment(head.Segment);
            }
        }
    }

    private void ArriveSegment(byte[] segment)
    {
        _inFlight -= segment.Length;
        SimEnd peer = Peer;
        if (peer.Closed || peer.Error != SocketError.Success)
        {
            if (Sim.Tracing)
            {
                Sim.Record("discard", $"{Direction} {segment.Length} B (peer gone)");
            }
            Kick();
            return;
        }
        if (Sim.Tracing)
        {
            Sim.Record("data", $"{Direction} {segment.Length} B");
        }
        peer._incoming.Enqueue(segment);
        peer._unread += segment.Length;
        peer.Kick();
    }

    public void ShutdownSend()
    {
        if (_shutdownSent || Error != SocketError.Success)
        {
            return;
        }
        _shutdownSent = true;
        double arrival = Math.Max(Math.Max(Sim.Now, _sendFree) + connection.Network.Latency(connection.Faults, "eof", this), _lastArrival);
        _lastArrival = arrival;
        _transit.Enqueue((arrival, null));
        Sim.Schedule(arrival, Arrive);
    }

    private void ArriveEof()
    {
        if (Peer.Error != SocketError.Success)
        {
            return;
        }
        if (Sim.Tracing)
        {
            Sim.Record("eof", Direction);
        }
        Peer._eofArrived = true;
        Peer.Kick();
    }

    public void Close()
    {
        if (Closed)
        {
            return;
        }
        ShutdownSend();
        Closed = true;
        _wantRead = _wantWrite = false;
        _incoming.Clear();
        _unread = 0;
        if (Sim.Tracing)
        {
            Sim.Record("close", $"conn#{connection.Id} by {host.Name}");
        }
        Peer.Kick(); // its window is free again
    }

    internal void ResetNow()
    {
        if (Closed || Error != SocketError.Success)
        {
            return;
        }
        Error = SocketError.ConnectionReset;
        _incoming.Clear();
        _unread = 0;
        Kick();
    }

    /// <summary>Level-triggered readiness: once per loop iteration while an interest is set and its condition holds.</summary>
    private void Kick()
    {
        if (_kickScheduled || Closed || _readable is null || !(ReadReady || WriteReady))
        {
            return;
        }
        _kickScheduled = true;
        Sim.Loop.CallSoon(_deliver ??= Deliver);
    }

    private bool ReadReady => _wantRead && (_unread > 0 || _eofArrived || Error != SocketError.Success);

    private bool WriteReady => _wantWrite && (Space > 0 || Error != SocketError.Success);

    private void Deliver()
    {
        _kickScheduled = false;
        if (Closed)
        {
            return;
        }
        if (ReadReady)
        {
            _readable!();
        }
        if (!Closed && WriteReady)
        {
            _writable!();
        }
        Kick();
    }
}

internal sealed class SimDatagramSocket(SimNetwork network, SimHost host, int port) : INetworkDatagramSocket
{
    private readonly Queue<(byte[] Data, EndPoint From)> _early = new();
    private NetworkDatagramHandler? _handler;
    private bool _closed;

    public SimHost Host => host;

    public int Port => port;

    public FaultSource Faults { get; } = network.Sim.NewFaultSource($"udp {host.Name}:{port}");

    public EndPoint LocalEndPoint { get; } = new IPEndPoint(host.Address, port);

    public void Start(NetworkDatagramHandler received)
    {
        _handler = received;
        if (_early.Count > 0)
        {
            network.Sim.Loop.CallSoon(() =>
            {
                while (!_closed && _early.TryDequeue(out (byte[] Data, EndPoint From) d))
                {
                    _handler(d.Data, d.From);
                }
            });
        }
    }

    public void SendTo(ReadOnlySpan<byte> data, EndPoint remote)
    {
        if (!_closed)
        {
            network.SendDatagram(this, data.ToArray(), remote);
        }
    }

    public void Deliver(byte[] data, EndPoint from)
    {
        if (_closed)
        {
            return;
        }
        if (_handler is null)
        {
            _early.Enqueue((data, from));
            return;
        }
        _handler(data, from);
    }

    public void Close()
    {
        if (_closed)
        {
            return;
        }
        _closed = true;
        network.CloseDatagram(this);
    }
}
