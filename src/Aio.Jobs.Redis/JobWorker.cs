// JobWorker: runs a queue's jobs on the loop, at most Concurrency at once.
//
// Design note. One driver (RunAsync) takes jobs with one script call per batch (QueueScripts.Take: collect what
// enqueues handed to this worker, move due delayed jobs into their streams, apply the queue's rate limit, XREADGROUP
// the free slots' worth, highest priority first, and start each: state running, attempt and fencing token raised).
// A Take that leaves a slot free registers the worker as idle (P idle, for the poll interval and a second). The driver
// then waits on a connection of its own, read and written by the loop (Internal/RespConnection; StackExchange.Redis
// cannot block and answers on its own threads): `BLPOP inbox bell wake`. An enqueue that finds the worker registered
// starts the job for it in the enqueue script and pushes it to the worker's inbox, which Redis hands to the blocked
// BLPOP at once: one script and one message from Redis between an enqueue and the job's start, no Take, no thread
// hop. With a slot still free the driver registers again (a plain ZADD pipelined before its next BLPOP). An enqueue
// that finds nobody registered rings the bell (so do hand-backs, and delayed jobs that become the next one due): the
// driver's BLPOP pops it and it runs a Take. Each job runs as its own Aio task inside a cancel scope. A maintenance task
// renews the leases of all running jobs in one script call every third of the lease (XCLAIM by the owner resets the
// entry's idle time; a stale fencing token means the job was taken over: its scope is cancelled) and takes over
// entries idle longer than the lease (XAUTOCLAIM — their worker died or stalled; a dead worker's inbox goes with it).
// An attempt ends with one script checking its fencing token: success (XACK, result), failure (retry later through the
// delayed set, or the dead-letter stream), revoked, or handed back by a stopping worker. The driver sleeps when it has
// no free slot or nothing to take: with every slot taken, until a job ends; with free slots, in its BLPOP until a job is
// handed over, the bell rings, the next delayed job is due, or the poll interval passes (the fallback for a ring lost
// across a restart). A job ending does not send a driver with free slots looking again: its Take found the streams
// empty, and anything queued since was handed to it or rang. So a handed-over job costs two scripts (enqueue,
// succeed), and an idle worker makes two Redis calls per poll interval and no loop iteration until something happens.
// A stopping worker unregisters and ends its own wait through the queue's command connection (QueueScripts.Unblock
// pushes to its wake list), then collects what was handed to it meanwhile (QueueScripts.Settle); a worker cancelled
// mid-fetch still collects the jobs its fetch started, and the drain hands them all back. A worker that dies while
// registered may be handed jobs until its registration lapses: they are taken over when their lease lapses. Redis
// failures (a restart, say) are logged and retried with a new fetch connection. The scripts that end, renew and take
// over attempts (and the stop's Unblock and Settle, and the start's Reset) go over the queue's command connection
// (Internal/QueueCommands: loop-native too, shared with the queue's enqueues when they run on this loop; through
// StackExchange.Redis if the queue's connection belongs to another live loop); the fetch's connection is blocked in
// BLPOP and cannot carry them. So a job's path (enqueue, start, succeed) involves no thread besides the loops'.
// StackExchange.Redis remains for consumer groups, the revoke subscription and inspection.
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Aio.Jobs.Redis.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Aio.Jobs.Redis;

/// <summary>Settings of a <see cref="JobWorker"/>.</summary>
public sealed record WorkerOptions
{
    /// <summary>The most jobs the worker runs at once. Default 16.</summary>
    public int Concurrency { get; init; } = 16;

