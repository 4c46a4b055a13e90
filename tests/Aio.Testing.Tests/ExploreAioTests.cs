using System.Globalization;
using System.Text;
using Aio.Http;
using Xunit.Abstractions;

namespace Aio.Testing.Tests;

/// <summary>
/// The explorer run over Aio itself: the primitives and queues under seeded interleavings, the streams over a
/// segmenting, flow-controlled network, and the Aio.Http server under concurrent keep-alive clients, with and without
/// resets. Each must pass every seed: what they found is in the report of the issue (and fixed where it was Aio's).
/// </summary>
public sealed class ExploreAioTests(ITestOutputHelper output)
{
    private void AssertPasses(ExploreResult result, int seeds)
    {
        output.WriteLine($"{result.SeedsRun} seeds in {result.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(result.Failure is null, result.Failure?.Describe(60));
        Assert.Equal(seeds, result.SeedsRun);
    }

    [Fact]
    public void Primitives_QueueLockSemaphoreCondition_UnderSeededInterleavings()
    {
        var consumed = new List<(int Producer, int Item)>();
        int inside = 0, maxInside = 0, maxHolders = 0, holders = 0;
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 500), async sim =>
        {
            consumed.Clear();
            inside = maxInside = holders = maxHolders = 0;
            var queue = new AioQueue<(int, int)>(maxsize: 2);
            var gate = new AioLock();
            var slots = new AioSemaphore(2);
            var ready = new AioCondition();
            bool go = false;
            await TaskGroup.Run(async g =>
            {
                for (int p = 0; p < 3; p++)
                {
                    int producer = p;
                    _ = g.CreateTask(async () =>
                    {
                        using (await ready.AcquireAsync())
                        {
                            await ready.WaitForAsync(() => go);
                        }
                        for (int i = 0; i < 4; i++)
                        {
                            await Sleep(sim.NextDouble() * 0.01);
                            await queue.PutAsync((producer, i));
                        }
                    });
                }
                for (int c = 0; c < 2; c++)
                {
                    _ = g.CreateTask(async () =>
                    {
                        for (int n = 0; n < 6; n++)
                        {
                            (int, int) item = await queue.GetAsync();
                            using (await slots.AcquireAsync())
                            {
                                maxHolders = Math.Max(maxHolders, ++holders);
                                await Sleep(sim.NextDouble() * 0.005);
                                holders--;
                            }
                            using (await gate.AcquireAsync())
                            {
                                maxInside = Math.Max(maxInside, ++inside);
                                await Sleep(sim.NextDouble() * 0.002);
                                consumed.Add(item);
                                inside--;
                            }
                            queue.TaskDone();
                        }
                    });
                }
                await Sleep(0.001);
                using (await ready.AcquireAsync())
                {
                    go = true;
                    ready.NotifyAll();
                }
                await queue.JoinAsync();
            });
        }, _ => consumed.Count == 12 && maxInside == 1 && maxHolders <= 2
            && consumed.GroupBy(x => x.Producer).All(g => g.Select(x => x.Item).Order().SequenceEqual([0, 1, 2, 3])));
        AssertPasses(result, 500);
    }

    [Fact]
    public void Streams_LargeTransfersOverASmallWindow_ArriveByteExact()
    {
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 200), async sim =>
        {
            int size = 5_000 + sim.Next(20_000);
            byte[] payload = new byte[size];
            for (int i = 0; i < size; i++)
            {
                payload[i] = (byte)(i * 7 + size);
            }
            byte[]? echoed = null;
            await using Aio.Net.Server server = await sim.OnHost("server", () => StartServerAsync(async (reader, writer) =>
            {
                await using (writer)
                {
                    // Echo in lines and pieces: ReadUntil and ReadExactly over arbitrary segmentation.
                    byte[] header = await reader.ReadUntilAsync("\n"u8.ToArray());
                    int n = int.Parse(Encoding.ASCII.GetString(header).Trim(), CultureInfo.InvariantCulture);
                    while (n > 0)
                    {
                        byte[] piece = await reader.ReadExactlyAsync(Math.Min(n, 1 + sim.Next(9000)));
                        writer.Write(piece);
                        await writer.DrainAsync();
                        n -= piece.Length;
                    }
                }
            }, null, 7000, new Aio.Net.StreamOptions { Limit = 4096 }));
            var (reader, writer) = await OpenConnectionAsync("server", 7000, new Aio.Net.StreamOptions { Limit = 4096 });
            AioTask<byte[]> receive = CreateTask(() => reader.ReadExactlyAsync(size));
            writer.Write(Encoding.ASCII.GetBytes($"{size}\n"));
            writer.Write(payload);
            await writer.DrainAsync();
            echoed = await receive;
            writer.Close();
            await writer.WaitClosedAsync();
            if (!echoed.AsSpan().SequenceEqual(payload))
            {
                throw new InvalidOperationException("The echo differs from what was sent.");
            }
        }, options: SimulationOptions.Default with { Window = 3000, MinBandwidth = 1e6, MaxBandwidth = 1e8 });
        AssertPasses(result, 200);
    }

    private static Application ItemsApp()
    {
        var items = new Dictionary<int, string>();
        var app = new Application();
        app.Router.Get("/items/{id:int}", async req =>
        {
            await Sleep(Simulation.Current!.NextDouble() * 0.005);
            return items.TryGetValue(req.Route<int>("id"), out string? v) ? Response.Text(v) : Response.Status(404);
        });
        app.Router.Post("/items/{id:int}", async req =>
        {
            string body = await req.TextAsync();
            items[req.Route<int>("id")] = body;
            return Response.Text("stored", 201);
        });
        return app;
    }

    /// <summary>One HTTP/1.1 exchange on a keep-alive connection, by hand (the client of Aio.Http runs on .NET's sockets, not on the loop's network).</summary>
    private static async Task<(int Status, string Body)> ExchangeAsync(AioStreamReader reader, AioStreamWriter writer, string method, string path, string? body = null)
    {
        byte[] content = Encoding.UTF8.GetBytes(body ?? "");
        writer.Write(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: api\r\nContent-Length: {content.Length}\r\n\r\n"));
        writer.Write(content);
        string head = Encoding.ASCII.GetString(await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray()));
        int status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
        int length = head.Split("\r\n").Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h[15..].Trim(), CultureInfo.InvariantCulture)).Single();
        return (status, Encoding.UTF8.GetString(await reader.ReadExactlyAsync(length)));
    }

    private static Func<Simulation, Task> HttpProgram(List<string> log, bool tolerateResets) => async sim =>
    {
        log.Clear();
        HttpServer server = await sim.OnHost("api", () => ItemsApp().StartAsync("api", 8080));
        try
        {
            await TaskGroup.Run(async g =>
            {
                for (int c = 0; c < 3; c++)
                {
                    int client = c;
                    _ = g.CreateTask(async () =>
                    {
                        try
                        {
                            var (reader, writer) = await OpenConnectionAsync("api", 8080);
                            await using (writer)
                            {
                                var (s1, _) = await ExchangeAsync(reader, writer, "POST", $"/items/{client}", $"item {client} {new string('x', sim.Next(3000))}");
                                var (s2, b2) = await ExchangeAsync(reader, writer, "GET", $"/items/{client}");
                                var (s3, _) = await ExchangeAsync(reader, writer, "GET", "/items/99");
                                log.Add($"{client}: {s1} {s2} {b2.Split(' ')[1]} {s3}");
                            }
                        }
                        catch (Exception e) when (tolerateResets && e is IOException or System.Net.Sockets.SocketException or IncompleteReadError)
                        {
                            log.Add($"{client}: reset");
                        }
                    });
                }
                await Task.CompletedTask;
            });
        }
        finally
        {
            await server.ShutdownAsync(1.0);
        }
    };

    [Fact]
    public void HttpServer_ConcurrentKeepAliveClients_OverASegmentingNetwork()
    {
        var log = new List<string>();
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 300), HttpProgram(log, tolerateResets: false),
            _ => log.Order().SequenceEqual(["0: 201 200 0 404", "1: 201 200 1 404", "2: 201 200 2 404"]));
        AssertPasses(result, 300);
    }

    [Fact]
    public void HttpServer_PipelinedRequestsAndAbandonedRequests_AnsweredInOrder()
    {
        var log = new List<string>();
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 300), async sim =>
        {
            log.Clear();
            HttpServer server = await sim.OnHost("api", () => ItemsApp().StartAsync("api", 8080));
            try
            {
                await TaskGroup.Run(async g =>
                {
                    _ = g.CreateTask(async () =>
                    {
                        // Three requests written at once (pipelined), then a half-close: three answers, in order. (Aio.Http
                        // used to answer only up to the request in flight when the EOF arrived: found by this exploration.)
                        var (reader, writer) = await OpenConnectionAsync("api", 8080);
                        await using (writer)
                        {
                            writer.Write(Encoding.ASCII.GetBytes(
                                "POST /items/7 HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nseven" +
                                "GET /items/7 HTTP/1.1\r\nHost: api\r\n\r\n" +
                                "GET /items/8 HTTP/1.1\r\nHost: api\r\n\r\n"));
                            writer.WriteEof();
                            var statuses = new List<string>();
                            for (int i = 0; i < 3; i++)
                            {
                                string head = Encoding.ASCII.GetString(await reader.ReadUntilAsync("\r\n\r\n"u8.ToArray()));
                                int length = head.Split("\r\n").Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                                    .Select(h => int.Parse(h[15..].Trim(), CultureInfo.InvariantCulture)).Single();
                                await reader.ReadExactlyAsync(length);
                                statuses.Add(head[9..12]);
                            }
                            log.Add(string.Join(",", statuses));
                        }
                    });
                    _ = g.CreateTask(async () =>
                    {
                        // Half a request, then the client goes away.
                        var (_, writer) = await OpenConnectionAsync("api", 8080);
                        writer.Write(Encoding.ASCII.GetBytes("POST /items/9 HTTP/1.1\r\nHost: api\r\nContent-Length: 100\r\n\r\nonly some"));
                        await Sleep(sim.NextDouble() * 0.01);
                        writer.Close();
                        await writer.WaitClosedAsync();
                    });
                    await Task.CompletedTask;
                });
            }
            finally
            {
                await server.ShutdownAsync(1.0);
            }
        }, _ => log.SequenceEqual(["201,200,404"]) ? true : throw new InvalidOperationException("log: " + string.Join(" / ", log)));
        AssertPasses(result, 300);
    }

    [Fact]
    public void HttpServer_ClientsReset_ServerReportsNothingAndLeaksNothing()
    {
        var log = new List<string>();
        ExploreResult result = Simulation.Explore(Enumerable.Range(1, 300), HttpProgram(log, tolerateResets: true),
            _ => log.Count == 3, SimulationOptions.Default with { ResetProbability = 0.1 });
        AssertPasses(result, 300);
    }
}
