namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// A queue's command connection: enqueues (and its workers' acknowledgements, renewals and stops) go over a connection
/// of the queue's own, written and read by the loop (CLIENT LIST shows it as aio-queue:NAME, with its last command).
/// It loads scripts on first use and again after NOSCRIPT, reconnects after a restart or a timeout, keeps replies in
/// order when an await is cancelled, holds a virtual clock while a reply is pending, and leaves calls from another loop
/// to StackExchange.Redis. Its own Redis server (the class fixture): one test flushes the script cache.
/// </summary>
public sealed class QueueConnectionTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private readonly ConnectionMultiplexer _admin = ConnectionMultiplexer.Connect(redis.Server.Configuration + ",allowAdmin=true");

    public void Dispose() => _admin.Dispose();

    private static string UniqueName() => "q" + Guid.NewGuid().ToString("N")[..8];

    private static JobQueue NewQueue(IConnectionMultiplexer redis, string name) => new(redis, name, new JobQueueOptions { KeyPrefix = RedisFixture.Prefix() });

    /// <summary>The last command of each connection named aio-queue:<paramref name="name"/>, joined with commas.</summary>
    private static string QueueClients(ConnectionMultiplexer admin, string name) =>
        string.Join(",", admin.GetServer(admin.GetEndPoints()[0]).ClientList().Where(c => c.Name == "aio-queue:" + name).Select(c => c.LastCommand));

    private string QueueClients(string name) => QueueClients(_admin, name);

    private long NoScriptErrors()
    {
        string? line = _admin.GetServer(_admin.GetEndPoints()[0]).InfoRaw("errorstats")!.Split('\n').FirstOrDefault(l => l.StartsWith("errorstat_NOSCRIPT:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Trim().Split('=')[1]);
    }

    [Fact]
    public void Enqueue_OnTheLoop_OneConnectionOfTheQueueEvalThenEvalshaClosedByDispose()
    {
        var seen = new List<string>();
        string name = UniqueName();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(redis.Redis, name);
            JobHandle[] handles = await Gather(CreateTask(() => queue.EnqueueAsync("j", 1)), CreateTask(() => queue.EnqueueAsync("j", 2)));   // two first calls share one connect
            seen.Add("after two: " + QueueClients(name));
            JobHandle third = await queue.EnqueueAsync("j", 3);
            seen.Add("after three: " + QueueClients(name));
            foreach (JobHandle h in handles.Append(third))
            {
                seen.Add($"{(await h.InfoAsync())!.State} {h.IsDuplicate}");
            }
            await queue.DisposeAsync();
            for (int i = 0; i < 100 && QueueClients(name).Length > 0; i++)
            {
                await Sleep(0.02);   // the server notices the close
            }
            seen.Add("after dispose: " + QueueClients(name));
        });
        Assert.Equal(["after two: evalsha", "after three: evalsha", "Queued False", "Queued False", "Queued False", "after dispose: "], seen);
    }

    [Fact]
    public void Enqueue_AfterScriptFlush_NoScriptAnsweredWithEval()
    {
        var seen = new List<string>();
        string name = UniqueName();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(redis.Redis, name);
            await queue.EnqueueAsync("j", 1);
            seen.Add("first: " + QueueClients(name));
            await queue.EnqueueAsync("j", 2);
            seen.Add("second: " + QueueClients(name));
            long before = NoScriptErrors();
            await _admin.GetServer(_admin.GetEndPoints()[0]).ScriptFlushAsync();
            JobHandle after = await queue.EnqueueAsync("j", 3);
            seen.Add($"after the flush: {QueueClients(name)}, NOSCRIPT errors +{NoScriptErrors() - before}, {(await after.InfoAsync())!.State}");
            await queue.EnqueueAsync("j", 4);
            seen.Add("next: " + QueueClients(name));
            await queue.DisposeAsync();
        });
        Assert.Equal(["first: eval", "second: evalsha", "after the flush: eval, NOSCRIPT errors +1, Queued", "next: evalsha"], seen);
    }

    [Fact]
    public void Enqueue_AfterRedisRestart_ConnectsAgainAndCarriesOn()
    {
        var seen = new List<string>();
        string name = UniqueName();
        using RedisServer server = RedisServer.Start();
        using ConnectionMultiplexer conn = server.Connect();
        using ConnectionMultiplexer admin = ConnectionMultiplexer.Connect(server.Configuration + ",allowAdmin=true");
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(conn, name);
            await queue.EnqueueAsync("j", 1);
            seen.Add("before: " + QueueClients(admin, name));
            await ToThread(server.Restart);   // no persistence: Redis comes back without the queue and without scripts
            JobHandle? next = null;
            for (int i = 0; next is null; i++)
            {
                try
                {
                    next = await queue.EnqueueAsync("j", 2);
                }
                catch (RedisException) when (i < 100)
                {
                    await Sleep(0.05);   // the connection's loss was noticed by this call: the next one connects again
                }
            }
            using ConnectionMultiplexer fresh = ConnectionMultiplexer.Connect(server.Configuration + ",allowAdmin=true");   // the first one may not have reconnected yet
            seen.Add($"after: {QueueClients(fresh, name)}, {(await next.InfoAsync())!.State}");
            await queue.DisposeAsync();
        });
        Assert.Equal(["before: eval", "after: eval, Queued"], seen);   // a new connection loads the script again
    }

    [Fact]
    public void Enqueue_RedisSilentLongerThanTheTimeout_TimeoutThenConnectsAgain()
    {
        var seen = new List<string>();
        string name = UniqueName();
        using var proxy = new StallProxy(redis.Server.Port);
        using ConnectionMultiplexer viaProxy = ConnectionMultiplexer.Connect($"127.0.0.1:{proxy.Port},abortConnect=false,asyncTimeout=500,syncTimeout=5000");
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(viaProxy, name);
            await queue.EnqueueAsync("j", 1);
            proxy.Stall();
            double start = EventLoop.GetRunningLoop().Time();
            try
            {
                await queue.EnqueueAsync("j", 2);
                seen.Add("answered");
            }
            catch (RedisTimeoutException)
            {
                seen.Add($"timed out after {(EventLoop.GetRunningLoop().Time() - start >= 0.45 ? "the timeout" : "less")}");
            }
            proxy.Resume();
            JobHandle third = await queue.EnqueueAsync("j", 3);
            seen.Add($"{(await third.InfoAsync())!.State} {third.IsDuplicate}");
            await queue.DisposeAsync();
        });
        Assert.Equal(["timed out after the timeout", "Queued False"], seen);
    }

    [Fact]
    public void Enqueue_CancelledWithAReplyPending_LaterEnqueuesGetTheirOwnReplies()
    {
        var seen = new List<string>();
        string name = UniqueName();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(redis.Redis, name);
            await queue.EnqueueAsync("warm-up", 0);   // connected
            AioTask<JobHandle> a = CreateTask(() => queue.EnqueueAsync("a", 1, new EnqueueOptions { IdempotencyKey = "a" }), "a");
            await Sleep(0);   // a's script is written
            AioTask<JobHandle> b = CreateTask(() => queue.EnqueueAsync("b", 2, new EnqueueOptions { IdempotencyKey = "b" }), "b");
            await Sleep(0);   // b's script is written behind it
            a.Cancel();
            await Wait([a]);
            seen.Add(a.Cancelled ? "a cancelled" : "a finished");
            JobHandle hb = await b;
            JobHandle hc = await queue.EnqueueAsync("c", 3, new EnqueueOptions { IdempotencyKey = "c" });
            JobHandle again = await queue.EnqueueAsync("a", 1, new EnqueueOptions { IdempotencyKey = "a" });
            foreach ((string label, JobHandle h) in new[] { ("b", hb), ("c", hc), ("a again", again) })
            {
                QueuedJobInfo info = (await h.InfoAsync())!;
                seen.Add($"{label}: job {info.Name}, duplicate {h.IsDuplicate}");
            }
            await queue.DisposeAsync();
        });
        // a's script ran in Redis (its reply was read and dropped): enqueueing a's key again is a duplicate of it.
        Assert.Equal(["a cancelled", "b: job b, duplicate False", "c: job c, duplicate False", "a again: job a, duplicate True"], seen);
    }

    [Fact]
    public void Enqueue_OnAVirtualClockLoop_TimeWaitsForTheReply()
    {
        var seen = new List<string>();
        string name = UniqueName();
        using var proxy = new StallProxy(redis.Server.Port);
        using ConnectionMultiplexer viaProxy = ConnectionMultiplexer.Connect(proxy.Configuration);
        AioTest.Run(async () =>
        {
            JobQueue queue = NewQueue(viaProxy, name);
            await queue.EnqueueAsync("j", 1);   // connected
            proxy.Stall();
            using var resume = new System.Threading.Timer(_ => proxy.Resume(), null, 800, Timeout.Infinite);   // real time: longer than the clock's wait for outside work
            AioTask timer = CreateTask(async () =>
            {
                await Sleep(1);
                seen.Add($"timer at {EventLoop.GetRunningLoop().Time():0.###}");
            }, "timer");
            JobHandle handle = await queue.EnqueueAsync("j", 2);   // the reply comes after ~0.8 s of real time and none of virtual time
            seen.Add($"enqueued at {EventLoop.GetRunningLoop().Time():0.###}, {handle.IsDuplicate}");
            await timer;
            await queue.DisposeAsync();
        });
        Assert.Equal(["enqueued at 0, False", "timer at 1"], seen);
    }

    [Fact]
    public void Enqueue_FromAnotherLiveLoop_GoesThroughStackExchangeRedis()
    {
        var seen = new List<string>();
        string name = UniqueName();
        JobQueue queue = NewQueue(redis.Redis, name);
        using var first = new EventLoop();
        first.RunUntilComplete(async () =>
        {
            await queue.EnqueueAsync("j", 1);
            seen.Add("first loop: " + QueueClients(name));
        });
        QueueKit.Run(async () =>
        {
            JobHandle h = await queue.EnqueueAsync("j", 2);   // the first loop is alive: its connection is not this loop's
            seen.Add($"second loop: {QueueClients(name)}, {(await h.InfoAsync())!.State}");
        });
        first.RunUntilComplete(() => queue.DisposeAsync().AsTask());
        first.Close();
        QueueKit.Run(async () =>
        {
            for (int i = 0; i < 100 && QueueClients(name).Length > 0; i++)
            {
                await Sleep(0.02);
            }
            await queue.EnqueueAsync("j", 3);   // the first loop is closed: this loop connects its own
            seen.Add("third loop: " + QueueClients(name));
            await queue.DisposeAsync();
        });
        Assert.Equal(["first loop: eval", "second loop: eval, Queued", "third loop: eval"], seen);
    }

    [Fact]
    public void Worker_MultiplexerThatCannotRunScripts_AcknowledgesRenewsAndStopsOverTheQueuesConnection()
    {
        var seen = new List<string>();
        WorkerStatistics stats = default;
        string name = UniqueName();
        ConfigurationOptions options = ConfigurationOptions.Parse(redis.Server.Configuration);
        options.CommandMap = CommandMap.Create(["EVAL", "EVALSHA", "SCRIPT"], available: false);
        using ConnectionMultiplexer noScripts = ConnectionMultiplexer.Connect(options);
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(noScripts, name);
            // A lease of 0.3 s renewed every 0.1 s: a job of 0.5 s keeps it only if the renewals reach Redis.
            var worker = new JobWorker(queue, QueueKit.Fast("w1") with { Lease = TimeSpan.FromMilliseconds(300) }).Handle<int>("j", async (job, ct) =>
            {
                await Sleep(job.Payload / 1000.0);
                seen.Add($"ran {job.Payload} ms, attempt {job.Attempt}");
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 500)).WaitAsync(TimeSpan.FromSeconds(10));
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));
            });
            stats = worker.Statistics;
            await queue.DisposeAsync();
        });
        Assert.Equal(["ran 500 ms, attempt 1", "ran 0 ms, attempt 1"], seen);
        Assert.Equal((2L, 2L, 0L), (stats.Started, stats.Succeeded, stats.Refused));
    }
}
