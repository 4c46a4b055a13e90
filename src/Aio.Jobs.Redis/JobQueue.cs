// JobQueue: the producer side of the task queue (enqueue, results, revoke) and its inspection API.
//
// Design note. A job is a hash (its versioned JSON envelope, state, attempts, fencing token, result, error)
// plus one entry in the stream of its priority; every change of state is one Lua script (QueueScripts), so
// producers and workers in any number of processes see consistent states. Awaiting a result subscribes once
// per queue to the `done` channel; a notification (posted to the loop from StackExchange.Redis's thread)
// wakes the waiters of that job, which re-read its hash; they also re-read it every second, so a
// notification lost across a reconnect only delays them. The enqueue script (and the scripts of this queue's workers
// that end, renew and take over attempts) goes over the queue's own loop-native connection (Internal/QueueCommands:
// written by the loop thread straight into the socket, the reply parsed on the loop, no thread between), opened by
// the first call on the loop that uses the queue; a call from another loop takes StackExchange.Redis. Everything
// else (revoke, stats, inspection, subscriptions) stays on StackExchange.Redis.
using System.Globalization;
using System.Text.Json;
using Aio.Jobs.Redis.Internal;
using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>
/// A task queue on Redis Streams: <see cref="EnqueueAsync{T}"/> jobs from producers, run them in <see cref="JobWorker"/>s
/// (any number, in any processes), await their results through the returned <see cref="JobHandle"/>. Delivery is
/// at least once: a job is acknowledged only after its handler succeeded, a worker's lease lapses if it dies or
/// stalls, and another worker then runs the job again; idempotency keys make a repeated enqueue a no-op and let a
/// handler make its effects happen once. Use it on one loop's thread: enqueues (and its workers' acknowledgements)
/// travel over a connection of its own that belongs to the loop of its first enqueue (a call from another loop goes
/// through StackExchange.Redis instead); <see cref="DisposeAsync"/> closes it.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "A task queue is what Celery users look for.")]
public sealed class JobQueue : IAsyncDisposable
{
    private readonly Dictionary<string, (AioEvent Event, int Count)> _waiters = new(StringComparer.Ordinal);
    private EventLoop? _loop;
    private ChannelMessageQueue? _done;
    private Task? _subscribing;

    /// <summary>Creates the queue named <paramref name="name"/> on <paramref name="redis"/>.</summary>
    public JobQueue(IConnectionMultiplexer redis, string name = "default", JobQueueOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Redis = redis;
        Name = name;
        Options = options ?? new JobQueueOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(Options.DefaultMaxRetries, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.HistoryLength, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(Options.RateLimit, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.RatePeriod, TimeSpan.Zero, nameof(options));
        Json = Options.Json ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Prefix = $"{Options.KeyPrefix}{{{name}}}:";
        Commands = new QueueCommands(redis, $"aio-queue:{name}");
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>The queue's options.</summary>
    public JobQueueOptions Options { get; }

    internal IConnectionMultiplexer Redis { get; }

    /// <summary>The queue's loop-native command connection (enqueues, and its workers' end-of-attempt, renew and take-over scripts).</summary>
    internal QueueCommands Commands { get; }

    internal JsonSerializerOptions Json { get; }

    /// <summary>The prefix of the queue's keys (with a hash tag: one cluster slot).</summary>
    internal string Prefix { get; }

    internal const string Group = "workers";

    internal RedisKey Stream(JobPriority priority) => $"{Prefix}s:{(int)priority}";

    internal IDatabase Db => Redis.GetDatabase();

    /// <summary>
    /// Enqueues a job named <paramref name="name"/> with <paramref name="payload"/> (serialized with System.Text.Json).
    /// Returns its handle; with an <see cref="EnqueueOptions.IdempotencyKey"/> that was used before, nothing is enqueued
    /// and the handle is the first job's (<see cref="JobHandle.IsDuplicate"/>).
    /// </summary>
    public async Task<JobHandle> EnqueueAsync<T>(string name, T payload, EnqueueOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        options ??= new EnqueueOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Delay, TimeSpan.Zero, nameof(options));
        int maxRetries = options.MaxRetries ?? Options.DefaultMaxRetries;
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetries, nameof(options));
        string id = Guid.NewGuid().ToString("N");
        var envelope = new JobEnvelope
        {
            Id = id,
            Name = name,
            Payload = JsonSerializer.SerializeToElement(payload, Json),
            IdempotencyKey = options.IdempotencyKey,
        };
        var parts = (object?[])(await Commands.EvalAsync(QueueScripts.EnqueueScript,
        [
            Prefix, id, JsonSerializer.Serialize(envelope, Json), (int)options.Priority, maxRetries,
            (long)Math.Ceiling(options.Delay.TotalMilliseconds), options.IdempotencyKey ?? "",
            (long)Options.IdempotencyExpiry.TotalMilliseconds, Options.HistoryLength, (long)Options.ResultExpiry.TotalMilliseconds, Group,
        ]))!;
        bool created = (long)parts[0]! == 1;
        if (created)
        {
            QueueTelemetry.Enqueued(Name, name);
        }
        return new JobHandle(this, (string)parts[1]!, isDuplicate: !created);
    }

