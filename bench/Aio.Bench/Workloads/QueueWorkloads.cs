using System.Diagnostics;
using System.Globalization;
using Aio.Jobs.Redis;
using StackExchange.Redis;

namespace Aio.Bench;

/// <summary>
/// W11, the task queue on a local Redis (started by the caller: --redis-port): one producer loop enqueues n no-op
/// jobs, each carrying the timestamp taken just before its enqueue, from --producers concurrent tasks; a worker loop on
/// another thread runs --workers JobWorkers of --concurrency slots each. End-to-end jobs/s is n over the time from the
/// first enqueue to the last job's start; latency is enqueue to start (p50/p99 ms). With --rate R the producer paces
/// itself to R jobs/s: latency without a backlog. Like W1-W5 (and like the Celery peer, which sends one task through
/// first), it warms up in the same processes before it measures: n/10 jobs the same way, unless --warmup 0 — JIT
/// compilation of the first jobs' code path otherwise stalls the first ~100 ms of jobs. cpu_s is the process's CPU
/// time (producer and workers) over the measured jobs, pool_items_per_job the thread-pool work items run meanwhile
/// (each a hop between threads); --latency-file F writes each measured latency (ms, in start
/// order) to F (or, with the environment variable AIO_W11_LATENCY_DIR=D, to D/w11-PID.txt: for runs through bench/w11.sh).
/// Where a tail comes from: enq_p50_ms/enq_p99_ms are the producer's enqueue round trips (its await of EnqueueAsync),
/// gc0/gc1/gc2 the collections and gc_pause_ms the time the runtime was paused for them over the measured jobs.
/// </summary>
internal sealed class QueueW11 : IBenchCommand
{
    public string Name => "W11";

    public string Description => "task queue on Redis (--redis-port P): n no-op jobs end to end: jobs/s, enqueue-to-start p50/p99 ms";

