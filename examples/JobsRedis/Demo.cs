using Aio.Jobs;
using Aio.Jobs.Redis;
using StackExchange.Redis;
using static Aio.Asyncio;

namespace Aio.Examples.JobsRedis;

/// <summary>The payload of an "email.send" job.</summary>
public sealed record EmailPayload(string To, string Subject);

/// <summary>The snippets of docs/distributed-jobs.md, and a demo that runs them against a Redis server.</summary>
public static class Demo
{
    // A producer: enqueue, then await the result.
    public static async Task<string?> SendWelcomeAsync(JobQueue queue, string user)
    {
        JobHandle handle = await queue.EnqueueAsync("email.send", new EmailPayload(user, "Welcome!"), new EnqueueOptions
        {
            IdempotencyKey = $"welcome/{user}",    // enqueueing the same welcome again is a no-op
            MaxRetries = 5,                         // up to 6 attempts, with jittered exponential back-off
            Priority = JobPriority.High,
        });
        return await handle.ResultAsync<string>(TimeSpan.FromSeconds(30));
    }

    // A worker: at most 32 jobs at once; a job is acknowledged only after its handler returns.
    public static JobWorker EmailWorker(JobQueue queue, string name) =>
        new JobWorker(queue, new WorkerOptions { ConsumerName = name, Concurrency = 32, RetryBaseDelay = TimeSpan.FromSeconds(0.2) })
            .Handle<EmailPayload, string>("email.send", async (job, cancellationToken) =>
            {
                if (job.Payload.To.StartsWith("flaky", StringComparison.Ordinal) && job.Attempt == 1)
                {
                    throw new IOException("SMTP server timed out");   // retried later
                }
                await Sleep(0.01);                                    // the work; revoking the job cancels it here
                return $"sent to {job.Payload.To} by {name} on attempt {job.Attempt}";
            });

    // Periodic jobs that run once per tick whichever of the processes sharing the store gets there first.
    public static Scheduler DistributedScheduler(IConnectionMultiplexer redis, string instance, Action<string> report)
    {
        var scheduler = new Scheduler(new SchedulerOptions
        {
            Store = new RedisJobStore(redis, new RedisJobStoreOptions { MaxClockSkew = TimeSpan.FromSeconds(1) }),
            InstanceId = instance,
            LeaseDuration = TimeSpan.FromSeconds(30),   // renewed every 10 s while a run lasts
        });
        scheduler.Every(TimeSpan.FromSeconds(1), ctx =>
        {
            report($"tick {ctx.ScheduledAt:HH:mm:ss} ran on {instance} (fencing token {ctx.Lease!.FencingToken})");
            return Task.CompletedTask;
        }, "heartbeat", new JobOptions { AlignToWallClock = true });   // the same ticks in every process
        return scheduler;
    }

    /// <summary>Two workers and a producer in one process; then two schedulers sharing one schedule.</summary>
    public static async Task RunAsync(string redisConfig)
    {
        using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
        await using var queue = new JobQueue(redis, "demo-" + Guid.NewGuid().ToString("N")[..6]);
        JobWorker[] workers = [EmailWorker(queue, "worker-a"), EmailWorker(queue, "worker-b")];
        AioTask[] running = [.. workers.Select(w => CreateTask(() => w.RunAsync(), w.Options.ConsumerName))];
        string[] users = ["ada", "flaky-bob", "cy", "ada"];   // ada twice: the second enqueue is a no-op
        string?[] results = await Gather([.. users.Select(u => CreateTask(() => SendWelcomeAsync(queue, u)))]);
        foreach ((string user, string? result) in users.Zip(results))
        {
            Console.WriteLine($"{user}: {result?.Replace("worker-a", "a worker", StringComparison.Ordinal).Replace("worker-b", "a worker", StringComparison.Ordinal)}");
        }
        JobQueueStats stats = await queue.GetStatsAsync();
        Console.WriteLine($"queued={stats.TotalQueued} running={stats.Running} delayed={stats.Delayed} dead={stats.Dead}");
        foreach (JobWorker w in workers)
        {
            w.Stop();
        }
        await Gather(running);

        var ticks = new SortedSet<string>(StringComparer.Ordinal);
        string[] instances = ["scheduler-1", "scheduler-2"];
        Scheduler[] schedulers = [.. instances.Select(id => DistributedScheduler(redis, id, line => ticks.Add(line[..13])))];
        AioTask[] drivers = [.. schedulers.Select(s => CreateTask(() => s.RunAsync()))];
        await Sleep(3.5);
        foreach (Scheduler s in schedulers)
        {
            await s.StopAsync();
        }
        await Gather(drivers);
        long runs = schedulers.Sum(s => s.Jobs.Count == 0 ? 0 : s.Jobs[0].Statistics.Succeeded);
        Console.WriteLine($"two schedulers, {ticks.Count} heartbeat ticks: each ran once: {runs == ticks.Count}");
    }
}