    /// <summary>
    /// How long a job stays this worker's without a renewal. The worker renews every third of it while the job runs;
    /// if the worker dies or stalls longer, another worker takes the job over. Default 30 seconds.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an idle worker looks for work without being woken (a wake can be lost across a Redis restart). Default one second.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The retry delay after a first failure; it doubles with each further attempt, up to <see cref="RetryMaxDelay"/>, and is jittered down by up to half. Default one second.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest retry delay. Default five minutes.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a stop waits for running jobs before cancelling them and handing them back, when the stop names none. Default 10 seconds.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The worker's consumer name in the stream's group. Default: host name, process id and a random suffix.</summary>
    public string ConsumerName { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Where the worker logs (each job's messages in a scope with its id, name and attempt). Null: the loop's logger.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>The jitter source for retry delays. Null: a new generator.</summary>
    public Random? Random { get; init; }
}

/// <summary>What a worker has done so far.</summary>
/// <param name="Started">Attempts started.</param>
/// <param name="Succeeded">Jobs that succeeded.</param>
/// <param name="Retried">Failed attempts scheduled for a retry.</param>
/// <param name="Dead">Jobs dead-lettered.</param>
/// <param name="Revoked">Running jobs revoked.</param>
/// <param name="HandedBack">Jobs handed back when it stopped.</param>
/// <param name="Refused">Outcomes refused by a stale fencing token, or leases found lost.</param>
public readonly record struct WorkerStatistics(long Started, long Succeeded, long Retried, long Dead, long Revoked, long HandedBack, long Refused);

/// <summary>
/// Runs the jobs of a <see cref="JobQueue"/>: register handlers with <see cref="Handle{T}"/>, then <c>await worker.RunAsync()</c>
/// until <see cref="StopAsync"/> or until the task running it is cancelled (both stop gracefully: running jobs get the
/// grace period, the rest are handed back to the queue). Belongs to the loop that runs it.
/// </summary>
public sealed class JobWorker : IAsyncDisposable
{
    private enum CancelReason { None, Revoked, Stopping, LeaseLost }

    private sealed class Running(string id, string name, string stream, string entry, int attempt, long fence)
    {
        public readonly string Id = id;
        public readonly string Name = name;
        public readonly string Stream = stream;
        public readonly string Entry = entry;
        public readonly int Attempt = attempt;
        public readonly long Fence = fence;
        public readonly CancelScope Scope = new();
        public CancelReason Reason;
        public AioTask? Task;
    }

    private delegate Task<string?> Handler(JobEnvelope envelope, Running run, int maxRetries, DateTimeOffset enqueuedAt, CancellationToken token);

    private readonly Dictionary<string, Handler> _handlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Running> _running = new(StringComparer.Ordinal);
    private readonly AioEvent _wake = new();
    private readonly HashSet<string> _revokedSoon = new(StringComparer.Ordinal);   // revokes of jobs not (yet) running here, newest 1,024
    private readonly Queue<string> _revokedOrder = new();
    private readonly string _inboxKey, _bellKey, _wakeKey, _idleKey;   // the fetch's keys (see QueueScripts)
    private readonly AioEvent _idle = new();
    private readonly Random _random;
    private EventLoop? _loop;
    private ChannelMessageQueue? _revoke;
    private bool _waitingForSlot;   // the driver sleeps with every slot taken: a job ending wakes it
    private RespConnection? _fetch;   // the driver's own connection (see the design note)
    private RespConnection.Reply? _pending;   // the fetch in flight on it (still set if the driver was cancelled meanwhile)
    private bool _pendingIsWait;    // ... a wait (BLPOP), not a Take
    private bool _unblockSent;
    private TimerHandle? _unblockDeadline;
    private TimeSpan? _stopGrace;
    private bool _stopping;
    private bool _ran;
    private long _started, _succeeded, _retried, _dead, _revoked, _handedBack, _refused;

    /// <summary>Creates a worker for <paramref name="queue"/>.</summary>
    public JobWorker(JobQueue queue, WorkerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(queue);
        Queue = queue;
        Options = options ?? new WorkerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Concurrency, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.Lease, TimeSpan.FromMilliseconds(300), nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Options.PollInterval, TimeSpan.Zero, nameof(options));
        _random = Options.Random ?? new Random();
        (_inboxKey, _bellKey, _wakeKey, _idleKey) = (queue.Prefix + "inbox:" + Options.ConsumerName, queue.Prefix + "bell",
            queue.Prefix + "wake:" + Options.ConsumerName, queue.Prefix + "idle");
    }

    /// <summary>The queue.</summary>
    public JobQueue Queue { get; }

    /// <summary>The worker's options.</summary>
    public WorkerOptions Options { get; }

    /// <summary>Jobs running now.</summary>
    public int RunningCount => _running.Count;

    /// <summary>What the worker has done so far.</summary>
    public WorkerStatistics Statistics => new(_started, _succeeded, _retried, _dead, _revoked, _handedBack, _refused);

    private ILogger Logger => Options.Logger ?? _loop?.Logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Runs <paramref name="handler"/> for jobs named <paramref name="name"/>; a job succeeds when it returns and fails when it throws.</summary>
    public JobWorker Handle<T>(string name, Func<QueuedJob<T>, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Handle<T, object?>(name, async (job, token) =>
        {
            await handler(job, token);
            return null;
        });
    }

    /// <summary>Runs <paramref name="handler"/> for jobs named <paramref name="name"/>; its result is kept for <see cref="JobHandle.ResultAsync{T}"/>.</summary>
    public JobWorker Handle<T, TResult>(string name, Func<QueuedJob<T>, CancellationToken, Task<TResult>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(handler);
        if (_ran)
        {
            throw new InvalidOperationException($"{this} is already running; register handlers before RunAsync.");
        }
        JsonSerializerOptions json = Queue.Json;
        _handlers[name] = async (envelope, run, maxRetries, enqueuedAt, token) =>
        {
            T payload = envelope.Payload.Deserialize<T>(json)!;
            var job = new QueuedJob<T>(envelope.Id, envelope.Name, payload, run.Attempt, maxRetries, run.Fence, envelope.IdempotencyKey, enqueuedAt);
            TResult result = await handler(job, token);
            return (string?)JsonSerializer.Serialize(result, json);
        };
        return this;
    }

    /// <summary>
    /// Takes and runs jobs until stopped (<see cref="Stop"/>) or until the task running it is cancelled; then stops
    /// gracefully — nothing new is taken, running jobs get the grace period, those left are cancelled and handed back —
    /// and returns (or rethrows the cancellation).
    /// </summary>
    public async Task RunAsync()
    {
        if (_ran)
        {
            throw new InvalidOperationException($"{this} ran already; a worker runs once. Create a new JobWorker.");
        }
        _ran = true;
        _loop = EventLoop.GetRunningLoop();
        ILogger logger = Logger;
        if (logger.IsEnabled(LogLevel.Information))
        {
            string jobs = string.Join(", ", _handlers.Keys);
            QueueLog.WorkerStarted(logger, Options.ConsumerName, Queue.Name, Options.Concurrency, jobs);
        }
        ExceptionDispatchInfo? failure = null;
        AioTask? maintenance = null;
        try
        {
            await RetryingAsync(EnsureGroupsAsync);
            await RetryingAsync(() => Queue.Commands.EvalAsync(QueueScripts.ResetScript, [Queue.Prefix, Options.ConsumerName]));
            await RetryingAsync(SubscribeAsync);
            maintenance = _loop.CreateTask(MaintainAsync, $"worker-maintenance {Options.ConsumerName}");
            await DriveAsync();
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
        }
        await new CancelScope(shield: true).RunAsync(async () =>
        {
            await SettleFetchAsync();
            await DrainAsync(_stopGrace ?? Options.StopGracePeriod);
            if (maintenance is not null)
            {
                maintenance.Cancel("the worker stopped");
                await Asyncio.Wait([maintenance]);
            }
            await UnsubscribeAsync();
        });
        QueueLog.Stopped(Logger, Options.ConsumerName);
        failure?.Throw();
    }

    /// <summary>Asks the worker to stop: nothing new is taken; running jobs get <paramref name="gracePeriod"/> (default <see cref="WorkerOptions.StopGracePeriod"/>), then are cancelled and handed back. Returns at once.</summary>
    public void Stop(TimeSpan? gracePeriod = null)
    {
        if (_stopping)
        {
            return;
        }
        _stopping = true;
        _stopGrace = gracePeriod;
        _wake.Set();
        if (_pending is not null && _pendingIsWait)
        {
            Unblock();
        }
    }

    /// <summary>Stops the worker (<see cref="Stop"/>) and waits until <see cref="RunAsync"/> has drained.</summary>
    public async Task StopAsync(TimeSpan? gracePeriod = null)
    {
        Stop(gracePeriod);
        while (_running.Count > 0 || (_ran && !_drained))
        {
            _idle.Clear();
            await _idle.WaitAsync();
        }
    }

    private bool _drained;

    /// <summary>Stops with the default grace period and waits.</summary>
    public async ValueTask DisposeAsync() => await StopAsync();

    /// <inheritdoc/>
    public override string ToString() => $"<JobWorker {Options.ConsumerName} queue='{Queue.Name}' running={_running.Count}>";

    private async Task DriveAsync()
    {
        int failures = 0;
        bool look = true;   // the next step is a Take; else a wait on the inbox and the bell
        long? registerUntil = null;   // before that wait: renew the idle registration a hand-off used up (Redis ms)
        double nextDueAt = double.PositiveInfinity;   // loop time of the next delayed job's due time, as the last Take saw it
        while (!_stopping)
        {
            int free = Options.Concurrency - _running.Count;
            if (free <= 0)
            {
                _wake.Clear();
                _waitingForSlot = true;
                try
                {
                    await _wake.WaitAsync();
                }
                finally
                {
                    _waitingForSlot = false;
                }
                look = true;
                continue;
            }
            _wake.Clear();
            try
            {
                if (look)
                {
                    object?[] reply = await TakeAsync(free);
                    failures = 0;
                    long rateWaitMs = (long)reply[0]!;
                    long nextDueMs = (long)reply[1]!;
                    StartTaken(reply);
                    nextDueAt = nextDueMs >= 0 ? _loop!.Time() + (nextDueMs / 1000.0) : double.PositiveInfinity;
                    if (rateWaitMs > 0)
                    {
                        // Over the rate limit: sleep (unless stopped), then look without waiting for the bell.
                        double pause = Math.Max(Math.Min(Math.Min(Options.PollInterval.TotalSeconds, nextDueAt - _loop!.Time()), rateWaitMs / 1000.0), 0.001);
                        if (!_stopping)
                        {
                            await Asyncio.MoveOnAfter(pause, async () => await _wake.WaitAsync());
                        }
                        continue;
                    }
                    // With a free slot left the Take registered this worker as idle: enqueues now hand it their jobs
                    // and the bell rings for the rest. With every slot taken, it rang the bell for the work it may
                    // have left and the next turn waits for a slot.
                    look = false;
                    registerUntil = null;
                    continue;
                }
                double block = Math.Min(Options.PollInterval.TotalSeconds, nextDueAt - _loop!.Time());
                if (block < 0.001)
                {
                    look = true;   // a delayed job is due
                    continue;
                }
                object?[]? popped = await WaitAsync(block, registerUntil);
                registerUntil = null;
                look = true;
                if (popped is null)
                {
                    continue;   // the poll interval passed, or a delayed job is due
                }
                string key = (string)popped[0]!;
                if (key == _inboxKey)
                {
                    // A job an enqueue started for this worker. Free slot left: register again and wait, no Take.
                    long handedAt = StartHanded((string)popped[1]!);
                    if (Options.Concurrency > _running.Count && Queue.Options.RateLimit == 0)
                    {
                        look = false;
                        registerUntil = handedAt + IdleMs;
                    }
                    await Asyncio.Sleep(0);   // the job starts first; the next wait's write follows
                }
                else if (key == _bellKey && _stopping)
                {
                    await SettleCallAsync(QueueScripts.RingScript, [Queue.Prefix]);   // not taken here: for another worker
                }
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                DropFetch(e);
                if (_stopping)
                {
                    break;
                }
                await BackOffAsync(e, ++failures);
                look = true;
                registerUntil = null;
            }
        }
    }

    /// <summary>How long an idle registration holds without renewal (ms): the poll interval, plus a second of grace.</summary>
    private long IdleMs => (long)Options.PollInterval.TotalMilliseconds + 1000;

    /// <summary>Runs the Take on the fetch connection (connecting it first if needed). Returns its reply.</summary>
    private async Task<object?[]> TakeAsync(int free)
    {
        RespConnection c = _fetch is { IsOpen: true } open ? open : await ConnectFetchAsync();
        c.Begin(12).Arg("EVALSHA").Arg(_takeSha!).Arg(0).Arg(Queue.Prefix).Arg(JobQueue.Group).Arg(Options.ConsumerName)
            .Arg(Queue.Options.HistoryLength).Arg(free).Arg(Queue.Options.RateLimit).Arg((long)Queue.Options.RatePeriod.TotalMilliseconds)
            .Arg(1000).Arg(IdleMs);
        return (object?[])RespConnection.Check(await AwaitFetchAsync(c, c.End(), wait: false, 0))!;
    }

    /// <summary>
    /// Waits at most <paramref name="block"/> seconds (BLPOP) for a job handed to this worker, the bell, or its own
    /// stop; first renews its idle registration if <paramref name="registerUntil"/> is set. Returns {key, value}, or
    /// null when the time ran out.
    /// </summary>
    private async Task<object?[]?> WaitAsync(double block, long? registerUntil)
    {
        RespConnection c = _fetch is { IsOpen: true } open ? open : await ConnectFetchAsync();
        if (registerUntil is long until)
        {
            c.Begin(4).Arg("ZADD").Arg(_idleKey).Arg(until).Arg(Options.ConsumerName).EndIgnored();
        }
        c.Begin(5).Arg("BLPOP").Arg(_inboxKey).Arg(_bellKey).Arg(_wakeKey).Arg(block.ToString("0.###", CultureInfo.InvariantCulture));
        return (object?[]?)RespConnection.Check(await AwaitFetchAsync(c, c.End(), wait: true, block));
    }

    /// <summary>Sends what was written to the fetch connection and awaits <paramref name="reply"/> (at most <paramref name="block"/> + <see cref="FetchTimeout"/> s).</summary>
    private async Task<object?> AwaitFetchAsync(RespConnection c, RespConnection.Reply reply, bool wait, double block)
    {
        c.Flush();
        _pending = reply;
        _pendingIsWait = wait;
        _unblockSent = false;
        TimerHandle deadline = _loop!.CallLater(block + FetchTimeout, static c => c.Abort(new TimeoutException(
            $"Redis did not answer the worker's fetch within {FetchTimeout} s after its wait; the worker connects again.")), c);
        object? value;
        try
        {
            value = await reply.Detached();
        }
        finally
        {
            deadline.Cancel();
        }
        _pending = null;   // (still set if this await was cancelled: SettleFetchAsync collects the reply)
        _pendingIsWait = false;
        return value;
    }

    /// <summary>How long past its wait a fetch may take before the connection is given up.</summary>
    private const double FetchTimeout = 10;

    private string? _takeSha;

    private async Task<RespConnection> ConnectFetchAsync()
    {
        DropFetch(null);
        RespConnection c = await RespConnection.ConnectAsync(Queue.Redis, $"aio-worker:{Options.ConsumerName}");
        try
        {
            RespConnection.Reply load = c.Command(true, "SCRIPT", "LOAD", QueueScripts.Take);
            c.Flush();
            _takeSha = (string)RespConnection.Check(await load)!;
        }
        catch
        {
            c.Abort(null);
            throw;
        }
        _fetch = c;
        return c;
    }

    private void DropFetch(Exception? reason)
    {
        _fetch?.Abort(reason);
        _fetch = null;
        _pending = null;
        _pendingIsWait = false;
    }

    /// <summary>Ends the driver's wait (it is stopping) and unregisters it as idle. If Redis does not answer within two seconds, the fetch connection is dropped.</summary>
    private void Unblock()
    {
        if (_unblockSent || _loop is null)
        {
            return;
        }
        _unblockSent = true;
        _loop.CreateTask(SendUnblockAsync, $"worker-unblock {Options.ConsumerName}");
        RespConnection.Reply? pending = _pending;
        _unblockDeadline?.Cancel();
        _unblockDeadline = _loop.CallLater(2.0, () =>
        {
            if (_pending is not null && ReferenceEquals(_pending, pending))
            {
                _fetch?.Abort(new TimeoutException("Redis did not end the stopping worker's wait within 2 s; its fetch connection was dropped."));
            }
        });
    }

    private async Task SendUnblockAsync()
    {
        try
        {
            // Bounded like Unblock's own deadline: a silent Redis does not keep this task alive past the worker.
            await Asyncio.MoveOnAfter(2.5, () => Queue.Commands.EvalAsync(QueueScripts.UnblockScript, [Queue.Prefix, Options.ConsumerName]));
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Redis is unreachable: Unblock's deadline drops the fetch connection.
        }
    }

    /// <summary>
    /// After the driver ended (stopped, cancelled or failed): a fetch still in flight is collected — a wait is ended
    /// first (<see cref="Unblock"/>) — and so is what enqueues handed to this worker meanwhile; the jobs join the
    /// running ones, which the drain hands back.
    /// </summary>
    private async Task SettleFetchAsync()
    {
        if (_pending is { } pending)
        {
            bool wait = _pendingIsWait;
            if (wait)
            {
                Unblock();
            }
            object? reply = null;
            try
            {
                await Asyncio.MoveOnAfter(3.0, async () => reply = await pending.Detached());
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                // The connection was lost: what the fetch started goes back to the queue when its lease lapses.
            }
            if (!wait && reply is object?[] { Length: 4 } parts)
            {
                StartTaken(parts);
            }
            else if (wait && reply is object?[] { Length: 2 } popped)
            {
                if ((string)popped[0]! == _bellKey)
                {
                    await SettleCallAsync(QueueScripts.RingScript, [Queue.Prefix]);   // not taken here: for another worker
                }
                else if ((string)popped[0]! == _inboxKey)
                {
                    StartHanded((string)popped[1]!);
                }
            }
        }
        _unblockDeadline?.Cancel();
        _fetch?.Abort(null);
        _fetch = null;
        _pending = null;
        _pendingIsWait = false;
        if (await SettleCallAsync(QueueScripts.SettleScript, [Queue.Prefix, Options.ConsumerName]) is object?[] handed)
        {
            StartHanded(handed);
        }
    }

    /// <summary>One script of a stopping worker, bounded to three seconds; null if Redis did not answer.</summary>
    private async Task<object?> SettleCallAsync(ScriptText script, object[] args)
    {
        object? reply = null;
        try
        {
            await Asyncio.MoveOnAfter(3.0, async () => reply = await Queue.Commands.EvalAsync(script, args));
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Unregistering lapses by itself; what was handed to this worker goes back when its lease lapses.
        }
        return reply;
    }

    /// <summary>Starts what a Take started: the jobs handed to this worker, then those it took.</summary>
    private void StartTaken(object?[] reply)
    {
        StartHanded((object?[])reply[3]!);
        foreach (object? r in (object?[])reply[2]!)
        {
            StartJob((object?[])r!);
        }
    }

    private void StartHanded(object?[] records)
    {
        foreach (object? r in records)
        {
            StartHanded((string)r!);
        }
    }

    /// <summary>Starts a job an enqueue started for this worker (a record of its inbox, see QueueScripts); returns the Redis time (ms) it was handed.</summary>
    private long StartHanded(string record)
    {
        string[] f = record.Split('\n', 9);
        long now = long.Parse(f[7], CultureInfo.InvariantCulture);
        StartJob(f[0], f[1], f[2], f[8], long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture),
            long.Parse(f[5], CultureInfo.InvariantCulture), long.Parse(f[6], CultureInfo.InvariantCulture), now);
        return now;
    }

