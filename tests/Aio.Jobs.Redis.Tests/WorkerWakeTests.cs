using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// How an idle worker learns of work: its Take registers it as idle, and an enqueue then starts the job for it and
/// hands it over (the worker's BLPOP pops it from its inbox: no Take per job); work no idle worker was handed rings the
/// bell, on which idle workers wait too; a delayed job or a retry that becomes the next one due rings it as well, and
/// nothing else (a job ending) costs a Redis call. A stopping, cancelled or cut-off worker leaves its wait cleanly.
/// Its own Redis server: the tests count the commands it runs (INFO commandstats).
/// </summary>
public sealed class WorkerWakeTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private readonly ConnectionMultiplexer _admin = ConnectionMultiplexer.Connect(redis.Server.Configuration + ",allowAdmin=true");

    public void Dispose() => _admin.Dispose();

    private JobQueue NewQueue() => new(redis.Redis, "q", new JobQueueOptions { KeyPrefix = RedisFixture.Prefix() });

    /// <summary>
    /// Workers that would sleep for a minute between looks: only notifications can make them start a job in time. The
    /// long lease keeps renewals and take-overs (a script each) out of the tests' counts.
    /// </summary>
    private static WorkerOptions Sleepy(string name) => QueueKit.Fast(name) with
    {
        PollInterval = TimeSpan.FromSeconds(60),
        Lease = TimeSpan.FromMinutes(5),
    };

    /// <summary>Scripts run by the server so far (EVAL and EVALSHA calls).</summary>
    private Task<long> ScriptCalls() => Calls("eval", "evalsha");

    /// <summary>Calls of the named commands the server has run so far (INFO commandstats; commands run by scripts included).</summary>
    private async Task<long> Calls(params string[] commands)
    {
        IServer server = _admin.GetServer(_admin.GetEndPoints()[0]);
        IGrouping<string, KeyValuePair<string, string>>[] info = await server.InfoAsync("commandstats");
        long calls = 0;
        foreach (KeyValuePair<string, string> stat in info.SelectMany(g => g))
        {
            if (commands.Any(c => stat.Key == "cmdstat_" + c))
            {
                string count = stat.Value.Split(',')[0];   // calls=N,usec=...
                calls += long.Parse(count.AsSpan("calls=".Length), CultureInfo.InvariantCulture);
            }
        }
        return calls;
    }

    [Fact]
    public void Enqueue_IdleWorker_HandedTheStartedJobNoTakeNoNotification()
    {
        (long Scripts, long Publishes, long Waits, long Registrations) counts = default;
        string[] history = [];
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // the worker is up and waiting
                (long s, long p, long w, long z) = (await ScriptCalls(), await Calls("publish"), await Calls("blpop"), await Calls("zadd"));
                JobHandle last = null!;
                for (int i = 1; i <= 10; i++)
                {
                    last = await queue.EnqueueAsync("j", i);
                    await last.WaitAsync(TimeSpan.FromSeconds(10));
                }
                counts = (await ScriptCalls() - s, await Calls("publish") - p, await Calls("blpop") - w, await Calls("zadd") - z);
                history = await QueueKit.History(queue, last.Id);
            });
            await queue.DisposeAsync();
        });
        // Per job: the enqueue (which starts it for the waiting worker) and the succeed, one PUBLISH (the `done` the
        // handle waits for); the worker pops the job with its BLPOP and registers again (ZADD) for the next one.
        Assert.Equal((20L, 10L, 10L, 10L), counts);
        Assert.Equal(["queued", "started attempt 1 on w1", "succeeded"], history);
    }

    [Fact]
    public void Succeed_JobsEndingInOneLoopIteration_OneScriptCall()
    {
        long scripts = 0;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var handles = new List<JobHandle>();
            for (int i = 0; i < 10; i++)
            {
                handles.Add(await queue.EnqueueAsync("j", i));
            }
            long before = await ScriptCalls();
            // One free slot more than jobs: the take does not fill the worker, so it rings nobody. The enqueues rang
            // the bell while no worker waited, so the worker's first wait returns at once (a take that finds nothing);
            // its next one waits for 60 s.
            var worker = new JobWorker(queue, Sleepy("w1") with { Concurrency = 11 }).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(worker, async () =>
            {
                foreach (JobHandle h in handles)
                {
                    await h.WaitAsync(TimeSpan.FromSeconds(10));
                }
                scripts = await ScriptCalls() - before;
            });
            await queue.DisposeAsync();
        });
        Assert.Equal(4L, scripts);   // the worker's reset of its wake list, a take of all ten, the bell's empty take, ONE succeed for all ten
    }

    [Fact]
    public void Stop_WorkerWaitingOnTheBell_LeavesItsWaitTakingNothing()
    {
        double stopSeconds = double.NaN;
        JobQueueStats after = default!;
        long started = -1;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            AioTask run = CreateTask(() => worker.RunAsync(), "worker");
            await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));
            await Sleep(0.2);   // waiting on the bell again
            var clock = Stopwatch.StartNew();
            worker.Stop();
            await run;
            stopSeconds = clock.Elapsed.TotalSeconds;
            started = worker.Statistics.Started;
            await queue.EnqueueAsync("j", 1);   // nobody takes it: the stopped worker is no longer registered and waits no more
            await Sleep(0.3);
            after = await queue.GetStatsAsync();
            await queue.DisposeAsync();
        });
        Assert.InRange(stopSeconds, 0, 1.5);
        Assert.Equal((1L, 1L, 0L), (started, after.TotalQueued, after.Running));
    }

    [Fact]
    public void Cancel_WorkerWaitingOnTheBell_LeavesItsWaitAndRethrows()
    {
        var events = new List<string>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            AioTask run = CreateTask(() => worker.RunAsync(), "worker");
            await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));
            await Sleep(0.2);
            run.Cancel();
            try
            {
                await run;
                events.Add("returned");
            }
            catch (CancelledError)
            {
                events.Add("cancelled");
            }
            JobHandle next = await queue.EnqueueAsync("j", 1);
            var second = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) =>
            {
                events.Add($"w1 again ran {job.Payload}");
                return Task.CompletedTask;
            });
            await QueueKit.With(second, () => next.WaitAsync(TimeSpan.FromSeconds(10)));   // the same name starts clean
            await queue.DisposeAsync();
        });
        Assert.Equal(["cancelled", "w1 again ran 1"], events);
    }

    [Fact]
    public void Restart_WorkerWaitingOnTheBell_ConnectsAgainAndTakesNewJobs()
    {
        var ran = new List<int>();
        using RedisServer server = RedisServer.Start();
        using ConnectionMultiplexer redis = server.Connect();
        QueueKit.Run(async () =>
        {
            var queue = new JobQueue(redis, "q", new JobQueueOptions { KeyPrefix = RedisFixture.Prefix() });
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) =>
            {
                ran.Add(job.Payload);
                return Task.CompletedTask;
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 1)).WaitAsync(TimeSpan.FromSeconds(10));
                await ToThread(server.Restart);   // no persistence: the queue's keys and groups are gone too
                JobHandle? second = null;
                for (int i = 0; second is null; i++)
                {
                    try
                    {
                        second = await queue.EnqueueAsync("j", 2);
                    }
                    catch (RedisException) when (i < 100)
                    {
                        await Sleep(0.2);   // StackExchange.Redis has not reconnected yet
                    }
                }
                await second.WaitAsync(TimeSpan.FromSeconds(20));
            });
            await queue.DisposeAsync();
        });
        Assert.Equal([1, 2], ran);
    }

    [Fact]
    public void Delay_WorkersSleepingForAMinute_JobStartsWhenDue()
    {
        double startedAfter = double.NaN;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var clock = new Stopwatch();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) =>
            {
                if (job.Payload == 1)
                {
                    startedAfter = clock.Elapsed.TotalSeconds;
                }
                return Task.CompletedTask;
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // the worker is up and asleep
                clock.Start();
                JobHandle later = await queue.EnqueueAsync("j", 1, new EnqueueOptions { Delay = TimeSpan.FromMilliseconds(300) });
                await later.WaitAsync(TimeSpan.FromSeconds(10));
            });
            await queue.DisposeAsync();
        });
        Assert.InRange(startedAfter, 0.25, 5);
    }

    [Fact]
    public void Retry_WorkerSleepingForAMinute_RetriedWhenDue()
    {
        var attempts = new List<int>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) =>
            {
                attempts.Add(job.Attempt);
                return job.Attempt == 1 ? throw new InvalidOperationException("first attempt fails") : Task.CompletedTask;
            });
            await QueueKit.With(worker, async () => await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10)));
            await queue.DisposeAsync();
        });
        Assert.Equal([1, 2], attempts);
    }

    [Fact]
    public void Enqueue_IdleWorker_TwoScriptsPerJob()
    {
        long scripts = 0;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));
                long before = await ScriptCalls();
                for (int i = 1; i <= 10; i++)
                {
                    await (await queue.EnqueueAsync("j", i)).WaitAsync(TimeSpan.FromSeconds(10));
                }
                scripts = await ScriptCalls() - before;
            });
            await queue.DisposeAsync();
        });
        Assert.Equal(10 * 2, scripts);   // enqueue (handing the job over), succeed: a job's end does not send the worker looking again
    }

    [Fact]
    public void Enqueue_TwoIdleWorkersOfOneQueue_JobsHandedToBothInTurn()
    {
        long scripts = 0;
        var started = new List<long>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            JobWorker w1 = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            JobWorker w2 = new JobWorker(queue, Sleepy("w2")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(w1, () => QueueKit.With(w2, async () =>
            {
                for (int i = 0; i < 20 && (w1.Statistics.Started == 0 || w2.Statistics.Started == 0); i++)
                {
                    await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // both up and asleep
                }
                long before = await ScriptCalls();
                long w1Before = w1.Statistics.Started, w2Before = w2.Statistics.Started;
                for (int i = 1; i <= 10; i++)
                {
                    await (await queue.EnqueueAsync("j", i)).WaitAsync(TimeSpan.FromSeconds(10));
                }
                scripts = await ScriptCalls() - before;
                started.AddRange([w1.Statistics.Started - w1Before, w2.Statistics.Started - w2Before]);
            }));
            await queue.DisposeAsync();
        });
        // No take: each job is handed to the worker registered longest ago (registrations are Redis milliseconds: two
        // in one millisecond go by name), so the two take turns.
        Assert.Equal((20L, 10L), (scripts, started[0] + started[1]));
        Assert.InRange(started[0], 3, 7);
    }

    [Fact]
    public void Enqueue_IdleWorker_StartsWithinASecond()
    {
        double latency = double.NaN;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<long>("j", (job, ct) =>
            {
                if (job.Payload != 0)
                {
                    latency = Stopwatch.GetElapsedTime(job.Payload).TotalSeconds;
                }
                return Task.CompletedTask;
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0L)).WaitAsync(TimeSpan.FromSeconds(10));
                await (await queue.EnqueueAsync("j", Stopwatch.GetTimestamp())).WaitAsync(TimeSpan.FromSeconds(10));
            });
            await queue.DisposeAsync();
        });
        Assert.InRange(latency, 0, 1);
    }
    [Fact]
    public void Enqueue_RegisteredWorkerThatDied_JobRunsElsewhereWhenItsLeaseLapses()
    {
        // A worker that dies while idle stays registered until its registration lapses (its poll interval and a
        // second): a job handed to it meanwhile is started in its name, and another worker takes it over once the
        // lease lapses. "ghost" stands for it: registered by hand, nobody behind it.
        string prefix = RedisFixture.Prefix();
        var runs = new List<string>();
        string[] history = [];
        string stateWhileGhostHeldIt = "", inbox = "";
        QueueKit.Run(async () =>
        {
            var queue = new JobQueue(redis.Redis, "q", new JobQueueOptions { KeyPrefix = prefix });
            var first = new JobWorker(queue, QueueKit.Fast("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(first, async () => await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10)));   // the consumer group exists
            IDatabase db = redis.Redis.GetDatabase();
            var time = (RedisResult[])(await db.ExecuteAsync("TIME"))!;
            long nowMs = ((long)time[0] * 1000) + ((long)time[1] / 1000);
            await db.SortedSetAddAsync(prefix + "{q}:idle", "ghost", nowMs + 60_000);
            JobHandle handle = await queue.EnqueueAsync("j", 1);
            stateWhileGhostHeldIt = $"{(await handle.InfoAsync())!.State}";
            var second = new JobWorker(queue, QueueKit.Fast("w2")).Handle<int>("j", (job, ct) =>
            {
                runs.Add($"w2 ran {job.Payload}, attempt {job.Attempt}");
                return Task.CompletedTask;
            });
            bool inboxWhileHeld = await db.KeyExistsAsync(prefix + "{q}:inbox:ghost");
            await QueueKit.With(second, () => handle.WaitAsync(TimeSpan.FromSeconds(20)));
            history = await QueueKit.History(queue, handle.Id);
            inbox = $"ghost's inbox while it held the job: {inboxWhileHeld}, after the take-over: {await db.KeyExistsAsync(prefix + "{q}:inbox:ghost")}";
            await queue.DisposeAsync();
        });
        Assert.Equal("Running", stateWhileGhostHeldIt);
        Assert.Equal(["w2 ran 1, attempt 2"], runs);
        Assert.Equal(["queued", "started attempt 1 on ghost", "redelivered attempt 2 on w2", "succeeded"], history);
        Assert.Equal("ghost's inbox while it held the job: True, after the take-over: False", inbox);
    }

    [Fact]
    public void Enqueue_WorkerWithNoFreeSlot_IsNotHandedMoreThanItsConcurrency()
    {
        var events = new List<string>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var gate = new AioEvent();
            var oneStarted = new AioEvent();
            int running = 0, most = 0;
            var worker = new JobWorker(queue, Sleepy("w1") with { Concurrency = 1 }).Handle<int>("j", async (job, ct) =>
            {
                most = Math.Max(most, ++running);
                if (job.Payload == 1)
                {
                    oneStarted.Set();
                    await gate.WaitAsync();
                }
                running--;
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // up and waiting
                JobHandle one = await queue.EnqueueAsync("j", 1);
                await oneStarted.WaitAsync();
                JobHandle two = await queue.EnqueueAsync("j", 2);
                await Sleep(0.3);
                events.Add($"while 1 runs: 2 is {(await two.InfoAsync())!.State}, running {worker.RunningCount}");
                gate.Set();
                await one.WaitAsync(TimeSpan.FromSeconds(10));
                await two.WaitAsync(TimeSpan.FromSeconds(10));   // the job's end frees the slot; the bell 2 rang is waiting
                events.Add($"most at once: {most}");
            });
            await queue.DisposeAsync();
        });
        Assert.Equal(["while 1 runs: 2 is Queued, running 1", "most at once: 1"], events);
    }

    [Fact]
    public void Revoke_RightAfterTheEnqueueHandedTheJobOver_JobEndsRevoked()
    {
        string outcome = "";
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", async (job, ct) =>
            {
                if (job.Payload == 1)
                {
                    await Sleep(30);
                }
            });
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // up and waiting
                JobHandle handle = await queue.EnqueueAsync("j", 1);   // started for the worker by this enqueue
                bool revoked = await handle.RevokeAsync();   // its notice may reach the worker before the job does
                JobFailedException e = await Assert.ThrowsAsync<JobFailedException>(() => handle.WaitAsync(TimeSpan.FromSeconds(10)));
                outcome = $"revoke {revoked}, ends {e.State}, worker revoked {worker.Statistics.Revoked}";
            });
            await queue.DisposeAsync();
        });
        Assert.Equal("revoke True, ends Revoked, worker revoked 1", outcome);
    }
}
