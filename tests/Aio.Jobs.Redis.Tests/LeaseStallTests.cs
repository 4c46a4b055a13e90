namespace Aio.Jobs.Redis.Tests;

/// <summary>A worker cut off from Redis (a stalling proxy) for longer than its lease: the job is redelivered, and the stale owner's late acknowledgement is refused by its fencing token.</summary>
public sealed class LeaseStallTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public void Stall_LongerThanTheLease_JobRedelivered_StaleAckRefused()
    {
        var events = new List<string>();
        string[] history = [];
        WorkerStatistics stale = default, fresh = default;
        using var proxy = new StallProxy(redis.Server.Port);
        using ConnectionMultiplexer viaProxy = ConnectionMultiplexer.Connect(proxy.Configuration);
        string prefix = RedisFixture.Prefix();
        QueueKit.Run(async () =>
        {
            var queue = new JobQueue(redis.Redis, "q", new JobQueueOptions { KeyPrefix = prefix });
            var staleQueue = new JobQueue(viaProxy, "q", new JobQueueOptions { KeyPrefix = prefix });
            IDatabase db = redis.Redis.GetDatabase();
            var aStarted = new AioEvent();
            var aDone = new AioEvent();
            Func<string, Func<QueuedJob<string>, CancellationToken, Task>> handler = name => async (job, ct) =>
            {
                events.Add($"{name} attempt {job.Attempt} token {job.FencingToken}");
                if (name == "A")
                {
                    aStarted.Set();
                    await Sleep(2.5);   // cut off meanwhile; the body itself goes on
                }
                // The effect, once per idempotency key (SET NX), whoever gets there first.
                bool applied = await Cancellable(db.StringSetAsync(prefix + "effect:" + job.IdempotencyKey, name, when: When.NotExists));
                events.Add($"{name} effect applied: {applied}");
                if (name == "A")
                {
                    aDone.Set();
                }
            };
            var a = new JobWorker(staleQueue, QueueKit.Fast("A") with { Lease = TimeSpan.FromSeconds(1) }).Handle("stall", handler("A"));
            var b = new JobWorker(queue, QueueKit.Fast("B") with { Lease = TimeSpan.FromSeconds(1) }).Handle("stall", handler("B"));
            JobHandle handle = await queue.EnqueueAsync("stall", "x", new EnqueueOptions { IdempotencyKey = "invoice-42" });
            AioTask runA = CreateTask(() => a.RunAsync(), "A");
            await aStarted.WaitAsync();
            proxy.Stall();
            events.Add("stall");
            AioTask runB = CreateTask(() => b.RunAsync(), "B");
            await handle.WaitAsync(TimeSpan.FromSeconds(15));
            events.Add("job succeeded");
            await aDone.WaitAsync();   // A's body ends; its acknowledgement waits in the stalled proxy
            await Sleep(0.3);
            proxy.Resume();
            events.Add("resume");
            await Sleep(0.5);    // A's late acknowledgement (and renewal) reach Redis and are answered
            a.Stop();
            b.Stop();
            await Gather(runA, runB);
            stale = a.Statistics;
            fresh = b.Statistics;
            history = await QueueKit.History(queue, handle.Id);
            await queue.DisposeAsync();
            await staleQueue.DisposeAsync();
        });
        Assert.Equal(
        [
            "A attempt 1 token 1",
            "stall",
            "B attempt 2 token 2",
            "B effect applied: True",
            "job succeeded",
            "A effect applied: False",      // A's body ends during the stall; its acknowledgement waits in the proxy
            "resume",
        ], events);
        Assert.Equal(["queued", "started attempt 1 on A", "redelivered attempt 2 on B", "succeeded"], history);
        Assert.Equal((0L, 1L), (stale.Succeeded, stale.Refused));
        Assert.Equal((1L, 0L), (fresh.Succeeded, fresh.Refused));
    }
}