    private void StartJob(object?[] r) =>
        StartJob((string)r[0]!, (string)r[1]!, (string)r[2]!, (string)r[3]!, (long)r[4]!, (long)r[5]!, (long)r[6]!, (long)r[7]!, (long)r[8]!);

    /// <summary>Starts a job a Take or a Reclaim started in Redis: {stream, entry, id, env, attempt, fence, max, enq, now}.</summary>
    private void StartJob(string stream, string entry, string id, string env, long attempt, long fence, long max, long enq, long now)
    {
        var envelope = JsonSerializer.Deserialize<JobEnvelope>(env, Queue.Json)!;
        var run = new Running(id, envelope.Name, stream, entry, (int)attempt, fence);
        int maxRetries = (int)max;
        DateTimeOffset enqueued = DateTimeOffset.FromUnixTimeMilliseconds(enq);
        double wait = Math.Max(now - enq, 0) / 1000.0;
        if (_running.Remove(run.Id, out Running? stale))
        {
            // This worker ran the job before, lost its lease (a stall), and has now been given it again.
            stale.Reason = CancelReason.LeaseLost;
            stale.Scope.Cancel("the job's lease was lost");
        }
        _running[run.Id] = run;
        _started++;
        if (_revokedSoon.Remove(run.Id))
        {
            run.Reason = CancelReason.Revoked;
            run.Scope.Cancel($"job {run.Id} was revoked");
        }
        run.Task = _loop!.CreateTask(() => RunJobAsync(run, envelope, maxRetries, enqueued, wait), $"job {envelope.Name} {run.Id}");
    }

