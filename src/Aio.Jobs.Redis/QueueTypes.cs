using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aio.Jobs.Redis;

/// <summary>A job's priority: workers take every queued job of a higher priority before one of a lower.</summary>
public enum JobPriority
{
    /// <summary>Taken after the others.</summary>
    Low = 0,

    /// <summary>The default.</summary>
    Normal = 1,

    /// <summary>Taken first.</summary>
    High = 2,
}

/// <summary>How one job is enqueued (<see cref="JobQueue.EnqueueAsync{T}"/>).</summary>
public sealed record EnqueueOptions
{
    /// <summary>Run no earlier than this long from now (Redis's clock). Zero (the default): at once.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>The job's priority. Default <see cref="JobPriority.Normal"/>.</summary>
    public JobPriority Priority { get; init; } = JobPriority.Normal;

    /// <summary>
    /// A key that makes the enqueue idempotent: while the key is remembered (<see cref="JobQueueOptions.IdempotencyExpiry"/>),
    /// enqueueing again with it is a no-op that returns the first job's handle. The handler sees it as
    /// <see cref="QueuedJob{T}.IdempotencyKey"/> to make its effects happen once. Null: none.
    /// </summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>How many times a failed job is retried (so at most MaxRetries + 1 attempts). Null: <see cref="JobQueueOptions.DefaultMaxRetries"/>.</summary>
    public int? MaxRetries { get; init; }
}

/// <summary>Settings shared by a queue's producers and workers (<see cref="JobQueue"/>).</summary>
public sealed record JobQueueOptions
{
    /// <summary>The prefix of every key and channel. Default <c>aio:q:</c>.</summary>
    public string KeyPrefix { get; init; } = "aio:q:";

    /// <summary>Retries of a job that names none. Default 3.</summary>
    public int DefaultMaxRetries { get; init; } = 3;

