using Aio.Http;
using Aio.Jobs.Redis;
using StackExchange.Redis;

namespace Aio.Examples.JobsRedis;

/// <summary>
/// A producer web endpoint: an Aio.Http application that enqueues jobs for the workers (docs/distributed-jobs.md).
/// </summary>
internal static class WebProducer
{
    public static async Task RunAsync(string redisConfig, string queueName, string prefix, int port)
    {
        using ConnectionMultiplexer redis = await ConnectionMultiplexer.ConnectAsync(redisConfig);
        await using var queue = new JobQueue(redis, queueName, new JobQueueOptions { KeyPrefix = prefix });

        var app = new Application();
        // Enqueue: the idempotency key makes a retried POST a no-op (200 with the first job's id).
        app.Router.Post("/jobs/{index:int}", async req =>
        {
            int index = req.Route<int>("index");
            JobHandle job = await queue.EnqueueAsync("effect", new EffectJob(index), new EnqueueOptions { IdempotencyKey = $"job-{index}" });
            return Response.Json(new { id = job.Id, duplicate = job.IsDuplicate }, status: job.IsDuplicate ? 200 : 202);
        });
        app.Router.Get("/jobs/{id}", async req =>
            await queue.GetJobAsync(req.Route<string>("id")) is QueuedJobInfo info
                ? Response.Json(new { id = info.Id, state = info.State.ToString(), attempts = info.Attempts, error = info.LastError })
                : throw new HttpException(404, "No such job."));
        app.Router.Get("/stats", async _ =>
        {
            JobQueueStats stats = await queue.GetStatsAsync();
            return Response.Json(new { queued = stats.TotalQueued, running = stats.Running, delayed = stats.Delayed, dead = stats.Dead });
        });
        await app.RunAsync("127.0.0.1", port, server => Console.WriteLine($"READY {server.Port}"));
    }
}