    private async Task RunJobAsync(Running run, JobEnvelope envelope, int maxRetries, DateTimeOffset enqueuedAt, double wait)
    {
        using IDisposable? logScope = Logger.BeginScope(new Dictionary<string, object>
        {
            ["Queue"] = Queue.Name, ["JobId"] = run.Id, ["JobName"] = run.Name, ["Attempt"] = run.Attempt,
        });
        QueueTelemetry.Started(Queue.Name, run.Name, wait);
        QueueLog.JobStarted(Logger, wait);
        double start = _loop!.Time();
        string? result = null;
        Exception? error = null;
        try
        {
            if (envelope.Version > JobEnvelope.CurrentVersion)
            {
                throw new NotSupportedException($"Job {run.Id} of queue '{Queue.Name}' comes in envelope version {envelope.Version}; worker {Options.ConsumerName} reads versions up to {JobEnvelope.CurrentVersion}. Upgrade the worker.");
            }
            if (!_handlers.TryGetValue(run.Name, out Handler? handler))
            {
                throw new InvalidOperationException($"Worker {Options.ConsumerName} of queue '{Queue.Name}' has no handler for jobs named '{run.Name}'; register one with worker.Handle<T>(\"{run.Name}\", ...).");
            }
            result = await run.Scope.RunAsync(() => handler(envelope, run, maxRetries, enqueuedAt, Asyncio.CurrentToken), cancelledValue: null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !run.Scope.CancelCalled)
        {
            error = e;
        }
        catch (OperationCanceledException)
        {
            // The handler's own cancellation after our scope was cancelled: the reason decides below.
        }
        double duration = _loop.Time() - start;
        QueueTelemetry.Finished(Queue.Name, run.Name, duration);
        try
        {
            await new CancelScope(shield: true).RunAsync(() => FinishAsync(run, result, error, duration));
        }
        finally
        {
            if (_running.TryGetValue(run.Id, out Running? current) && ReferenceEquals(current, run))
            {
                _running.Remove(run.Id);
            }
            if (_waitingForSlot)
            {
                _wake.Set();   // a slot is free; a driver with free slots sleeps on: the job's end brings no new work
            }
            _idle.Set();
        }
    }

    private async Task FinishAsync(Running run, string? result, Exception? error, double duration)
    {
        if (run.Scope.CancelCalled && run.Reason != CancelReason.None)
        {
            switch (run.Reason)
            {
                case CancelReason.LeaseLost:
                    _refused++;
                    QueueTelemetry.Refused(Queue.Name, run.Name);
                    QueueLog.LeaseLost(Logger);
                    return;
                case CancelReason.Revoked:
                    if (await EndAsync(QueueScripts.RevokedScript, run) == 1)
                    {
                        _revoked++;
                        QueueTelemetry.Revoked(Queue.Name, run.Name);
                        QueueLog.JobRevoked(Logger);
                    }
                    return;
                case CancelReason.Stopping:
                    if (await EndAsync(QueueScripts.ReleaseScript, run) == 1)
                    {
                        _handedBack++;
                        QueueTelemetry.HandedBack(Queue.Name, run.Name);
                        QueueLog.HandedBack(Logger);
                    }
                    return;
            }
        }
        if (error is null)
        {
            if (await SucceedAsync(run, result ?? "null") == 1)
            {
                _succeeded++;
                QueueTelemetry.Succeeded(Queue.Name, run.Name);
                QueueLog.JobSucceeded(Logger, duration);
            }
            else
            {
                _refused++;
                QueueTelemetry.Refused(Queue.Name, run.Name);
                QueueLog.AckRefused(Logger, run.Fence);
            }
            return;
        }
        double delay = Math.Min(Options.RetryBaseDelay.TotalSeconds * Math.Pow(2, run.Attempt - 1), Options.RetryMaxDelay.TotalSeconds);
        delay *= 0.5 + (0.5 * _random.NextDouble());
        string message = $"{error.GetType().FullName}: {error.Message}";
        switch (await EndAsync(QueueScripts.FailScript, run, message, (long)(delay * 1000)))
        {
            case 1:
                _retried++;
                QueueTelemetry.Retried(Queue.Name, run.Name);
                QueueLog.JobRetrying(Logger, error, delay);
                break;
            case 2:
                _dead++;
                QueueTelemetry.Dead(Queue.Name, run.Name);
                QueueLog.JobDead(Logger, error);
                break;
        }
    }

    /// <summary>
    /// Records <paramref name="run"/>'s success: 1, or 0 if its fencing token is stale. The jobs that succeed in one loop
    /// iteration share one script call (under load a Take starts many jobs and they end together): the first one sends
    /// the batch one iteration later, retrying while Redis is unreachable.
    /// </summary>
    private async Task<long> SucceedAsync(Running run, string result)
    {
        AioFuture<long> outcome = _loop!.CreateFuture<long>();
        _acks.Add((run, result, outcome));
        if (_acks.Count > 1)
        {
            return await outcome;
        }
        await Asyncio.Sleep(0);   // the other jobs ending in this iteration join the batch
        (Running Run, string Result, AioFuture<long> Outcome)[] batch = [.. _acks];
        _acks.Clear();
        object[] args = new object[3 + (5 * batch.Length)];
        args[0] = Queue.Prefix;
        args[1] = JobQueue.Group;
        args[2] = Queue.Options.HistoryLength;
        for (int i = 0; i < batch.Length; i++)
        {
            Running r = batch[i].Run;
            int k = 3 + (5 * i);
            args[k] = r.Id;
            args[k + 1] = r.Fence;
            args[k + 2] = r.Stream;
            args[k + 3] = r.Entry;
            args[k + 4] = batch[i].Result;
        }
        for (int failures = 1; ; failures++)
        {
            try
            {
                var outcomes = (object?[])(await Queue.Commands.EvalAsync(QueueScripts.SucceedScript, args))!;
                for (int i = 0; i < batch.Length; i++)
                {
                    batch[i].Outcome.TrySetResult((long)outcomes[i]!);
                }
                break;
            }
            catch (Exception e) when (IsRedisFailure(e) && failures < 30)
            {
                await BackOffAsync(e, failures);
            }
            catch (Exception e)
            {
                foreach ((Running _, string _, AioFuture<long> o) in batch)
                {
                    o.TrySetException(e);
                }
                break;
            }
        }
        return await outcome;
    }

    private readonly List<(Running Run, string Result, AioFuture<long> Outcome)> _acks = [];

    /// <summary>Runs one of the scripts that end an attempt, retrying while Redis is unreachable; 0 (refused) is counted and logged here.</summary>
    private async Task<long> EndAsync(ScriptText script, Running run, params object[] extra)
    {
        object[] args = [Queue.Prefix, JobQueue.Group, Queue.Options.HistoryLength, run.Id, run.Fence, run.Stream, run.Entry, .. extra];
        for (int failures = 1; ; failures++)
        {
            try
            {
                long outcome = (long)(await Queue.Commands.EvalAsync(script, args))!;
                if (outcome == 0)
                {
                    _refused++;
                    QueueTelemetry.Refused(Queue.Name, run.Name);
                    QueueLog.AckRefused(Logger, run.Fence);
                }
                return outcome;
            }
            catch (Exception e) when (IsRedisFailure(e) && failures < 30)
            {
                await BackOffAsync(e, failures);
            }
        }
    }

    private async Task MaintainAsync()
    {
        double every = Options.Lease.TotalSeconds / 3;
        double lastReclaim = _loop!.Time();
        while (true)
        {
            await Asyncio.Sleep(every);
            try
            {
                await RenewAsync();
                if (_loop.Time() - lastReclaim >= Options.Lease.TotalSeconds / 2 && !_stopping)
                {
                    lastReclaim = _loop.Time();
                    await ReclaimAsync();
                }
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                QueueLog.RedisFailed(Logger, e, Options.ConsumerName, Queue.Name, every);
            }
        }
    }

    private async Task RenewAsync()
    {
        if (_running.Count == 0)
        {
            return;
        }
        Running[] runs = [.. _running.Values];
        var args = new List<object>(3 + (4 * runs.Length)) { Queue.Prefix, JobQueue.Group, Options.ConsumerName };
        foreach (Running run in runs)
        {
            args.AddRange([run.Id, run.Fence, run.Stream, run.Entry]);
        }
        var lost = (object?[])(await Queue.Commands.EvalAsync(QueueScripts.RenewScript, [.. args]))!;
        foreach (object? id in lost)
        {
            if (_running.TryGetValue((string)id!, out Running? run) && runs.Contains(run) && run.Reason == CancelReason.None)
            {
                run.Reason = CancelReason.LeaseLost;
                run.Scope.Cancel("the job's lease was lost: another worker took it over");
            }
        }
    }

    private async Task ReclaimAsync()
    {
        int free = Options.Concurrency - _running.Count;
        if (free <= 0)
        {
            return;
        }
        var reclaimed = (object?[])(await Queue.Commands.EvalAsync(QueueScripts.ReclaimScript,
            [Queue.Prefix, JobQueue.Group, Options.ConsumerName, Queue.Options.HistoryLength, (long)Options.Lease.TotalMilliseconds, free]))!;
        foreach (object? r in reclaimed)
        {
            StartJob((object?[])r!);
        }
    }

    private async Task DrainAsync(TimeSpan grace)
    {
        _stopping = true;
        QueueLog.Stopping(Logger, Options.ConsumerName, _running.Count, grace.TotalSeconds);
        if (_running.Count > 0 && grace > TimeSpan.Zero)
        {
            await Asyncio.MoveOnAfter(grace.TotalSeconds, WaitIdleAsync);
        }
        foreach (Running run in _running.Values.ToArray())
        {
            if (run.Reason == CancelReason.None)
            {
                run.Reason = CancelReason.Stopping;
            }
            run.Scope.Cancel($"worker {Options.ConsumerName} is stopping and its grace period of {grace.TotalSeconds:0.###} s ended");
        }
        await WaitIdleAsync();
        _drained = true;
        _idle.Set();
    }

    private async Task WaitIdleAsync()
    {
        while (_running.Count > 0)
        {
            _idle.Clear();
            await _idle.WaitAsync();
        }
    }

    private async Task EnsureGroupsAsync()
    {
        foreach (JobPriority p in new[] { JobPriority.Low, JobPriority.Normal, JobPriority.High })
        {
            try
            {
                await RedisAwait.Call(Queue.Db.StreamCreateConsumerGroupAsync(Queue.Stream(p), JobQueue.Group, StreamPosition.Beginning, createStream: true));
            }
            catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
            {
                // Another worker created it.
            }
        }
    }

    private async Task SubscribeAsync()
    {
        ISubscriber subscriber = Queue.Redis.GetSubscriber();
        EventLoop loop = _loop!;
        if (_revoke is not null)
        {
            return;
        }
        _revoke = await RedisAwait.Call(subscriber.SubscribeAsync(RedisChannel.Literal(Queue.Prefix + "revoke")));
        _revoke.OnMessage(message =>
        {
            string id = message.Message.ToString();
            Post(loop, () =>
            {
                if (_running.TryGetValue(id, out Running? run))
                {
                    if (run.Reason == CancelReason.None)
                    {
                        run.Reason = CancelReason.Revoked;
                        run.Scope.Cancel($"job {id} was revoked");
                    }
                }
                else if (_revokedSoon.Add(id))
                {
                    // Not running here (yet?): a job handed to this worker may arrive after its revoke. Kept for StartJob.
                    _revokedOrder.Enqueue(id);
                    if (_revokedOrder.Count > 1024)
                    {
                        _revokedSoon.Remove(_revokedOrder.Dequeue());
                    }
                }
            });
        });
    }

    private static void Post(EventLoop loop, Action action)
    {
        try
        {
            loop.CallSoonThreadSafe(action);
        }
        catch (InvalidOperationException)
        {
            // The loop closed.
        }
    }

    private async Task UnsubscribeAsync()
    {
        try
        {
            if (_revoke is { } revoke)
            {
                await RedisAwait.Call(revoke.UnsubscribeAsync());
            }
        }
        catch (Exception e) when (IsRedisFailure(e))
        {
            // Redis is gone: the subscriptions went with the connection.
        }
    }

    private async Task RetryingAsync(Func<Task> call)
    {
        for (int failures = 1; ; failures++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception e) when (IsRedisFailure(e) && !_stopping)
            {
                await BackOffAsync(e, failures);
            }
        }
    }

    private async Task BackOffAsync(Exception e, int failures)
    {
        double delay = Math.Min(0.05 * Math.Pow(2, failures - 1), 2.0);
        QueueLog.RedisFailed(Logger, e, Options.ConsumerName, Queue.Name, delay);
        if (e is RedisServerException s && s.Message.Contains("NOGROUP", StringComparison.Ordinal))
        {
            await EnsureGroupsAsync();   // Redis lost its data (restarted without persistence)
        }
        await Asyncio.Sleep(delay);
    }

    private static bool IsRedisFailure(Exception e) => e is RedisException or TimeoutException or System.Net.Sockets.SocketException or IOException
        or System.Security.Authentication.AuthenticationException;
}