    /// <summary>How long a finished job (its result, error and history) is kept. Default one day.</summary>
    public TimeSpan ResultExpiry { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long an idempotency key is remembered. Default one day.</summary>
    public TimeSpan IdempotencyExpiry { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How many history events a job keeps (the oldest go). Default 20.</summary>
    public int HistoryLength { get; init; } = 20;

    /// <summary>
    /// At most this many jobs of the queue start per <see cref="RatePeriod"/>, counted in Redis across all workers
    /// (fixed windows of Redis time). Zero (the default): no limit. Workers of one queue must agree on it.
    /// </summary>
    public int RateLimit { get; init; }

    /// <summary>The window of <see cref="RateLimit"/>. Default one second.</summary>
    public TimeSpan RatePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How payloads and results are serialized. Null: <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public JsonSerializerOptions? Json { get; init; }
}

/// <summary>A job as its handler sees it: the payload and where the job stands.</summary>
/// <typeparam name="T">The payload's type.</typeparam>
public sealed class QueuedJob<T>
{
    internal QueuedJob(string id, string name, T payload, int attempt, int maxRetries, long fencingToken, string? idempotencyKey, DateTimeOffset enqueuedAt)
    {
        Id = id;
        Name = name;
        Payload = payload;
        Attempt = attempt;
        MaxRetries = maxRetries;
        FencingToken = fencingToken;
        IdempotencyKey = idempotencyKey;
        EnqueuedAt = enqueuedAt;
    }

    /// <summary>The job's id.</summary>
    public string Id { get; }

    /// <summary>The job's name (what <see cref="JobWorker.Handle{T}"/> routes by).</summary>
    public string Name { get; }

    /// <summary>The payload.</summary>
    public T Payload { get; }

    /// <summary>1 for the first attempt, 2 for the first retry (or a redelivery after a worker died), …</summary>
    public int Attempt { get; }

    /// <summary>The job's retry budget.</summary>
    public int MaxRetries { get; }

    /// <summary>Raised by every attempt: pass it to a store that should refuse a stale attempt's late writes.</summary>
    public long FencingToken { get; }

    /// <summary>The enqueue's idempotency key, or null: key the handler's effects by it to make them happen once.</summary>
    public string? IdempotencyKey { get; }

    /// <summary>When the job was enqueued (Redis's clock).</summary>
    public DateTimeOffset EnqueuedAt { get; }

    /// <inheritdoc/>
    public override string ToString() => $"<QueuedJob '{Name}' {Id} attempt={Attempt}>";
}

/// <summary>Where a job stands.</summary>
public enum QueuedJobState
{
    /// <summary>Unknown: never enqueued, or its record expired.</summary>
    Unknown,

    /// <summary>Waiting for its delay.</summary>
    Scheduled,

    /// <summary>In its stream, waiting for a worker.</summary>
    Queued,

    /// <summary>A worker runs it.</summary>
    Running,

    /// <summary>Failed; waiting for its retry.</summary>
    Retrying,

    /// <summary>Finished successfully.</summary>
    Succeeded,

    /// <summary>Failed its last attempt: in the dead-letter stream.</summary>
    Dead,

    /// <summary>Revoked before or while it ran.</summary>
    Revoked,
}

/// <summary>A job's record: state, attempts, last error and history (<see cref="JobQueue.GetJobAsync"/>).</summary>
/// <param name="Id">The job's id.</param>
/// <param name="Name">The job's name.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Attempts">Attempts started.</param>
/// <param name="MaxRetries">Its retry budget.</param>
/// <param name="Priority">Its priority.</param>
/// <param name="LastError">The last attempt's error, or null.</param>
/// <param name="Owner">The worker running it now, or null.</param>
/// <param name="EnqueuedAt">When it was enqueued.</param>
/// <param name="History">Its events, oldest first: time and text.</param>
public sealed record QueuedJobInfo(string Id, string Name, QueuedJobState State, int Attempts, int MaxRetries, JobPriority Priority,
    string? LastError, string? Owner, DateTimeOffset EnqueuedAt, IReadOnlyList<(DateTimeOffset At, string Event)> History);

/// <summary>A queue's counts at one moment (<see cref="JobQueue.GetStatsAsync"/>).</summary>
/// <param name="Queued">Waiting in the streams, by priority (low, normal, high).</param>
/// <param name="Running">Delivered to a worker and not yet acknowledged.</param>
/// <param name="Delayed">Waiting for a delay or a retry.</param>
/// <param name="Dead">Entries in the dead-letter stream.</param>
public sealed record JobQueueStats(IReadOnlyList<long> Queued, long Running, long Delayed, long Dead)
{
    /// <summary>All queued jobs.</summary>
    public long TotalQueued => Queued.Sum();
}

/// <summary>A job ended dead or revoked where a result was awaited.</summary>
public sealed class JobFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public JobFailedException(string jobId, QueuedJobState state, string message) : base(message)
    {
        JobId = jobId;
        State = state;
    }

    /// <summary>Creates the exception.</summary>
    public JobFailedException() : this("", QueuedJobState.Unknown, "The job failed.") { }

    /// <summary>Creates the exception.</summary>
    public JobFailedException(string message) : this("", QueuedJobState.Unknown, message) { }

    /// <summary>Creates the exception.</summary>
    public JobFailedException(string message, Exception inner) : base(message, inner) => JobId = "";

    /// <summary>The job.</summary>
    public string JobId { get; }

    /// <summary>How it ended: <see cref="QueuedJobState.Dead"/>, <see cref="QueuedJobState.Revoked"/> or <see cref="QueuedJobState.Unknown"/> (its record expired).</summary>
    public QueuedJobState State { get; }
}

/// <summary>The versioned envelope a job travels in (JSON in the job's hash).</summary>
internal sealed record JobEnvelope
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("v")]
    public int Version { get; init; } = CurrentVersion;

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("payload")]
    public JsonElement Payload { get; init; }

    [JsonPropertyName("key")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IdempotencyKey { get; init; }
}
