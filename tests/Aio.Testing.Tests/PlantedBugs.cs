using System.Net.Sockets;
using System.Text;

namespace Aio.Testing.Tests;

/// <summary>
/// Small, realistic programs with one ordering or network bug each, and their fixed versions. Each is a factory: a
/// fresh program (and the invariant over its state) per call, so no state leaks from one seed into the next.
/// </summary>
internal static class PlantedBugs
{
    // ----------------------------------------------------------------- a line protocol: one request, one reply

    /// <summary>Serves one line-in, line-out request after another on each connection; a reset or EOF ends the connection quietly.</summary>
    public static Task<Aio.Net.Server> ServeLinesAsync(Simulation sim, string host, int port, Func<string, Task<string>> handle) =>
        sim.OnHost(host, () => StartServerAsync(async (reader, writer) =>
        {
            await using (writer)
            {
                try
                {
                    while (true)
                    {
                        byte[] line = await reader.ReadLineAsync();
                        if (line.Length == 0)
                        {
                            return;
                        }
                        string reply = await handle(Encoding.UTF8.GetString(line).TrimEnd('\n'));
                        writer.Write(Encoding.UTF8.GetBytes(reply + "\n"));
                        await writer.DrainAsync();
                    }
                }
                catch (IOException)
                {
                    // the connection was reset: nothing to answer
                }
            }
        }, null, port));

    /// <summary>Opens a connection, sends one line, reads the reply, closes.</summary>
    public static async Task<string> RequestAsync(string host, int port, string line)
    {
        var (reader, writer) = await OpenConnectionAsync(host, port);
        await using (writer)
        {
            writer.Write(Encoding.UTF8.GetBytes(line + "\n"));
            byte[] reply = await reader.ReadLineAsync();
            if (reply.Length == 0)
            {
                throw new IOException($"{host}:{port} closed the connection without answering '{line}'.");
            }
            return Encoding.UTF8.GetString(reply).TrimEnd('\n');
        }
    }

    public sealed record Planted(Func<Simulation, Task> Program, Func<Simulation, bool> Invariant, SimulationOptions Options);

    // ----------------------------------------------------------------- 1. check-then-act across an await

