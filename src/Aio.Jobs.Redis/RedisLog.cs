using Microsoft.Extensions.Logging;

namespace Aio.Jobs.Redis;

/// <summary>The package's log messages (event ids 3100–3199).</summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Job '{Job}': the completion of the tick of {ScheduledAt:O} with fencing token {Token} by {Owner} was refused: its lease lapsed and another instance took the tick over")]
    public static partial void CompletionRefused(ILogger logger, string job, DateTimeOffset scheduledAt, long token, string owner);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Job '{Job}': renewing the lease on the tick of {ScheduledAt:O} failed; retrying")]
    public static partial void RenewalFailed(ILogger logger, Exception error, string job, DateTimeOffset scheduledAt);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Job '{Job}': the lease on the tick of {ScheduledAt:O} (fencing token {Token}) was lost: another instance took the tick over")]
    public static partial void LeaseLost(ILogger logger, string job, DateTimeOffset scheduledAt, long token);
}

/// <summary>The task queue's log messages (event ids 3110–3139).</summary>
internal static partial class QueueLog
{
    [LoggerMessage(EventId = 3110, Level = LogLevel.Information, Message = "Worker {Consumer} started on queue '{Queue}' with {Concurrency} slot(s) for {Jobs}")]
    public static partial void WorkerStarted(ILogger logger, string consumer, string queue, int concurrency, string jobs);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Debug, Message = "Job started (waited {Wait} s)")]
    public static partial void JobStarted(ILogger logger, double wait);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Debug, Message = "Job succeeded in {Duration} s")]
    public static partial void JobSucceeded(ILogger logger, double duration);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Warning, Message = "Job failed; retry in {Delay} s")]
    public static partial void JobRetrying(ILogger logger, Exception error, double delay);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Error, Message = "Job failed its last attempt; dead-lettered")]
    public static partial void JobDead(ILogger logger, Exception error);

    [LoggerMessage(EventId = 3115, Level = LogLevel.Information, Message = "Job revoked while running")]
    public static partial void JobRevoked(ILogger logger);

    [LoggerMessage(EventId = 3116, Level = LogLevel.Warning, Message = "Job's lease was lost (another worker took it over after it lapsed); its scope was cancelled and its outcome is not recorded")]
    public static partial void LeaseLost(ILogger logger);

    [LoggerMessage(EventId = 3117, Level = LogLevel.Warning, Message = "Job's acknowledgement was refused: its fencing token {Token} is stale (the lease lapsed and another worker took the job over)")]
    public static partial void AckRefused(ILogger logger, long token);

    [LoggerMessage(EventId = 3118, Level = LogLevel.Information, Message = "Job handed back to the queue: the worker is stopping")]
    public static partial void HandedBack(ILogger logger);

    [LoggerMessage(EventId = 3119, Level = LogLevel.Warning, Message = "Worker {Consumer} of queue '{Queue}': Redis call failed; retrying in {Delay} s")]
    public static partial void RedisFailed(ILogger logger, Exception error, string consumer, string queue, double delay);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "Worker {Consumer} stopping: {Running} job(s) running get a grace period of {Grace} s")]
    public static partial void Stopping(ILogger logger, string consumer, int running, double grace);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Information, Message = "Worker {Consumer} stopped")]
    public static partial void Stopped(ILogger logger, string consumer);
}