    public int Run(BenchArgs args)
    {
        int port = args.Int("redis-port", 6379);
        int n = args.Int("n", 100_000);
        int workers = args.Int("workers", 2);
        int concurrency = args.Int("concurrency", 64);
        int producers = args.Int("producers", 64);
        int maxSeconds = args.Int("max-s", 300);
        int rate = args.Int("rate", 0);   // jobs/s the producer paces itself to (0: as fast as it can) — for latency without a backlog
        int warm = args.Int("warmup", 1) == 0 ? 0 : Math.Max(n / 10, 1);
        string latencyFile = args.Str("latency-file", Environment.GetEnvironmentVariable("AIO_W11_LATENCY_DIR") is { Length: > 0 } dir
            ? Path.Combine(dir, $"w11-{Environment.ProcessId}.txt") : "");
        string config = $"127.0.0.1:{port},abortConnect=false,syncTimeout=30000,asyncTimeout=30000";
        string prefix = $"w11-{Guid.NewGuid().ToString("N")[..8]}:";
        var latency = new double[n];
        var roundTrip = new double[n];   // the producer's enqueue round trips (measured jobs only)
        bool measuring = false;
        int enqueued = 0;
        int done = -warm;   // the warm-up's jobs count up to 0
        long lastStart = 0;
        using var workersReady = new ManualResetEventSlim();
        using var warmedUp = new ManualResetEventSlim(warm == 0);
        using var finished = new ManualResetEventSlim();
        var queueOptions = new JobQueueOptions { KeyPrefix = prefix, ResultExpiry = TimeSpan.FromMinutes(10) };

        var workerThread = new Thread(() =>
        {
            using var loop = new EventLoop();
            loop.RunUntilComplete(async () =>
            {
                using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(config);
                var queue = new JobQueue(redis, "w11", queueOptions);
                var all = new AioEvent();
                var pool = new List<JobWorker>();
                for (int i = 0; i < workers; i++)
                {
                    pool.Add(new JobWorker(queue, new WorkerOptions { ConsumerName = $"w{i}", Concurrency = concurrency, Lease = TimeSpan.FromSeconds(60) })
                        .Handle<long>("noop", (job, ct) =>
                        {
                            long now = Stopwatch.GetTimestamp();
                            int k = done++;
                            if (k < 0)
                            {
                                if (k == -1)
                                {
                                    warmedUp.Set();
                                }
                                return Task.CompletedTask;
                            }
                            if (k < latency.Length)
                            {
                                latency[k] = (now - job.Payload) * 1000.0 / Stopwatch.Frequency;
                            }
                            lastStart = now;
                            if (done == n)
                            {
                                all.Set();
                            }
                            return Task.CompletedTask;
                        }));
                }
                AioTask[] running = [.. pool.Select(w => loop.CreateTask(() => w.RunAsync(), w.Options.ConsumerName))];
                await Asyncio.Sleep(0.3);   // consumer groups created, subscriptions made
                workersReady.Set();
                await Asyncio.MoveOnAfter(maxSeconds, async () => await all.WaitAsync());
                foreach (JobWorker w in pool)
                {
                    w.Stop(TimeSpan.Zero);
                }
                await Asyncio.Gather(running);
                await queue.DisposeAsync();
            });
            finished.Set();
        }) { Name = "W11 workers", IsBackground = true };
        workerThread.Start();
        workersReady.Wait();

        long t0 = 0;
        double cpu0 = 0;
        long pool0 = 0;
        int[] gc0 = new int[3];
        TimeSpan pause0 = default;
        using (var loop = new EventLoop())
        {
            loop.RunUntilComplete(async () =>
            {
                using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(config);
                var queue = new JobQueue(redis, "w11", queueOptions);
                async Task Produce(int count)
                {
                    int next = 0;
                    double start = loop.Time();
                    AioTask[] tasks = [.. Enumerable.Range(0, producers).Select(_ => loop.CreateTask(async () =>
                    {
                        while (next < count)
                        {
                            int i = next++;
                            if (rate > 0)
                            {
                                await Asyncio.Sleep(start + ((double)i / rate) - loop.Time());
                            }
                            long sent = Stopwatch.GetTimestamp();
                            await queue.EnqueueAsync("noop", sent);
                            if (measuring && enqueued < roundTrip.Length)
                            {
                                roundTrip[enqueued++] = (Stopwatch.GetTimestamp() - sent) * 1000.0 / Stopwatch.Frequency;
                            }
                        }
                    }))];
                    await Asyncio.Gather(tasks);
                }
                if (warm > 0)
                {
                    await Produce(warm);
                    await Asyncio.ToThread(() => warmedUp.Wait());
                }
                cpu0 = Measure.CpuSeconds();
                pool0 = ThreadPool.CompletedWorkItemCount;
                gc0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                pause0 = GC.GetTotalPauseDuration();
                measuring = true;
                t0 = Stopwatch.GetTimestamp();
                await Produce(n);
            });
        }
        finished.Wait();
        double elapsed = (lastStart - t0) / (double)Stopwatch.Frequency;
        int measured = Math.Min(done, n);
        double cpu = Measure.CpuSeconds() - cpu0;
        long poolItems = ThreadPool.CompletedWorkItemCount - pool0;
        string gc = string.Create(CultureInfo.InvariantCulture,
            $"gc0={GC.CollectionCount(0) - gc0[0]} gc1={GC.CollectionCount(1) - gc0[1]} gc2={GC.CollectionCount(2) - gc0[2]} gc_pause_ms={(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:0.#}");
        double[] trips = roundTrip[..enqueued];
        Array.Sort(trips);
        double Q(double[] sorted, double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        double[] sorted = latency[..measured];
        if (latencyFile.Length > 0)
        {
            File.WriteAllLines(latencyFile, sorted.Select(x => x.ToString("0.###", CultureInfo.InvariantCulture)));
        }
        Array.Sort(sorted);
        double P(double q) => Q(sorted, q);
        Console.WriteLine(Measure.Result("W11", measured / elapsed, "jobs/s", n, elapsed, cpu,
            string.Create(CultureInfo.InvariantCulture, $"lat_p50_ms={P(0.50):0.###} lat_p99_ms={P(0.99):0.###} cpu_ms_per_job={cpu * 1000 / Math.Max(measured, 1):0.###} pool_items_per_job={poolItems / (double)Math.Max(measured, 1):0.##} enq_p50_ms={Q(trips, 0.50):0.###} enq_p99_ms={Q(trips, 0.99):0.###} {gc} done={measured}")));
        using (ConnectionMultiplexer cleanup = ConnectionMultiplexer.Connect(config))
        {
            IServer server = cleanup.GetServers()[0];
            foreach (RedisKey key in server.Keys(pattern: prefix + "*", pageSize: 1000))
            {
                cleanup.GetDatabase().KeyDelete(key, CommandFlags.FireAndForget);
            }
        }
        return measured == n ? 0 : 1;
    }
}
