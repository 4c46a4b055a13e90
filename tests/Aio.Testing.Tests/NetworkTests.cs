using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aio.Testing.Tests;

/// <summary>The simulated network: the ordinary Aio.Net calls reach in-memory links; each fault of the network, seen from a program.</summary>
public sealed class NetworkTests
{
    private static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    private static string S(byte[] b) => Encoding.UTF8.GetString(b);

    /// <summary>An echo server on host "server": each line comes back upper-cased.</summary>
    private static Task<Aio.Net.Server> StartEchoAsync(Simulation sim, int port = 7000) =>
        sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
        {
            await using (writer)
            {
                while (true)
                {
                    byte[] line = await reader.ReadLineAsync();
                    if (line.Length == 0)
                    {
                        return;
                    }
                    writer.Write(B(S(line).ToUpperInvariant()));
                    await writer.DrainAsync();
                }
            }
        }, null, port));

    [Fact]
    public void Run_EchoOverSimulatedNetwork_StreamsWorkAndNamesResolve()
    {
        var replies = new List<string>();
        Simulation sim = Simulation.Run(1, async sim =>
        {
            await using Aio.Net.Server server = await StartEchoAsync(sim);
            var (reader, writer) = await OpenConnectionAsync("server", 7000);
            foreach (string word in new[] { "hello\n", "simulated\n", "world\n" })
            {
                writer.Write(B(word));
                replies.Add(S(await reader.ReadLineAsync()));
            }
            writer.Close();
            await writer.WaitClosedAsync();
            Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 7000), server.Sockets[0]);
        });
        Assert.Equal(["HELLO\n", "SIMULATED\n", "WORLD\n"], replies);
        Assert.Contains(sim.Trace, r => r.Kind == "dns" && r.Detail == "server -> 10.0.0.2");
        Assert.True(sim.Now > 0, "virtual time moved with the latencies");
    }

    [Fact]
    public void Run_SameSeedTwice_IdenticalTraces()
    {
        static async Task Program(Simulation sim)
        {
            await using Aio.Net.Server server = await StartEchoAsync(sim);
            await TaskGroup.Run(async group =>
            {
                for (int c = 0; c < 3; c++)
                {
                    int id = c;
                    _ = group.CreateTask(async () =>
                    {
                        var (reader, writer) = await OpenConnectionAsync("server", 7000);
                        writer.Write(B($"client {id} says a fairly long line of text\n"));
                        await reader.ReadLineAsync();
                        writer.Close();
                        await writer.WaitClosedAsync();
                    });
                }
                await Task.CompletedTask;
            });
        }
        IReadOnlyList<SimulationTraceRecord> a = Simulation.Run(42, Program).Trace;
        IReadOnlyList<SimulationTraceRecord> b = Simulation.Run(42, Program).Trace;
        IReadOnlyList<SimulationTraceRecord> c = Simulation.Run(43, Program).Trace;
        Assert.True(a.Count > 20, $"a trace of {a.Count} records");
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Run_Segmentation_ReadsReturnArbitraryPieces()
    {
        var sizes = new List<int>();
        for (int seed = 1; sizes.Count < 2 && seed <= 10; seed++)
        {
            sizes.Clear();
            Simulation.Run(seed, async sim =>
            {
                await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
                {
                    await using (writer)
                    {
                        while (true)
                        {
                            byte[] piece = await reader.ReadAsync(1000);
                            if (piece.Length == 0)
                            {
                                return;
                            }
                            sizes.Add(piece.Length);
                        }
                    }
                }, null, 7000));
                var (_, writer) = await OpenConnectionAsync("server", 7000);
                writer.Write(new byte[100]);
                writer.Close();
                await writer.WaitClosedAsync();
                await server.ShutdownAsync(double.PositiveInfinity);
            });
        }
        Assert.Equal(100, sizes.Sum());
        Assert.True(sizes.Count > 1, $"one write of 100 bytes arrived in {sizes.Count} read(s)");

        var whole = new List<int>();
        Simulation.Run(3, async sim =>
        {
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    byte[] piece = await reader.ReadAsync(1000);
                    whole.Add(piece.Length);
                }
            }, null, 7000));
            var (_, writer) = await OpenConnectionAsync("server", 7000);
            writer.Write(new byte[100]);
            writer.Close();
            await writer.WaitClosedAsync();
            await server.ShutdownAsync(double.PositiveInfinity);
        }, new SimulationOptions { Segmentation = false });
        Assert.Equal([100], whole);
    }

    [Fact]
    public void Run_Latency_ArrivalTimesWithinTheBounds()
    {
        double sent = 0, arrived = 0;
        Simulation.Run(5, async sim =>
        {
            var got = new AioEvent();
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    await reader.ReadExactlyAsync(1);
                    arrived = sim.Now;
                    got.Set();
                }
            }, null, 7000));
            var (_, writer) = await OpenConnectionAsync("server", 7000);
            sent = sim.Now;
            writer.Write(B("x"));
            await got.WaitAsync();
            writer.Close();
            await writer.WaitClosedAsync();
        }, new SimulationOptions { MinLatency = 0.5, MaxLatency = 0.7 });
        Assert.InRange(arrived - sent, 0.5, 0.7);
    }

    [Fact]
    public void Run_Bandwidth_TransferTakesSizeOverBandwidth()
    {
        double elapsed = 0;
        Simulation.Run(6, async sim =>
        {
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    await reader.ReadExactlyAsync(10_000);
                    writer.Write(B("k"));
                }
            }, null, 7000));
            var (reader, writer) = await OpenConnectionAsync("server", 7000);
            double start = sim.Now;
            writer.Write(new byte[10_000]);
            await reader.ReadExactlyAsync(1);
            elapsed = sim.Now - start;
            writer.Close();
            await writer.WaitClosedAsync();
        }, new SimulationOptions { MinLatency = 0, MaxLatency = 0, MinBandwidth = 1000, MaxBandwidth = 1000 });
        Assert.InRange(elapsed, 10.001 - 1e-6, 10.001 + 1e-6);   // 10,000 bytes, then 1 byte back, at 1,000 bytes/s
    }

    [Fact]
    public void Run_ReorderingBetweenConnections_SomeSeedsDeliverTheLaterWriteFirst_NeverWithinOneConnection()
    {
        // Two connections; "a" is written before "b" at the same instant. Across seeds, the server sees both orders;
        // within one connection, bytes always arrive in the order written.
        var orders = new HashSet<string>();
        for (int seed = 1; seed <= 40; seed++)
        {
            var seen = new List<string>();
            Simulation.Run(seed, async sim =>
            {
                await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
                {
                    await using (writer)
                    {
                        byte[] data = await reader.ReadAsync(-1);
                        seen.Add(S(data));
                    }
                }, null, 7000));
                var (_, w1) = await OpenConnectionAsync("server", 7000);
                var (_, w2) = await OpenConnectionAsync("server", 7000);
                w1.Write(B("a1a2a3a4a5"));
                w2.Write(B("b"));
                w1.Close();
                w2.Close();
                await w1.WaitClosedAsync();
                await w2.WaitClosedAsync();
                await server.ShutdownAsync(double.PositiveInfinity);
            });
            Assert.Contains("a1a2a3a4a5", seen);
            orders.Add(string.Join(",", seen));
        }
        Assert.Equal(new HashSet<string> { "a1a2a3a4a5,b", "b,a1a2a3a4a5" }, orders);
    }

    [Fact]
    public void Reset_BothEndsReadConnectionReset()
    {
        var events = new List<string>();
        Simulation.Run(7, async sim =>
        {
            var handlerDone = new AioEvent();
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    try
                    {
                        await reader.ReadAsync(-1);
                        events.Add("server: eof");
                    }
                    catch (IOException e) when (e.InnerException is SocketException s)
                    {
                        events.Add($"server: {s.SocketErrorCode}");
                    }
                    handlerDone.Set();
                }
            }, null, 7000));
            var (reader, writer) = await OpenConnectionAsync("server", 7000);
            sim.Reset(sim.Connections[0]);
            try
            {
                await reader.ReadAsync(-1);
                events.Add("client: eof");
            }
            catch (IOException e) when (e.InnerException is SocketException s)
            {
                events.Add($"client: {s.SocketErrorCode}");
            }
            await handlerDone.WaitAsync();
            writer.Close();
            Assert.False(sim.Connections[0].IsOpen);
        });
        events.Sort(StringComparer.Ordinal);
        Assert.Equal(["client: ConnectionReset", "server: ConnectionReset"], events);
    }

    [Fact]
    public void ResetProbability_InjectsResetsIntoTheTrace()
    {
        var ok = 0;
        var reset = 0;
        for (int seed = 1; seed <= 20; seed++)
        {
            Simulation sim = Simulation.Run(seed, async sim =>
            {
                await using Aio.Net.Server server = await StartEchoAsync(sim);
                try
                {
                    var (reader, writer) = await OpenConnectionAsync("server", 7000);
                    writer.Write(B("ping\n"));
                    await reader.ReadLineAsync();
                    writer.Close();
                    await writer.WaitClosedAsync();
                    ok++;
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    reset++;
                }
                await server.ShutdownAsync(0);
            }, new SimulationOptions { ResetProbability = 0.5 });
        }
        Assert.True(ok > 0 && reset > 0, $"{ok} clean, {reset} reset");
    }

    [Fact]
    public void HalfClose_WriteEofThenTheServerStillAnswers()
    {
        string answer = "";
        Simulation.Run(8, async sim =>
        {
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    byte[] all = await reader.ReadAsync(-1);   // to EOF
                    writer.Write(B($"got {all.Length} bytes"));
                }
            }, null, 7000));
            var (reader, writer) = await OpenConnectionAsync("server", 7000);
            writer.Write(new byte[300]);
            writer.WriteEof();
            answer = S(await reader.ReadAsync(-1));
            writer.Close();
            await writer.WaitClosedAsync();
        });
        Assert.Equal("got 300 bytes", answer);
    }

    [Fact]
    public void Partition_StreamDataWaitsUntilItHeals_DatagramsAreLost()
    {
        double arrived = 0;
        var datagrams = new List<string>();
        Simulation.Run(9, async sim =>
        {
            var got = new AioEvent();
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    await reader.ReadExactlyAsync(1);
                    arrived = sim.Now;
                    got.Set();
                }
            }, null, 7000));
            var (_, sink) = await sim.OnHost("server", () => Loop().CreateDatagramEndpointAsync(() => new Collect(datagrams), new IPEndPoint(IPAddress.Any, 9000)));
            var (_, writer) = await OpenConnectionAsync("server", 7000);
            var (udp, _) = await Loop().CreateDatagramEndpointAsync(() => new Collect([]), remote: new IPEndPoint(sim.AddHost("server"), 9000));
            sim.Partition("local", "server", 5.0);
            double start = sim.Now;
            writer.Write(B("x"));
            udp.SendTo(B("lost"));
            await got.WaitAsync();
            arrived -= start;
            await Sleep(6);
            udp.SendTo(B("after"));
            await Sleep(1);
            udp.Close();
            sink.Transport!.Close();
            writer.Close();
            await writer.WaitClosedAsync();
        });
        Assert.InRange(arrived, 5.0, 5.1);
        Assert.Equal(["after"], datagrams);
    }

    private static EventLoop Loop() => EventLoop.GetRunningLoop();

    private sealed class Collect(List<string> into) : IDatagramProtocol
    {
        public IDatagramTransport? Transport { get; private set; }

        public void ConnectionMade(IDatagramTransport transport) => Transport = transport;

        public void DatagramReceived(ReadOnlySpan<byte> data, EndPoint remote) => into.Add(Encoding.UTF8.GetString(data));

        public void ConnectionLost(Exception? exception)
        {
        }
    }

    [Fact]
    public void Datagrams_DropAndDuplicate_ByTheSeed()
    {
        var counts = new List<int>();
        for (int seed = 1; seed <= 10; seed++)
        {
            var got = new List<string>();
            Simulation sim = Simulation.Run(seed, async sim =>
            {
                var (sink, _) = await sim.OnHost("server", () => Loop().CreateDatagramEndpointAsync(() => new Collect(got), new IPEndPoint(IPAddress.Any, 9000)));
                var (udp, _) = await Loop().CreateDatagramEndpointAsync(() => new Collect([]), remote: new IPEndPoint(sim.AddHost("server"), 9000));
                for (int i = 0; i < 20; i++)
                {
                    udp.SendTo(B($"{i}"));
                }
                await Sleep(1);
                udp.Close();
                sink.Close();
            }, new SimulationOptions { DatagramDropProbability = 0.3, DatagramDuplicateProbability = 0.3 });
            int drops = sim.Trace.Count(r => r.Kind == "fault" && r.Detail.Contains("drop", StringComparison.Ordinal));
            int dups = sim.Trace.Count(r => r.Kind == "fault" && r.Detail.Contains("duplicate", StringComparison.Ordinal));
            Assert.Equal(20 - drops + dups, got.Count);
            counts.Add(got.Count);
            if (seed == 1)
            {
                // Datagrams are not kept in order: each draws its own latency.
                Assert.NotEqual(got.Distinct().OrderBy(int.Parse).ToList(), got.Distinct().ToList());
            }
        }
        Assert.True(counts.Distinct().Count() > 1);
    }

    [Fact]
    public void Dns_UnknownNameFailsWhenHostsAreDeclared_FailDnsFailsForAWhile()
    {
        var results = new List<string>();
        Simulation.Run(10, async sim =>
        {
            sim.AddHost("db");
            try
            {
                await Loop().GetAddressesAsync("nowhere");
            }
            catch (SocketException e)
            {
                results.Add($"nowhere: {e.SocketErrorCode}");
            }
            sim.FailDns("db", 2.0);
            try
            {
                await Loop().GetAddressesAsync("db");
            }
            catch (SocketException e)
            {
                results.Add($"db: {e.SocketErrorCode}");
            }
            await Sleep(2);
            results.Add($"db: {(await Loop().GetAddressesAsync("db"))[0]}");
        }, new SimulationOptions { AutoCreateHosts = false });
        Assert.Equal(["nowhere: HostNotFound", "db: HostNotFound", "db: 10.0.0.2"], results);
    }

    [Fact]
    public void Connect_NobodyListening_Refused()
    {
        SocketError? error = null;
        Simulation.Run(11, async sim =>
        {
            try
            {
                await OpenConnectionAsync("server", 1234);
            }
            catch (SocketException e)
            {
                error = e.SocketErrorCode;
            }
        });
        Assert.Equal(SocketError.ConnectionRefused, error);
    }

    [Fact]
    public void Protocols_CreateServerAndCreateConnection_GoThroughTheSimulation()
    {
        var received = new List<string>();
        Simulation.Run(12, async sim =>
        {
            EventLoop loop = Loop();
            var done = new AioEvent();
            Aio.Net.Server server = await sim.OnHost("server", () => loop.CreateServerAsync(() => new Recorder(received, done), null, 8000));
            var (transport, _) = await loop.CreateConnectionAsync(() => new Recorder([], null), "server", 8000);
            transport.Write(B("abc"));
            transport.Close();
            await done.WaitAsync();
            server.Close();
            await server.WaitClosedAsync();
        });
        Assert.Equal("made,abc,eof,lost", string.Join(",", received.Aggregate(new List<string>(), (acc, s) =>
        {
            if (s.StartsWith("data:", StringComparison.Ordinal) && acc.Count > 0 && acc[^1].StartsWith("data:", StringComparison.Ordinal))
            {
                acc[^1] += s[5..];
            }
            else
            {
                acc.Add(s);
            }
            return acc;
        }).Select(s => s.StartsWith("data:", StringComparison.Ordinal) ? s[5..] : s)));
    }

    private sealed class Recorder(List<string> log, AioEvent? done) : IProtocol
    {
        public void ConnectionMade(ITransport transport) => log.Add("made");

        public void DataReceived(ReadOnlySpan<byte> data) => log.Add("data:" + Encoding.UTF8.GetString(data));

        public bool EofReceived()
        {
            log.Add("eof");
            return false;
        }

        public void ConnectionLost(Exception? exception)
        {
            log.Add("lost");
            done?.Set();
        }
    }
}