    /// <summary>
    /// A bank allows a withdrawal if the balance covers it, records it with a ledger service, then deducts. Two
    /// withdrawals of 70 from 100: the buggy bank checks, awaits the ledger, and deducts after – a second request
    /// checked meanwhile passes too. The fix deducts before the await (and refunds if the ledger fails).
    /// </summary>
    public static Planted CheckThenAct(bool fixedVersion)
    {
        int balance = 0;
        return new Planted(async sim =>
        {
            balance = 100;
            await using Aio.Net.Server ledger = await ServeLinesAsync(sim, "ledger", 7001, _ => Task.FromResult("logged"));
            await using Aio.Net.Server bank = await ServeLinesAsync(sim, "bank", 7000, async request =>
            {
                int amount = int.Parse(request.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                if (balance < amount)
                {
                    return "denied";
                }
                if (fixedVersion)
                {
                    balance -= amount;   // reserve first: nothing can slip in between the check and the act
                    await RequestAsync("ledger", 7001, request);
                }
                else
                {
                    await RequestAsync("ledger", 7001, request);
                    balance -= amount;   // BUG: the check above is stale by now
                }
                return "ok";
            });
            await TaskGroup.Run(async g =>
            {
                _ = g.CreateTask(() => RequestAsync("bank", 7000, "withdraw 70"));
                _ = g.CreateTask(() => RequestAsync("bank", 7000, "withdraw 70"));
                await Task.CompletedTask;
            });
        }, _ => balance >= 0, SimulationOptions.Default);
    }

    // ----------------------------------------------------------------- 2. a lost wake-up

    /// <summary>
    /// A worker takes jobs that clients submit over the network. When its queue is empty it reports "idle" to a monitor
    /// and then waits to be notified. The buggy worker checks the queue once, before the report: a job that arrives
    /// during the report notifies nobody, and the worker then sleeps forever next to a job (a hang). The fix waits
    /// for the condition itself (WaitForAsync re-checks it), after the report.
    /// </summary>
    public static Planted LostWakeup(bool fixedVersion)
    {
        int handled = 0;
        return new Planted(async sim =>
        {
            handled = 0;
            var jobs = new Queue<string>();
            var wakeup = new AioCondition();
            await using Aio.Net.Server monitor = await ServeLinesAsync(sim, "monitor", 7002, _ => Task.FromResult("noted"));
            await using Aio.Net.Server worker = await ServeLinesAsync(sim, "worker", 7000, async job =>
            {
                jobs.Enqueue(job);
                using (await wakeup.AcquireAsync())
                {
                    wakeup.NotifyAll();
                }
                return "queued";
            });
            AioTask consumer = CreateTask(async () =>
            {
                while (handled < 3)
                {
                    if (jobs.Count == 0)
                    {
                        await sim.OnHost("worker", () => RequestAsync("monitor", 7002, "idle"));
                        using (await wakeup.AcquireAsync())
                        {
                            if (fixedVersion)
                            {
                                await wakeup.WaitForAsync(() => jobs.Count > 0);
                            }
                            else
                            {
                                await wakeup.WaitAsync();   // BUG: a notification sent during the report is lost
                            }
                        }
                    }
                    while (jobs.TryDequeue(out _))
                    {
                        handled++;
                    }
                }
            });
            await TaskGroup.Run(async g =>
            {
                for (int i = 0; i < 3; i++)
                {
                    string job = $"job {i}";
                    _ = g.CreateTask(() => RequestAsync("worker", 7000, job));
                }
                await Task.CompletedTask;
            });
            await consumer;
        }, _ => handled == 3, SimulationOptions.Default);
    }

    // ----------------------------------------------------------------- 3. a connection pool that leaks on reset

    /// <summary>A pool of at most two connections to a database; requests retry when their connection is reset.</summary>
    private sealed class Pool(bool fixedVersion)
    {
        private readonly AioSemaphore _slots = new(2);
        private readonly Stack<(AioStreamReader Reader, AioStreamWriter Writer)> _idle = new();

        public int Opened { get; private set; }

        public async Task<string> QueryAsync(string query)
        {
            await _slots.AcquireAsync();
            (AioStreamReader reader, AioStreamWriter writer) = _idle.Count > 0 ? _idle.Pop() : await OpenAsync();
            try
            {
                writer.Write(Encoding.UTF8.GetBytes(query + "\n"));
                byte[] reply = await reader.ReadLineAsync();
                if (reply.Length == 0)
                {
                    throw new IOException("The database closed the connection.");
                }
                _idle.Push((reader, writer));
                _slots.Release();
                return Encoding.UTF8.GetString(reply);
            }
            catch (IOException)
            {
                writer.Close();
                if (fixedVersion)
                {
                    _slots.Release();   // a broken connection is dropped, and its slot with it
                }
                // BUG (unfixed): the slot of a broken connection is never given back
                throw;
            }
        }

        private async Task<(AioStreamReader, AioStreamWriter)> OpenAsync()
        {
            try
            {
                Opened++;
                return await OpenConnectionAsync("db", 5432);
            }
            catch
            {
                _slots.Release();
                throw;
            }
        }

        public async Task CloseAsync()
        {
            while (_idle.TryPop(out var c))
            {
                c.Writer.Close();
                try
                {
                    await c.Writer.WaitClosedAsync();
                }
                catch (IOException)
                {
                    // an idle connection the network reset meanwhile (the explorer found this one in the "fixed" pool)
                }
            }
        }
    }

    /// <summary>
    /// Three workers run two queries each through a pool of two connections, retrying on resets. The buggy pool loses a
    /// slot with every reset: after two, every query waits for a slot forever (a hang).
    /// </summary>
    public static Planted PoolLeakOnReset(bool fixedVersion)
    {
        int answered = 0;
        return new Planted(async sim =>
        {
            answered = 0;
            await using Aio.Net.Server db = await ServeLinesAsync(sim, "db", 5432, q => Task.FromResult("row for " + q));
            var pool = new Pool(fixedVersion);
            await TaskGroup.Run(async g =>
            {
                for (int w = 0; w < 3; w++)
                {
                    int worker = w;
                    _ = g.CreateTask(async () =>
                    {
                        for (int q = 0; q < 2; q++)
                        {
                            for (int attempt = 1; ; attempt++)
                            {
                                try
                                {
                                    await pool.QueryAsync($"select {worker}.{q}");
                                    answered++;
                                    break;
                                }
                                catch (Exception e) when ((e is IOException or SocketException) && attempt < 50)
                                {
                                    // reset: retry on another connection
                                }
                            }
                        }
                    });
                }
                await Task.CompletedTask;
            });
            await pool.CloseAsync();
        }, _ => answered == 6, SimulationOptions.Default with { ResetProbability = 0.02 });
    }

    // ----------------------------------------------------------------- 4. a retry that doubles a request

    /// <summary>
    /// A client charges three orders, each with a 0.1 s timeout and a retry on timeout. The request that timed out may
    /// still arrive (it was only slow): the buggy payment service charges it again. The fix makes the charge
    /// idempotent – the order id is the idempotency key.
    /// </summary>
    public static Planted RetryDoublesRequest(bool fixedVersion)
    {
        var charged = new Dictionary<string, int>();
        return new Planted(async sim =>
        {
            charged.Clear();
            var seen = new HashSet<string>();
            await using Aio.Net.Server payments = await ServeLinesAsync(sim, "payments", 7000, request =>
            {
                string order = request.Split(' ')[1];
                if (fixedVersion && !seen.Add(order))
                {
                    return Task.FromResult("charged already");
                }
                charged[order] = charged.GetValueOrDefault(order) + 10;   // BUG (unfixed): a retried charge is charged again
                return Task.FromResult("charged");
            });
            for (int order = 0; order < 3; order++)
            {
                for (int attempt = 1; ; attempt++)
                {
                    try
                    {
                        await FailAfter(0.1, () => RequestAsync("payments", 7000, $"charge order-{order} 10"));
                        break;
                    }
                    catch (TimeoutException) when (attempt < 20)
                    {
                        // slow: try again
                    }
                }
            }
            await payments.ShutdownAsync(double.PositiveInfinity);
        }, _ => charged.Count == 3 && charged.Values.All(v => v == 10),
        SimulationOptions.Default with { DelaySpikeProbability = 0.02, DelaySpike = 0.5 });
    }

    // ----------------------------------------------------------------- 5. a cache stampede

    /// <summary>
    /// An API caches what it fetches from a slow database. Five clients ask for the same key at once: the buggy
    /// cache checks, misses, and every request fetches (a stampede). The fix shares one fetch among the requests
    /// that miss while it is in flight (single flight).
    /// </summary>
    public static Planted CacheStampede(bool fixedVersion)
    {
        int fetches = 0;
        return new Planted(async sim =>
        {
            fetches = 0;
            var cache = new Dictionary<string, string>();
            var inFlight = new Dictionary<string, AioTask<string>>();
            await using Aio.Net.Server db = await ServeLinesAsync(sim, "db", 5432, key =>
            {
                fetches++;
                return Task.FromResult("value of " + key);
            });
            await using Aio.Net.Server api = await ServeLinesAsync(sim, "api", 8080, async key =>
            {
                if (cache.TryGetValue(key, out string? hit))
                {
                    return hit;
                }
                if (!fixedVersion)
                {
                    string value = await RequestAsync("db", 5432, key);   // BUG: every miss meanwhile fetches too
                    cache[key] = value;
                    return value;
                }
                if (!inFlight.TryGetValue(key, out AioTask<string>? fetch))
                {
                    fetch = CreateTask(async () =>
                    {
                        try
                        {
                            string value = await RequestAsync("db", 5432, key);
                            cache[key] = value;
                            return value;
                        }
                        finally
                        {
                            inFlight.Remove(key);
                        }
                    });
                    inFlight[key] = fetch;
                }
                return await fetch;
            });
            await TaskGroup.Run(async g =>
            {
                for (int c = 0; c < 5; c++)
                {
                    int client = c;
                    _ = g.CreateTask(async () =>
                    {
                        await Sleep(sim.NextDouble() * 0.05);   // clients arrive spread over 50 ms
                        await RequestAsync("api", 8080, "user:1");
                    });
                }
                await Task.CompletedTask;
            });
        }, _ => fetches == 1, SimulationOptions.Default);
    }
}
