using System.Diagnostics.Metrics;

namespace Aio.Jobs.Redis.Tests;

/// <summary>The task queue in one process: enqueue, run, results, retries, dead letters, delays, priorities, idempotency, revoke, rate limit, stop, inspection, metrics.</summary>
public sealed class JobQueueTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private JobQueue NewQueue(JobQueueOptions? options = null) =>
        new(redis.Redis, "q", (options ?? new JobQueueOptions()) with { KeyPrefix = RedisFixture.Prefix() });

    [Fact]
    public void Enqueue_WorkerRunsIt_ResultAndHistory()
    {
        int result = 0;
        string[] history = [];
        QueuedJobInfo? info = null;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1"))
                .Handle<AddArgs, int>("add", (job, ct) => Task.FromResult(job.Payload.A + job.Payload.B));
            JobHandle handle = await queue.EnqueueAsync("add", new AddArgs(2, 3));
            await QueueKit.With(worker, async () => result = await handle.ResultAsync<int>(TimeSpan.FromSeconds(10)));
            history = await QueueKit.History(queue, handle.Id);
            info = await handle.InfoAsync();
            await queue.DisposeAsync();
        });
        Assert.Equal(5, result);
        Assert.Equal(["queued", "started attempt 1 on w1", "succeeded"], history);
        Assert.Equal((QueuedJobState.Succeeded, 1, "add", null), (info!.State, info.Attempts, info.Name, info.LastError));
    }

    [Fact]
    public void Failure_RetriedWithBackoff_ThenDeadLettered()
    {
        var attempts = new List<string>();
        string? failure = null;
        string[] history = [];
        IReadOnlyList<(string JobId, string Error, int Attempts)> dead = [];
        WorkerStatistics stats = default;
        string id = "";
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<string>("flaky", (job, ct) =>
            {
                attempts.Add($"attempt {job.Attempt} of {job.MaxRetries + 1}");
                throw new InvalidOperationException($"boom {job.Attempt}");
            });
            JobHandle handle = await queue.EnqueueAsync("flaky", "x", new EnqueueOptions { MaxRetries = 2 });
            id = handle.Id;
            await QueueKit.With(worker, async () =>
            {
                JobFailedException e = await Assert.ThrowsAsync<JobFailedException>(() => handle.ResultAsync<object>(TimeSpan.FromSeconds(10)));
                failure = $"{e.State}: {e.Message}";
            });
            history = await QueueKit.History(queue, handle.Id);
            dead = await queue.GetDeadLettersAsync();
            stats = worker.Statistics;
            await queue.DisposeAsync();
        });
        Assert.Equal(["attempt 1 of 3", "attempt 2 of 3", "attempt 3 of 3"], attempts);
        Assert.Equal($"Dead: Job {id} of queue 'q' failed its last attempt and was dead-lettered: System.InvalidOperationException: boom 3", failure);
        Assert.Equal(9, history.Length);
        Assert.Equal(["queued", "started attempt 1 on w1"], history[..2]);
        Assert.StartsWith("failed, retry in ", history[2]);
        Assert.EndsWith(" ms: System.InvalidOperationException: boom 1", history[2]);
        Assert.Equal(["queued", "started attempt 2 on w1"], history[3..5]);
        Assert.EndsWith(" ms: System.InvalidOperationException: boom 2", history[5]);
        Assert.Equal(["queued", "started attempt 3 on w1", "dead: System.InvalidOperationException: boom 3"], history[6..]);
        Assert.Equal([(id, "System.InvalidOperationException: boom 3", 3)], dead);
        Assert.Equal(new WorkerStatistics(Started: 3, Succeeded: 0, Retried: 2, Dead: 1, Revoked: 0, HandedBack: 0, Refused: 0), stats);
    }

    [Fact]
    public void Failure_ThenSuccess_ResultOfTheRetry()
    {
        string? result = null;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<string, string>("once-flaky", (job, ct) =>
                job.Attempt == 1 ? throw new TimeoutException("slow backend") : Task.FromResult($"{job.Payload} on attempt {job.Attempt}"));
            JobHandle handle = await queue.EnqueueAsync("once-flaky", "done");
            await QueueKit.With(worker, async () => result = await handle.ResultAsync<string>(TimeSpan.FromSeconds(10)));
            await queue.DisposeAsync();
        });
        Assert.Equal("done on attempt 2", result);
    }

    [Fact]
    public void Delay_JobWaitsInTheSortedSetUntilDue()
    {
        double waited = 0;
        (QueuedJobState, long) before = default;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<int>("later", (job, ct) =>
            {
                waited = (DateTimeOffset.UtcNow - job.EnqueuedAt).TotalSeconds;
                return Task.CompletedTask;
            });
            JobHandle handle = await queue.EnqueueAsync("later", 1, new EnqueueOptions { Delay = TimeSpan.FromMilliseconds(700) });
            before = ((await handle.InfoAsync())!.State, (await queue.GetStatsAsync()).Delayed);
            await QueueKit.With(worker, () => handle.WaitAsync(TimeSpan.FromSeconds(10)));
            await queue.DisposeAsync();
        });
        Assert.Equal((QueuedJobState.Scheduled, 1L), before);
        Assert.InRange(waited, 0.65, 5);
    }

    [Fact]
    public void Priority_HigherPriorityJobsTakenFirst()
    {
        var order = new List<string>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1", concurrency: 1)).Handle<string>("p", (job, ct) =>
            {
                order.Add(job.Payload);
                return Task.CompletedTask;
            });
            var handles = new List<JobHandle>();
            foreach ((string name, JobPriority p) in new[] { ("low", JobPriority.Low), ("normal-1", JobPriority.Normal), ("high", JobPriority.High), ("normal-2", JobPriority.Normal) })
            {
                handles.Add(await queue.EnqueueAsync("p", name, new EnqueueOptions { Priority = p }));
            }
            await QueueKit.With(worker, async () =>
            {
                foreach (JobHandle h in handles)
                {
                    await h.WaitAsync(TimeSpan.FromSeconds(10));
                }
            });
            await queue.DisposeAsync();
        });
        Assert.Equal(["high", "normal-1", "normal-2", "low"], order);
    }

    [Fact]
    public void IdempotencyKey_SecondEnqueue_IsANoOpReturningTheFirstJob()
    {
        var runs = new List<string>();
        var handles = new List<string>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<string>("mail", (job, ct) =>
            {
                runs.Add($"{job.Payload} key={job.IdempotencyKey}");
                return Task.CompletedTask;
            });
            JobHandle first = await queue.EnqueueAsync("mail", "welcome", new EnqueueOptions { IdempotencyKey = "user-7-welcome" });
            JobHandle second = await queue.EnqueueAsync("mail", "welcome again", new EnqueueOptions { IdempotencyKey = "user-7-welcome" });
            handles.Add($"first duplicate={first.IsDuplicate}");
            handles.Add($"second duplicate={second.IsDuplicate} same={second.Id == first.Id}");
            await QueueKit.With(worker, () => first.WaitAsync(TimeSpan.FromSeconds(10)));
            JobHandle third = await queue.EnqueueAsync("mail", "after it ran", new EnqueueOptions { IdempotencyKey = "user-7-welcome" });
            handles.Add($"third duplicate={third.IsDuplicate} same={third.Id == first.Id}");
            await queue.DisposeAsync();
        });
        Assert.Equal(["welcome key=user-7-welcome"], runs);
        Assert.Equal(["first duplicate=False", "second duplicate=True same=True", "third duplicate=True same=True"], handles);
    }

    [Fact]
    public void Revoke_QueuedJobNeverRuns_RunningJobsScopeIsCancelled()
    {
        var events = new List<string>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var started = new AioEvent();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<string>("work", async (job, ct) =>
            {
                events.Add($"{job.Payload} started");
                started.Set();
                try
                {
                    await Sleep(30);
                }
                catch (CancelledError)
                {
                    events.Add($"{job.Payload} cancelled, token cancelled={ct.IsCancellationRequested}");
                    throw;
                }
            });
            JobHandle queued = await queue.EnqueueAsync("work", "queued", new EnqueueOptions { Delay = TimeSpan.FromSeconds(1) });
            events.Add($"revoke queued: {await queued.RevokeAsync()}");
            JobHandle running = await queue.EnqueueAsync("work", "running");
            await QueueKit.With(worker, async () =>
            {
                await started.WaitAsync();
                // The revoke's reply and the worker's revoke notification come on two connections, in either order:
                // record the reply once the job has ended (its handler saw the cancellation before that).
                bool revokedRunning = await running.RevokeAsync();
                JobFailedException e = await Assert.ThrowsAsync<JobFailedException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
                events.Add($"revoke running: {revokedRunning}");
                events.Add($"result: {e.State}");
                await Sleep(1.2);   // the revoked delayed job's due time passes
            });
            events.Add($"queued ends {(await queued.InfoAsync())!.State}, attempts {(await queued.InfoAsync())!.Attempts}");
            events.Add($"revoked: {worker.Statistics.Revoked}; revoke again: {await running.RevokeAsync()}");
            await queue.DisposeAsync();
        });
        Assert.Equal(
        [
            "revoke queued: True",
            "running started",
            "running cancelled, token cancelled=True",
            "revoke running: True",
            "result: Revoked",
            "queued ends Revoked, attempts 0",
            "revoked: 1; revoke again: False",
        ], events);
    }

    [Fact]
    public void RateLimit_StartsAtMostLimitPerWindow()
    {
        var starts = new List<long>();
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue(new JobQueueOptions { RateLimit = 4, RatePeriod = TimeSpan.FromMilliseconds(500) });
            var worker = new JobWorker(queue, QueueKit.Fast("w1", concurrency: 16)).Handle<int>("tick", (job, ct) =>
            {
                starts.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                return Task.CompletedTask;
            });
            var handles = new List<JobHandle>();
            for (int i = 0; i < 10; i++)
            {
                handles.Add(await queue.EnqueueAsync("tick", i));
            }
            await QueueKit.With(worker, async () =>
            {
                foreach (JobHandle h in handles)
                {
                    await h.WaitAsync(TimeSpan.FromSeconds(20));
                }
            });
            await queue.DisposeAsync();
        });
        Assert.Equal(10, starts.Count);
        // Windows are fixed 500 ms slices of Redis's clock (the same machine's): no slice holds more than 4 starts,
        // so 10 starts span at least three slices.
        Assert.All(starts.GroupBy(t => t / 500), g => Assert.InRange(g.Count(), 1, 4));
        Assert.True(starts.Select(t => t / 500).Distinct().Count() >= 3);
    }

    [Fact]
    public void Stop_GracePeriodEnds_RunningJobHandedBackAndRunByTheNextWorker()
    {
        var events = new List<string>();
        string[] history = [];
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var started = new AioEvent();
            var first = new JobWorker(queue, QueueKit.Fast("w1")).Handle<string>("report", async (job, ct) =>
            {
                started.Set();
                events.Add($"w1 attempt {job.Attempt}");
                await Sleep(30);
            });
            JobHandle handle = await queue.EnqueueAsync("report", "r");
            AioTask run = CreateTask(() => first.RunAsync(), "w1");
            await started.WaitAsync();
            await first.StopAsync(TimeSpan.FromMilliseconds(200));
            await run;
            QueuedJobInfo info = (await handle.InfoAsync())!;
            events.Add($"after stop: {info.State}, attempts {info.Attempts}, handed back {first.Statistics.HandedBack}");
            var second = new JobWorker(queue, QueueKit.Fast("w2")).Handle<string>("report", (job, ct) =>
            {
                events.Add($"w2 attempt {job.Attempt}");
                return Task.CompletedTask;
            });
            await QueueKit.With(second, () => handle.WaitAsync(TimeSpan.FromSeconds(10)));
            history = await QueueKit.History(queue, handle.Id);
            await queue.DisposeAsync();
        });
        Assert.Equal(["w1 attempt 1", "after stop: Queued, attempts 0, handed back 1", "w2 attempt 1"], events);
        Assert.Equal(["queued", "started attempt 1 on w1", "handed back by a stopping worker", "started attempt 1 on w2", "succeeded"], history);
    }

    [Fact]
    public void Envelope_NewerVersion_FailsWithWhatToDo()
    {
        string? error = null;
        QueueKit.Run(async () =>
        {
            JobQueue queue = NewQueue();
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<int>("v", (job, ct) => Task.CompletedTask);
            JobHandle handle = await queue.EnqueueAsync("v", 1, new EnqueueOptions { MaxRetries = 0, Delay = TimeSpan.FromMilliseconds(200) });
            IDatabase db = redis.Redis.GetDatabase();
            RedisKey key = $"{queue.Options.KeyPrefix}{{q}}:j:{handle.Id}";
            string env = (await Cancellable(db.HashGetAsync(key, "env"))).ToString();
            await Cancellable(db.HashSetAsync(key, "env", env.Replace("\"v\":1", "\"v\":2", StringComparison.Ordinal)));   // from a newer producer
            await QueueKit.With(worker, async () =>
            {
                JobFailedException e = await Assert.ThrowsAsync<JobFailedException>(() => handle.WaitAsync(TimeSpan.FromSeconds(10)));
                error = (await handle.InfoAsync())!.LastError;
            });
            await queue.DisposeAsync();
        });
        Assert.Matches(@"^System.NotSupportedException: Job \w+ of queue 'q' comes in envelope version 2; worker w1 reads versions up to 1. Upgrade the worker.$", error);
    }

    [Fact]
    public void Stats_AndMetrics_CountWhatHappened()
    {
        JobQueueStats? stats = null;
        var measured = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == QueueTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        string queueTag = "";
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (KeyValuePair<string, object?> t in tags)
            {
                if (t.Key == "queue" && (string?)t.Value == queueTag)
                {
                    lock (measured)
                    {
                        measured.Add($"{instrument.Name} {value}");
                    }
                }
            }
        });
        listener.Start();
        QueueKit.Run(async () =>
        {
            queueTag = "metrics-" + Guid.NewGuid().ToString("N")[..6];
            var queue = new JobQueue(redis.Redis, queueTag, new JobQueueOptions { KeyPrefix = RedisFixture.Prefix() });
            var worker = new JobWorker(queue, QueueKit.Fast("w1")).Handle<int>("n", (job, ct) =>
                job.Payload < 0 ? throw new ArgumentException("negative") : Task.CompletedTask);
            JobHandle ok = await queue.EnqueueAsync("n", 1);
            JobHandle bad = await queue.EnqueueAsync("n", -1, new EnqueueOptions { MaxRetries = 0 });
            await queue.EnqueueAsync("n", 2, new EnqueueOptions { Delay = TimeSpan.FromHours(1) });
            await queue.EnqueueAsync("n", 3, new EnqueueOptions { Priority = JobPriority.High });
            JobQueueStats queued = await queue.GetStatsAsync();
            measured.Add($"queued {string.Join(",", queued.Queued)} delayed {queued.Delayed}");
            await QueueKit.With(worker, async () =>
            {
                await ok.WaitAsync(TimeSpan.FromSeconds(10));
                await Assert.ThrowsAsync<JobFailedException>(() => bad.WaitAsync(TimeSpan.FromSeconds(10)));
            });
            stats = await queue.GetStatsAsync();
            await queue.DisposeAsync();
        });
        listener.Dispose();
        Assert.Equal((0L, 0L, 0L, 0L, 1L, 1L), (stats!.Queued[0], stats.Queued[1], stats.Queued[2], stats.Running, stats.Delayed, stats.Dead));
        Assert.Equal(["aio.queue.enqueued 1", "aio.queue.enqueued 1", "aio.queue.enqueued 1", "aio.queue.enqueued 1", "queued 0,2,1 delayed 1"], measured.Take(5));
        Assert.Equal(
            ["aio.queue.dead 1", "aio.queue.running -1", "aio.queue.running -1", "aio.queue.running -1", "aio.queue.running 1", "aio.queue.running 1", "aio.queue.running 1",
             "aio.queue.started 1", "aio.queue.started 1", "aio.queue.started 1", "aio.queue.succeeded 1", "aio.queue.succeeded 1"],
            measured.Skip(5).Order(StringComparer.Ordinal));
    }
}
