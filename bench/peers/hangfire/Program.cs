// W11 peer: Hangfire (Hangfire.Core with Hangfire.Redis.StackExchange storage), the same workload as `Aio.Bench W11`
// and bench/peers/celery/w11_celery.py.
//
// --producers threads enqueue n no-op jobs through a BackgroundJobClient, each job's argument the Stopwatch timestamp
// taken just before its enqueue; a BackgroundJobServer with --workers workers (Hangfire's default when 0:
// min(5 x cores, 20)) runs them in the same process, so the timestamps share a clock. A job records its start time
// and enqueue-to-start latency. Prints
//   RESULT workload=W11 peer=hangfire value=<jobs/s> unit=jobs/s n= elapsed_s= cpu_s= lat_p50_ms= lat_p99_ms= done= workers=
// where jobs/s is n over the time from the first enqueue to the last job's start (the other peers' definition; a
// no-op job's start and completion are microseconds apart). With --rate R the producers pace themselves to R jobs/s
// together: latency without a backlog. The storage uses its own key prefix, deleted afterwards.
//
//   dotnet bench/peers/hangfire/bin/Release/net10.0/Peers.Hangfire.dll --redis-port P --n 20000 [--workers W]
using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.Redis.StackExchange;
using StackExchange.Redis;

namespace Peers.Hangfire;

/// <summary>The job: records when it started.</summary>
public static class W11Jobs
{
    private static double[] latency = [];
    private static int done;
    private static long lastStart;

    public static int Done => Volatile.Read(ref done);

    public static long LastStart => Interlocked.Read(ref lastStart);

    public static void Reset(int n)
    {
        latency = new double[n];
        Volatile.Write(ref done, 0);
        Interlocked.Exchange(ref lastStart, 0);
    }

    public static double[] Latencies(int count) => latency[..Math.Min(count, latency.Length)];

    public static void Noop(long enqueued)
    {
        long now = Stopwatch.GetTimestamp();
        int k = Interlocked.Increment(ref done) - 1;
        if (k < latency.Length)
        {
            latency[k] = (now - enqueued) * 1000.0 / Stopwatch.Frequency;
        }
        long seen = Interlocked.Read(ref lastStart);
        while (now > seen)
        {
            long prior = Interlocked.CompareExchange(ref lastStart, now, seen);
            if (prior == seen)
            {
                break;
            }
            seen = prior;
        }
    }
}

internal static class Program
{
    private static int Main(string[] argv)
    {
        var opts = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < argv.Length; i += 2)
        {
            if (!argv[i].StartsWith("--", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"Peers.Hangfire: expected an option '--name value', got '{argv[i]}'.");
                return 2;
            }
            opts[argv[i][2..]] = argv[i + 1];
        }
        int Int(string name, int fallback) => opts.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        int port = Int("redis-port", 6379);
        int n = Int("n", 20_000);
        int workers = Int("workers", 0);
        int producers = Int("producers", 4);
        int maxSeconds = Int("max-s", 600);
        int rate = Int("rate", 0);

        string prefix = $"w11h-{Guid.NewGuid().ToString("N")[..8]}:";
        string config = $"127.0.0.1:{port},abortConnect=false,syncTimeout=30000,asyncTimeout=30000";
        using ConnectionMultiplexer redis = ConnectionMultiplexer.Connect(config);
        var storage = new RedisStorage(redis, new RedisStorageOptions { Prefix = prefix });
        var client = new BackgroundJobClient(storage);
        var serverOptions = new BackgroundJobServerOptions { ShutdownTimeout = TimeSpan.FromSeconds(5) };
        if (workers > 0)
        {
            serverOptions.WorkerCount = workers;
        }
        int exit;
        using (var server = new BackgroundJobServer(serverOptions, storage))
        {
            // Warm-up: one job through, then the counters are reset.
            W11Jobs.Reset(1);
            long warm = Stopwatch.GetTimestamp();
            client.Enqueue(() => W11Jobs.Noop(warm));
            var warmDeadline = Stopwatch.StartNew();
            while (W11Jobs.Done < 1)
            {
                if (warmDeadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    Console.Error.WriteLine("Peers.Hangfire: the server did not run the warm-up job within 60 s.");
                    return 1;
                }
                Thread.Sleep(10);
            }
            W11Jobs.Reset(n);
            double cpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

            int next = -1;
            long t0 = Stopwatch.GetTimestamp();
            Thread[] threads = [.. Enumerable.Range(0, producers).Select(p => new Thread(() =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < n)
                {
                    if (rate > 0)
                    {
                        long due = t0 + (long)((double)i / rate * Stopwatch.Frequency);
                        long wait = due - Stopwatch.GetTimestamp();
                        if (wait > 0)
                        {
                            Thread.Sleep(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency));
                        }
                    }
                    long enqueued = Stopwatch.GetTimestamp();
                    client.Enqueue(() => W11Jobs.Noop(enqueued));
                }
            }) { Name = $"producer {p}", IsBackground = true })];
            foreach (Thread t in threads)
            {
                t.Start();
            }
            foreach (Thread t in threads)
            {
                t.Join();
            }
            var deadline = Stopwatch.StartNew();
            while (W11Jobs.Done < n && deadline.Elapsed < TimeSpan.FromSeconds(maxSeconds))
            {
                Thread.Sleep(20);
            }
            double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu0;
            int measured = Math.Min(W11Jobs.Done, n);
            double elapsed = (W11Jobs.LastStart - t0) / (double)Stopwatch.Frequency;
            double[] sorted = W11Jobs.Latencies(measured);
            Array.Sort(sorted);
            double P(double q) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
            int workerCount = serverOptions.WorkerCount;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"RESULT workload=W11 peer=hangfire value={measured / elapsed:0.###} unit=jobs/s n={n} elapsed_s={elapsed:0.######} cpu_s={cpu:0.###} lat_p50_ms={P(0.50):0.###} lat_p99_ms={P(0.99):0.###} done={measured} workers={workerCount} producers={producers}"));
            exit = measured == n ? 0 : 1;
            server.SendStop();
        }
        IServer redisServer = redis.GetServers()[0];
        foreach (RedisKey key in redisServer.Keys(pattern: prefix + "*", pageSize: 1000))
        {
            redis.GetDatabase().KeyDelete(key, CommandFlags.FireAndForget);
        }
        redis.GetDatabase().Ping();
        return exit;
    }
}
