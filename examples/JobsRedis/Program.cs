// JobsRedis: Aio.Jobs.Redis as real processes — workers, producers, and a demo of both in one process.
//
//   dotnet run --project examples/JobsRedis -- demo     --redis 127.0.0.1:6379
//       one producer and two workers in one process: 20 jobs, some flaky, results awaited (docs/distributed-jobs.md)
//   dotnet run --project examples/JobsRedis -- worker   --redis CFG [--queue Q] [--prefix P] [--name N]
//                                                       [--concurrency C] [--work-ms MS] [--lease-ms MS]
//       runs "effect" jobs until Ctrl+C / SIGTERM (graceful: running jobs finish within 5 s, the rest go back)
//   dotnet run --project examples/JobsRedis -- producer --redis CFG [--queue Q] [--prefix P] --from A --to B
//       enqueues "effect" jobs A..B-1 with idempotency keys job-A.., retrying while Redis is unreachable
//   dotnet run --project examples/JobsRedis -- web      --redis CFG [--queue Q] [--prefix P] [--port 8080]
//       a producer web endpoint on Aio.Http: POST /jobs/{index} enqueues "effect" job index (idempotency key
//       job-index; 202, or 200 for a duplicate), GET /jobs/{id} shows its state, GET /stats the queue's counts;
//       run it beside two workers. Ctrl+C / SIGTERM: graceful shutdown.
//
// An "effect" job counts its runs in the hash <prefix>runs and records its effect by adding its idempotency key
// to the set <prefix>effects: a job run twice (its worker died after the effect, before the acknowledgement)
// still has one effect. The failure tests (tests/Aio.Jobs.Redis.Tests/ProcessFailureTests.cs) run these.
using Aio;
using Aio.Examples.JobsRedis;
using Aio.Jobs.Redis;
using StackExchange.Redis;
using static Aio.Asyncio;

string mode = args.Length > 0 ? args[0] : "demo";
string Arg(string name, string fallback)
{
    int i = Array.IndexOf(args, "--" + name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

string redisConfig = Arg("redis", "127.0.0.1:6379") + ",abortConnect=false,connectRetry=50,connectTimeout=2000";
string queueName = Arg("queue", "effects");
string prefix = Arg("prefix", "aio:q:");
try
{
    switch (mode)
    {
        case "worker":
            Run(() => WorkerAsync(Arg("name", $"worker-{Environment.ProcessId}"), int.Parse(Arg("concurrency", "8")),
                int.Parse(Arg("work-ms", "10")), int.Parse(Arg("lease-ms", "2000"))));
            break;
        case "web":
            Run(() => WebProducer.RunAsync(redisConfig, queueName, prefix, int.Parse(Arg("port", "8080"))));
            break;
        case "producer":
            Run(() => ProducerAsync(int.Parse(Arg("from", "0")), int.Parse(Arg("to", "100"))));
            break;
        default:
            Run(() => Demo.RunAsync(redisConfig));
            break;
    }
    return 0;
}
catch (KeyboardInterrupt e)
{
    Console.WriteLine("exit: interrupted");
    return e.ProcessExitCode;
}

async Task WorkerAsync(string name, int concurrency, int workMs, int leaseMs)
{
    using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
    var queue = new JobQueue(redis, queueName, new JobQueueOptions { KeyPrefix = prefix });
    IDatabase db = redis.GetDatabase();
    var worker = new JobWorker(queue, new WorkerOptions
    {
        ConsumerName = name,
        Concurrency = concurrency,
        Lease = TimeSpan.FromMilliseconds(leaseMs),
        PollInterval = TimeSpan.FromMilliseconds(200),
        StopGracePeriod = TimeSpan.FromSeconds(5),
    }).Handle<EffectJob>("effect", async (job, ct) =>
    {
        await Cancellable(db.HashIncrementAsync(prefix + "runs", job.IdempotencyKey));
        await Sleep(workMs / 1000.0);
        await Cancellable(db.SetAddAsync(prefix + "effects", job.IdempotencyKey));   // the effect, once per key
    });
    Console.WriteLine($"READY {name}");
    try
    {
        await worker.RunAsync();
    }
    finally
    {
        Console.WriteLine($"stopped {name}: {worker.Statistics}");
    }
}

async Task ProducerAsync(int from, int to)
{
    using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
    var queue = new JobQueue(redis, queueName, new JobQueueOptions { KeyPrefix = prefix });
    int created = 0, duplicates = 0;
    for (int i = from; i < to; i++)
    {
        while (true)
        {
            try
            {
                JobHandle handle = await queue.EnqueueAsync("effect", new EffectJob(i), new EnqueueOptions { IdempotencyKey = $"job-{i}" });
                if (handle.IsDuplicate)
                {
                    duplicates++;
                }
                else
                {
                    created++;
                }
                break;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                await Sleep(0.05);   // Redis restarting: the idempotency key makes the retry safe
            }
        }
    }
    Console.WriteLine($"DONE created={created} duplicates={duplicates}");
}

namespace Aio.Examples.JobsRedis
{
    /// <summary>The payload of an "effect" job.</summary>
    public sealed record EffectJob(int Index);
}
