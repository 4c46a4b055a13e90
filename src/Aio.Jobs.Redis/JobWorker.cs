// JobWorker: runs a queue's jobs on the loop, at most Concurrency at once.
//
// Design note. One driver (RunAsync) takes jobs with one script call per batch (QueueScripts.Take: move due
// delayed jobs into their streams, apply the queue's rate limit, XREADGROUP the free slots' worth, highest
// priority first, and start each: state running, attempt and fencing token raised). The driver fetches on a
// connection of its own, read and written by the loop (Internal/RespConnection; StackExchange.Redis cannot block
// and answers on its own threads): an idle driver sends `BLPOP bell` with its Take
// pipelined behind it, so when a producer rings the queue's bell Redis wakes one blocked worker and runs its Take
// at once, and the started jobs reach the loop in the same reply — one message from Redis between an enqueue and
// the job's start, and no thread hop. Each job runs as its own Aio task inside a cancel scope. A maintenance task
// renews the leases of all running jobs in one script call every third of the lease (XCLAIM by the owner resets the
// entry's idle time; a stale fencing token means the job was taken over: its scope is cancelled) and takes over
// entries idle longer than the lease (XAUTOCLAIM — their worker died or stalled). An attempt ends with one script
// checking its fencing token: success (XACK, result), failure (retry later through the delayed set, or the
// dead-letter stream), revoked, or handed back by a stopping worker. The driver sleeps when it has no free slot or
// nothing to take: with every slot taken, until a job ends; with free slots, in its BLPOP until the bell rings
// (work queued, or a delayed job became the next one due), the next delayed job's due time, or the poll interval (the fallback
// for a ring lost across a restart). A job ending does not send a driver with free slots looking again: its Take
// found the streams empty, and anything queued since has rung. So a job costs three scripts (enqueue, take,
// succeed), and an idle worker makes one Redis call per poll interval and no loop iteration until something
// happens. A stopping worker ends its own wait through the queue's command connection (QueueScripts.Unblock: the
// Take behind it then takes nothing); a worker cancelled mid-fetch still collects the jobs its Take started and hands them
// back. Redis failures (a restart, say) are logged and retried with a new fetch connection. The scripts that end,
// renew and take over attempts (and the stop's Unblock, and the start's Reset) go over the queue's command
// connection (Internal/QueueCommands: loop-native too, shared with the queue's enqueues when they run on this loop;
// through StackExchange.Redis if the queue's connection belongs to another live loop); the fetch's connection is
// blocked in BLPOP and cannot carry them. So a job's path (enqueue, take, succeed) involves no thread besides the
// loops'. StackExchange.Redis remains for consumer groups, the revoke subscription and inspection.
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
    private readonly AioEvent _idle = new();
    private readonly Random _random;
    private EventLoop? _loop;
    private ChannelMessageQueue? _revoke;
    private bool _waitingForSlot;   // the driver sleeps with every slot taken: a job ending wakes it
    private RespConnection? _fetch;   // the driver's own connection (see the design note)
    private RespConnection.Reply? _take;   // the Take in flight on it (still set if the driver was cancelled meanwhile)
    private bool _blocked;          // ... behind a BLPOP
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
        if (_take is not null && _blocked)
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
        double block = 0;   // the first look does not wait
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
                continue;
            }
            _wake.Clear();
            object?[] reply;
            try
            {
                reply = await FetchAsync(free, block);
                failures = 0;
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                DropFetch(e);
                if (_stopping)
                {
                    break;
                }
                await BackOffAsync(e, ++failures);
                block = 0;
                continue;
            }
            long rateWaitMs = (long)reply[0]!;
            long nextDueMs = (long)reply[1]!;
            var started = (object?[])reply[2]!;
            foreach (object? r in started)
            {
                StartJob((object?[])r!);
            }
            double wait = Options.PollInterval.TotalSeconds;
            if (nextDueMs >= 0)
            {
                wait = Math.Min(wait, nextDueMs / 1000.0);
            }
            if (rateWaitMs > 0)
            {
                // Over the rate limit: sleep (unless stopped), then look without waiting for the bell.
                wait = Math.Max(Math.Min(wait, rateWaitMs / 1000.0), 0.001);
                if (!_stopping)
                {
                    await Asyncio.MoveOnAfter(wait, async () => await _wake.WaitAsync());
                }
                block = 0;
                continue;
            }
            // The next look waits for the bell (at most `wait`). With every slot now taken, the Take rang the bell
            // for the work it may have left: the wait after a slot frees returns at once unless another worker took it.
            block = wait;
        }
    }

    /// <summary>
    /// Runs the Take on the fetch connection (connecting it first if needed); with <paramref name="block"/> &gt; 0,
    /// behind a BLPOP on the bell of at most that many seconds. Returns the Take's reply.
    /// </summary>
    private async Task<object?[]> FetchAsync(int free, double block)
    {
        RespConnection c = _fetch is { IsOpen: true } open ? open : await ConnectFetchAsync();
        bool blocked = block > 0;
        if (blocked)
        {
            c.Begin(4).Arg("BLPOP").Arg(Queue.Prefix + "bell").Arg(Queue.Prefix + "wake:" + Options.ConsumerName)
                .Arg(Math.Max(block, 0.001).ToString("0.###", CultureInfo.InvariantCulture)).EndIgnored();
        }
        c.Begin(12).Arg("EVALSHA").Arg(_takeSha!).Arg(0).Arg(Queue.Prefix).Arg(JobQueue.Group).Arg(Options.ConsumerName)
            .Arg(Queue.Options.HistoryLength).Arg(free).Arg(Queue.Options.RateLimit).Arg((long)Queue.Options.RatePeriod.TotalMilliseconds)
            .Arg(1000).Arg(blocked ? 1 : 0);
        RespConnection.Reply take = c.End();
        c.Flush();
        _take = take;
        _blocked = blocked;
        _unblockSent = false;
        TimerHandle deadline = _loop!.CallLater(block + FetchTimeout, static c => c.Abort(new TimeoutException(
            $"Redis did not answer the worker's fetch within {FetchTimeout} s after its wait; the worker connects again.")), c);
        object? reply;
        try
        {
            reply = await take.Detached();
        }
        finally
        {
            deadline.Cancel();
        }
        _take = null;   // (still set if this await was cancelled: SettleFetchAsync collects the reply)
        _blocked = false;
        return (object?[])RespConnection.Check(reply)!;
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
        _take = null;
        _blocked = false;
    }

    /// <summary>Ends the driver's wait on the bell (it is stopping): the Take behind it then takes nothing. If Redis does not answer within two seconds, the fetch connection is dropped.</summary>
    private void Unblock()
    {
        if (_unblockSent || _loop is null)
        {
            return;
        }
        _unblockSent = true;
        _loop.CreateTask(SendUnblockAsync, $"worker-unblock {Options.ConsumerName}");
        RespConnection.Reply? take = _take;
        _unblockDeadline?.Cancel();
        _unblockDeadline = _loop.CallLater(2.0, () =>
        {
            if (_take is not null && ReferenceEquals(_take, take))
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
    /// After the driver ended (stopped, cancelled or failed): a Take still in flight is collected — its wait ended first
    /// (<see cref="Unblock"/>) — and the jobs it started join the running ones, which the drain hands back.
    /// </summary>
    private async Task SettleFetchAsync()
    {
        if (_take is { } take)
        {
            if (_blocked)
            {
                Unblock();
            }
            object? reply = null;
            try
            {
                await Asyncio.MoveOnAfter(3.0, async () => reply = await take.Detached());
            }
            catch (Exception e) when (IsRedisFailure(e))
            {
                // The connection was lost: what the Take started goes back to the queue when its lease lapses.
            }
            if (reply is object?[] { Length: 3 } parts && parts[2] is object?[] started)
            {
                foreach (object? r in started)
                {
                    StartJob((object?[])r!);
                }
            }
        }
        _unblockDeadline?.Cancel();
        _fetch?.Abort(null);
        _fetch = null;
        _take = null;
        _blocked = false;
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
        double wait = (now - enq) / 1000.0;
        if (_running.Remove(run.Id, out Running? stale))
        {
            // This worker ran the job before, lost its lease (a stall), and has now been given it again.
            stale.Reason = CancelReason.LeaseLost;
            stale.Scope.Cancel("the job's lease was lost");
        }
        _running[run.Id] = run;
        _started++;
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
                if (_running.TryGetValue(id, out Running? run) && run.Reason == CancelReason.None)
                {
                    run.Reason = CancelReason.Revoked;
                    run.Scope.Cancel($"job {id} was revoked");
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
