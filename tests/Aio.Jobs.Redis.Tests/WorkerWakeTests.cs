using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Aio.Jobs.Redis.Tests;

/// <summary>
/// How an idle worker learns of work: it waits on the queue's bell (BLPOP on its own connection, its Take pipelined
/// behind), an enqueue rings it and Redis wakes one waiting worker, a delayed job or a retry that becomes the next
/// one due rings it too, and nothing else (a job ending) costs a Redis call. A stopping, cancelled or cut-off worker
/// leaves its wait cleanly. Its own Redis server: the tests count the commands it runs (INFO commandstats).
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
    public void Enqueue_IdleWorker_StartedByTheTakeBehindItsWaitNoNotification()
    {
        (long Scripts, long Publishes, long Waits) counts = default;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, Sleepy("w1")).Handle<int>("j", (job, ct) => Task.CompletedTask);
            await QueueKit.With(worker, async () =>
            {
                await (await queue.EnqueueAsync("j", 0)).WaitAsync(TimeSpan.FromSeconds(10));   // the worker is up and waiting
                (long s, long p, long w) = (await ScriptCalls(), await Calls("publish"), await Calls("blpop"));
                for (int i = 1; i <= 10; i++)
                {
                    await (await queue.EnqueueAsync("j", i)).WaitAsync(TimeSpan.FromSeconds(10));
                }
                counts = (await ScriptCalls() - s, await Calls("publish") - p, await Calls("blpop") - w);
            });
            await queue.DisposeAsync();
        });
        // Per job: enqueue, take, succeed; one PUBLISH (the `done` the handle waits for), no wake-up notification;
        // the take ran behind the worker's BLPOP on the bell, which the enqueue rang.
        Assert.Equal((30L, 10L, 10L), counts);
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
        Assert.Equal(4L, scripts);   // the worker's reset of its stop flag, a take of all ten, the bell's empty take, ONE succeed for all ten
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
            await queue.EnqueueAsync("j", 1);   // nobody takes it: the stopped worker's Take took nothing and waits no more
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
    public void Enqueue_IdleWorker_ThreeScriptsPerJob()
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
        Assert.Equal(10 * 3, scripts);   // enqueue, take, succeed: a job's end does not send the worker looking again
    }

    [Fact]
    public void Enqueue_TwoIdleWorkersOfOneQueue_OneTakesEachJobInTurn()
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
        Assert.Equal((30L, 5L, 5L), (scripts, started[0], started[1]));   // one take per job, by each worker in turn
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
}
