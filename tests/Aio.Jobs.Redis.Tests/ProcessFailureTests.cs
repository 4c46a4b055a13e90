using System.Diagnostics;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// Failure tests with real processes: workers and producers of examples/JobsRedis against a private redis-server.
/// Each job records its runs (a hash) and its effect (its idempotency key added to a set): every job must take
/// effect, none twice. The job count is 1,000 here; set AIO_REDIS_SOAK_JOBS=10000 for the soak version.
/// </summary>
public sealed class ProcessFailureTests : IDisposable
{
    private static readonly int Jobs = int.TryParse(Environment.GetEnvironmentVariable("AIO_REDIS_SOAK_JOBS"), out int n) ? n : 1000;
    private readonly List<Process> _processes = [];
    private readonly RedisServer _server = RedisServer.Start(appendOnly: true);

    private Process Start(string mode, params string[] args)
    {
        Process p = JobsRedisProcess.Start(_server, "effects", "fail:", mode, args);
        _processes.Add(p);
        return p;
    }

    private Process StartWorker(string name)
    {
        Process p = Start("worker", "--name", name, "--concurrency", "8", "--work-ms", "5", "--lease-ms", "1500");
        string? line = p.StandardOutput.ReadLine();
        Assert.Equal($"READY {name}", line);
        return p;
    }

    private static void Signal(Process p, string signal)
    {
        using Process kill = Process.Start("kill", [$"-{signal}", p.Id.ToString()])!;
        kill.WaitForExit();
    }

    private static long WaitFor(IDatabase db, Func<long> value, long target, double seconds, string what)
    {
        long v = -1;
        Assert.True(Poll.Until(() => (v = Read(value)) >= target, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(20)),
            $"{what}: {v} of {target} after {seconds} s");
        return v;
    }

    private static long Read(Func<long> value)
    {
        try
        {
            return value();
        }
        catch (RedisException)
        {
            return -1;   // the server is restarting
        }
    }

    private static string Rest(Process p, double seconds)
    {
        string text = p.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(seconds)).GetAwaiter().GetResult();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(seconds)), "the process did not exit");
        return text;
    }

    [Fact]
    public void WorkerKilledAndAnotherStopped_EveryJobTakesEffectOnce()
    {
        using ConnectionMultiplexer redis = _server.Connect();
        IDatabase db = redis.GetDatabase();
        Process w1 = StartWorker("w1"), w2 = StartWorker("w2"), w3 = StartWorker("w3");
        // Two producers overlap by a fifth of the jobs: those enqueues are duplicates by idempotency key.
        Process p1 = Start("producer", "--from", "0", "--to", (Jobs * 3 / 5).ToString());
        Process p2 = Start("producer", "--from", (Jobs * 2 / 5).ToString(), "--to", Jobs.ToString());
        WaitFor(db, () => db.SetLength("fail:effects"), Jobs / 4, 60, "effects before the kill");
        w1.Kill();                 // SIGKILL mid-run: its jobs in flight are taken over when their lease lapses
        Signal(w2, "TERM");        // graceful: its running jobs finish, nothing is lost
        string stopped = Rest(w2, 30);
        WaitFor(db, () => db.SetLength("fail:effects"), Jobs, 120, "effects");
        string[] produced = [Rest(p1, 30).Trim(), Rest(p2, 30).Trim()];
        // Jobs whose effect happened just before w1 died are still pending under w1 until w3 takes them over.
        JobQueueStats stats = Quiet(redis);
        Signal(w3, "TERM");
        Rest(w3, 30);

        Assert.Equal(143, w2.ExitCode);
        Assert.Contains("stopped w2:", stopped);
        int created = produced.Sum(line => int.Parse(line.Split(' ')[1].Split('=')[1]));
        int duplicates = produced.Sum(line => int.Parse(line.Split(' ')[2].Split('=')[1]));
        Assert.Equal((Jobs, Jobs / 5), (created, duplicates));
        Assert.Equal(Jobs, db.SetLength("fail:effects"));
        HashEntry[] runs = db.HashGetAll("fail:runs");
        Assert.Equal(Jobs, runs.Length);
        Assert.All(runs, r => Assert.InRange((int)r.Value, 1, 3));
        Assert.Equal((0L, 0L, 0L, 0L), (stats.TotalQueued, stats.Running, stats.Delayed, stats.Dead));
    }

    [Fact]
    public void RedisRestartedWithAof_ProducersAndWorkersCarryOn_AcknowledgedJobsNotRedone()
    {
        using ConnectionMultiplexer redis = _server.Connect();
        IDatabase db = redis.GetDatabase();
        StartWorker("w1");
        StartWorker("w2");
        Process p = Start("producer", "--from", "0", "--to", Jobs.ToString());
        long before = WaitFor(db, () => db.SetLength("fail:effects"), Jobs / 3, 60, "effects before the restart");
        _server.Restart();         // SIGKILL and start again on the same port and AOF directory
        WaitFor(db, () => db.SetLength("fail:effects"), Jobs, 120, "effects after the restart");
        // An enqueue whose reply the restart cut off is retried: Redis may have run it, and the idempotency key
        // then makes the retry a duplicate instead of a second job.
        string[] done = Rest(p, 30).Trim().Split(' ');
        Assert.Equal("DONE", done[0]);
        Assert.Equal(Jobs, int.Parse(done[1].Split('=')[1]) + int.Parse(done[2].Split('=')[1]));
        Assert.InRange(int.Parse(done[2].Split('=')[1]), 0, 1);
        Assert.True(before >= Jobs / 3);
        HashEntry[] runs = db.HashGetAll("fail:runs");
        Assert.Equal(Jobs, runs.Length);
        // Only jobs in flight at the restart (at most 2 workers × 8 slots) may run twice; acknowledged ones never.
        Assert.InRange(runs.Count(r => (int)r.Value > 1), 0, 16);
        JobQueueStats stats = Quiet(redis);
        Assert.Equal((0L, 0L, 0L, 0L), (stats.TotalQueued, stats.Running, stats.Delayed, stats.Dead));
    }

    /// <summary>The queue's counts once nothing is queued, running or delayed (acknowledgements may trail the effects), or after 30 s.</summary>
    private static JobQueueStats Quiet(ConnectionMultiplexer redis)
    {
        JobQueueStats stats = null!;
        Poll.Until(() => (stats = Stats(redis)) is { TotalQueued: 0, Running: 0, Delayed: 0 }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        return stats;
    }

    private static JobQueueStats Stats(ConnectionMultiplexer redis) =>
        AioTest.Run(async () => await new JobQueue(redis, "effects", new JobQueueOptions { KeyPrefix = "fail:" }).GetStatsAsync(), virtualTime: false);

    public void Dispose()
    {
        foreach (Process p in _processes)
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(5000);
            }
            p.Dispose();
        }
        _server.Dispose();
    }
}