    /// <summary>The handle of the job <paramref name="id"/> (from another process, say).</summary>
    public JobHandle GetHandle(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return new JobHandle(this, id, isDuplicate: false);
    }

    /// <summary>
    /// Revokes job <paramref name="id"/>: a job not yet started never runs; a running one has its cancel scope cancelled
    /// on its worker (its handler sees <c>CancelledError</c>, or its token cancelled). Returns false if the job already
    /// finished or is unknown.
    /// </summary>
    public async Task<bool> RevokeAsync(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        RedisResult reply = await RedisAwait.Eval(Db, QueueScripts.Revoke, [], [Prefix, id, Options.HistoryLength]);
        return (long)reply != 0;
    }

    /// <summary>The queue's counts now: queued by priority, running, delayed (waiting for a delay or a retry), dead.</summary>
    public async Task<JobQueueStats> GetStatsAsync()
    {
        var n = (RedisResult[])(await RedisAwait.Eval(Db, QueueScripts.Stats, [], [Prefix, Group]))!;
        return new JobQueueStats([(long)n[0], (long)n[1], (long)n[2]], (long)n[3], (long)n[4], (long)n[5]);
    }

    /// <summary>Job <paramref name="id"/>'s record, or null if it is unknown or expired.</summary>
    public async Task<QueuedJobInfo?> GetJobAsync(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        IDatabase db = Db;
        Task<HashEntry[]> fields = db.HashGetAllAsync($"{Prefix}j:{id}");
        Task<RedisValue[]> history = db.ListRangeAsync($"{Prefix}h:{id}");
        HashEntry[] h = await RedisAwait.Call(fields);
        RedisValue[] events = await RedisAwait.Call(history);
        if (h.Length == 0)
        {
            return null;
        }
        var map = h.ToDictionary(e => e.Name.ToString(), e => e.Value);
        JobEnvelope envelope = JsonSerializer.Deserialize<JobEnvelope>(map["env"].ToString(), Json)!;
        var list = new List<(DateTimeOffset, string)>(events.Length);
        foreach (RedisValue e in events)
        {
            string text = e.ToString();
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            list.Add((DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(text.AsSpan(0, space), CultureInfo.InvariantCulture)), text[(space + 1)..]));
        }
        return new QueuedJobInfo(id, envelope.Name, ParseState(map.GetValueOrDefault("state")), (int)map.GetValueOrDefault("attempts"),
            (int)map.GetValueOrDefault("max"), (JobPriority)(int)map.GetValueOrDefault("prio"),
            map.TryGetValue("error", out RedisValue err) ? err.ToString() : null,
            map.TryGetValue("owner", out RedisValue owner) ? owner.ToString() : null,
            DateTimeOffset.FromUnixTimeMilliseconds((long)map.GetValueOrDefault("enq")), list);
    }

    /// <summary>The newest <paramref name="count"/> dead letters, newest first: job id, last error, attempts.</summary>
    public async Task<IReadOnlyList<(string JobId, string Error, int Attempts)>> GetDeadLettersAsync(int count = 100)
    {
        StreamEntry[] entries = await RedisAwait.Call(Db.StreamRangeAsync($"{Prefix}dead", "-", "+", count, Order.Descending));
        return [.. entries.Select(e => (e["j"].ToString(), e["error"].ToString(), (int)e["attempts"]))];
    }

    /// <summary>
    /// Puts dead job <paramref name="id"/> back on its queue with its attempts reset (a fresh set of retries) and removes
    /// its dead-letter entry; its history says so. Returns false if the job is not dead.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The job is unknown, or its record expired (<see cref="JobQueueOptions.ResultExpiry"/>).</exception>
    public async Task<bool> RetryDeadAsync(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        long reply = (long)await RedisAwait.Eval(Db, QueueScripts.RetryDead, [], [Prefix, id, Options.HistoryLength]);
        return reply == -1
            ? throw new KeyNotFoundException($"Job {id} of queue '{Name}' is unknown: it was never enqueued, or its record expired (JobQueueOptions.ResultExpiry is {Options.ResultExpiry}).")
            : reply == 1;
    }

    /// <summary>
    /// Deletes every key of the queue (its streams with their consumer groups, jobs, histories, delayed and dead jobs,
    /// idempotency keys, rate counters) and returns how many were deleted. Workers that run meanwhile recreate their
    /// consumer groups; jobs they hold are lost with the rest.
    /// </summary>
    public async Task<long> PurgeAsync()
    {
        long deleted = 0;
        foreach (IReadOnlyList<RedisKey> batch in await ScanAsync(Redis, Glob(Prefix) + "*"))
        {
            deleted += await RedisAwait.Call(Db.KeyDeleteAsync([.. batch]));
        }
        return deleted;
    }

    /// <summary>
    /// The names of the queues with keys under <paramref name="keyPrefix"/> (<see cref="JobQueueOptions.KeyPrefix"/>) on
    /// <paramref name="redis"/>: those with a stream, delayed jobs or dead letters. Scans the key space (SCAN, in batches).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ListQueuesAsync(IConnectionMultiplexer redis, string keyPrefix = "aio:q:")
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(keyPrefix);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        string start = keyPrefix + "{";
        foreach (string pattern in new[] { "s:[012]", "delayed", "dead" })
        {
            foreach (IReadOnlyList<RedisKey> batch in await ScanAsync(redis, Glob(keyPrefix) + "{*}:" + pattern))
            {
                foreach (RedisKey key in batch)
                {
                    string k = key.ToString();
                    int close = k.LastIndexOf("}:", StringComparison.Ordinal);
                    if (k.StartsWith(start, StringComparison.Ordinal) && close > start.Length)
                    {
                        names.Add(k[start.Length..close]);
                    }
                }
            }
        }
        return [.. names];
    }

    /// <summary>The keys matching <paramref name="pattern"/> (SCAN on the first database), in batches.</summary>
    private static async Task<List<IReadOnlyList<RedisKey>>> ScanAsync(IConnectionMultiplexer redis, string pattern)
    {
        IDatabase db = redis.GetDatabase();
        var batches = new List<IReadOnlyList<RedisKey>>();
        string cursor = "0";
        do
        {
            var reply = (RedisResult[])(await RedisAwait.Call(db.ExecuteAsync("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)))!;
            cursor = reply[0].ToString();
            var keys = (RedisKey[])reply[1]!;
            if (keys.Length > 0)
            {
                batches.Add(keys);
            }
        }
        while (cursor != "0");
        return batches;
    }

    /// <summary><paramref name="text"/> with Redis's glob characters escaped.</summary>
    private static string Glob(string text)
    {
        var b = new System.Text.StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                b.Append('\\');
            }
            b.Append(c);
        }
        return b.ToString();
    }

    internal static QueuedJobState ParseState(RedisValue state) => state.ToString() switch
    {
        "scheduled" => QueuedJobState.Scheduled,
        "queued" => QueuedJobState.Queued,
        "running" => QueuedJobState.Running,
        "retrying" => QueuedJobState.Retrying,
        "succeeded" => QueuedJobState.Succeeded,
        "dead" => QueuedJobState.Dead,
        "revoked" => QueuedJobState.Revoked,
        _ => QueuedJobState.Unknown,
    };

    /// <summary>Waits until job <paramref name="id"/> has finished; returns its result JSON or throws <see cref="JobFailedException"/>.</summary>
    internal async Task<string> WaitFinishedAsync(string id, TimeSpan timeout)
    {
        EventLoop loop = EventLoop.GetRunningLoop();
        await SubscribeAsync(loop);
        AioEvent finished = Register(id);
        double deadline = loop.Time() + timeout.TotalSeconds;
        try
        {
            while (true)
            {
                finished.Clear();
                RedisValue[] v = await RedisAwait.Call(Db.HashGetAsync($"{Prefix}j:{id}", ["state", "result", "error", "env"]));
                QueuedJobState state = ParseState(v[0]);
                switch (state)
                {
                    case QueuedJobState.Succeeded:
                        return v[1].ToString();
                    case QueuedJobState.Dead:
                        throw new JobFailedException(id, state, $"Job {id} of queue '{Name}' failed its last attempt and was dead-lettered: {v[2]}");
                    case QueuedJobState.Revoked:
                        throw new JobFailedException(id, state, $"Job {id} of queue '{Name}' was revoked.");
                    case QueuedJobState.Unknown:
                        throw new JobFailedException(id, state, $"Job {id} of queue '{Name}' is unknown: it was never enqueued, or its record expired (JobQueueOptions.ResultExpiry is {Options.ResultExpiry}).");
                }
                double left = deadline - loop.Time();
                if (left <= 0)
                {
                    throw new TimeoutException($"Job {id} of queue '{Name}' did not finish within {timeout.TotalSeconds:0.###} s (it is {state.ToString().ToLowerInvariant()}); wait longer, or check the workers.");
                }
                await Asyncio.MoveOnAfter(Math.Min(left, 1.0), async () => await finished.WaitAsync());
            }
        }
        finally
        {
            Unregister(id);
        }
    }

    private AioEvent Register(string id)
    {
        (AioEvent Event, int Count) w = _waiters.TryGetValue(id, out var existing) ? existing : (new AioEvent(), 0);
        _waiters[id] = (w.Event, w.Count + 1);
        return w.Event;
    }

    private void Unregister(string id)
    {
        (AioEvent ev, int count) = _waiters[id];
        if (count == 1)
        {
            _waiters.Remove(id);
        }
        else
        {
            _waiters[id] = (ev, count - 1);
        }
    }

    private Task SubscribeAsync(EventLoop loop)
    {
        if (_subscribing is null || _subscribing.IsFaulted || _subscribing.IsCanceled)
        {
            _loop = loop;
            _subscribing = SubscribeCoreAsync();
        }
        return _subscribing;
    }

    private async Task SubscribeCoreAsync()
    {
        _done = await RedisAwait.Call(Redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(Prefix + "done")));
        EventLoop loop = _loop!;
        _done.OnMessage(message =>
        {
            string id = message.Message.ToString();
            try
            {
                loop.CallSoonThreadSafe(() =>
                {
                    if (_waiters.TryGetValue(id, out var w))
                    {
                        w.Event.Set();
                    }
                });
            }
            catch (InvalidOperationException)
            {
                // The loop closed: nobody waits any more.
            }
        });
    }

    /// <summary>Closes the queue's command connection (if it is this loop's) and unsubscribes from the queue's notifications.</summary>
    public async ValueTask DisposeAsync()
    {
        Commands.Close();
        if (_done is { } done)
        {
            _done = null;
            await RedisAwait.Call(done.UnsubscribeAsync());
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"<JobQueue '{Name}' prefix='{Prefix}'>";
}

/// <summary>A job enqueued on a <see cref="JobQueue"/>: its id, its result, its record.</summary>
public sealed class JobHandle
{
    private readonly JobQueue _queue;

    internal JobHandle(JobQueue queue, string id, bool isDuplicate)
    {
        _queue = queue;
        Id = id;
        IsDuplicate = isDuplicate;
    }

    /// <summary>The job's id.</summary>
    public string Id { get; }

    /// <summary>True if the enqueue was a no-op: its idempotency key had been used, and this is the first job's handle.</summary>
    public bool IsDuplicate { get; }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the job to succeed and returns its handler's result.
    /// </summary>
    /// <exception cref="JobFailedException">The job was dead-lettered or revoked, or its record expired.</exception>
    /// <exception cref="TimeoutException">It did not finish in time (it goes on).</exception>
    public async Task<T?> ResultAsync<T>(TimeSpan timeout)
    {
        string json = await _queue.WaitFinishedAsync(Id, timeout);
        return json.Length == 0 ? default : JsonSerializer.Deserialize<T>(json, _queue.Json);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the job to succeed (see <see cref="ResultAsync{T}"/>).</summary>
    public async Task WaitAsync(TimeSpan timeout) => await _queue.WaitFinishedAsync(Id, timeout);

    /// <summary>The job's record (<see cref="JobQueue.GetJobAsync"/>).</summary>
    public Task<QueuedJobInfo?> InfoAsync() => _queue.GetJobAsync(Id);

    /// <summary>Revokes the job (<see cref="JobQueue.RevokeAsync"/>).</summary>
    public Task<bool> RevokeAsync() => _queue.RevokeAsync(Id);

    /// <inheritdoc/>
    public override string ToString() => $"<JobHandle {Id}{(IsDuplicate ? " duplicate" : "")}>";
}
