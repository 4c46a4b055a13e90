using Microsoft.Extensions.Logging;

namespace Aio.Jobs;

/// <summary>The scheduler's log events. Event ids 3000–3099 are Aio.Jobs'; they do not change once released.</summary>
internal static partial class JobsLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Debug, Message = "Job '{Job}' added: {Schedule}")]
    public static partial void JobAdded(ILogger logger, string job, object schedule);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Job '{Job}' run {Run} started (scheduled at loop time {Scheduled}, {Lateness} s late)")]
    public static partial void RunStarted(ILogger logger, string job, long run, double scheduled, double lateness);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "Job '{Job}' run {Run} succeeded in {Duration} s")]
    public static partial void RunSucceeded(ILogger logger, string job, long run, double duration);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "Job '{Job}' run {Run} failed after {Duration} s")]
    public static partial void RunFailed(ILogger logger, Exception exception, string job, long run, double duration);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Job '{Job}' run {Run} timed out after {Timeout} s; its scope was cancelled")]
    public static partial void RunTimedOut(ILogger logger, string job, long run, double timeout);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Job '{Job}' run {Run} was cancelled: {Reason}")]
    public static partial void RunCancelled(ILogger logger, string job, long run, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Job '{Job}' skipped a tick: {Reason}")]
    public static partial void TickSkipped(ILogger logger, string job, string reason);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Job '{Job}' missed {Count} tick(s), the first {Lateness} s late; misfire policy {Policy}")]
    public static partial void Misfired(ILogger logger, string job, long count, double lateness, string policy);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error, Message = "Job '{Job}' stopped after run {Run} failed (error policy Stop); Resume does not restart it, add it again")]
    public static partial void Faulted(ILogger logger, string job, long run);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "Job '{Job}' failed {Failures} time(s) in a row; retrying in {Delay} s")]
    public static partial void BackingOff(ILogger logger, string job, int failures, double delay);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Job '{Job}' succeeded after {Failures} failure(s) in a row; back on its schedule")]
    public static partial void Recovered(ILogger logger, string job, int failures);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Job '{Job}' paused")]
    public static partial void Paused(ILogger logger, string job);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Job '{Job}' resumed")]
    public static partial void Resumed(ILogger logger, string job);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information, Message = "Job '{Job}' removed")]
    public static partial void Removed(ILogger logger, string job);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Debug, Message = "Job '{Job}' completed: no more ticks after {Runs} run(s)")]
    public static partial void Completed(ILogger logger, string job, long runs);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Debug, Message = "Job '{Job}' did not run the tick of {ScheduledAt:O}: the store refused the claim")]
    public static partial void NotClaimed(ILogger logger, string job, DateTimeOffset scheduledAt);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Error, Message = "Job '{Job}' could not complete its claim on the tick of {ScheduledAt:O}")]
    public static partial void StoreCompleteFailed(ILogger logger, Exception exception, string job, DateTimeOffset scheduledAt);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Warning, Message = "Job '{Job}': {Count} earlier run(s) were abandoned by an owner whose lease lapsed; handled as missed ticks (misfire policy {Policy})")]
    public static partial void AbandonedRuns(ILogger logger, string job, int count, string policy);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "Scheduler started with {Count} job(s)")]
    public static partial void Started(ILogger logger, int count);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "Scheduler stopping: nothing new fires; {Running} run(s) in progress get a grace period of {Grace} s")]
    public static partial void Stopping(ILogger logger, int running, double grace);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning, Message = "Scheduler grace period of {Grace} s ended; cancelling {Count} run(s) of {Jobs}")]
    public static partial void CancellingRuns(ILogger logger, double grace, int count, string jobs);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Information, Message = "Scheduler stopped")]
    public static partial void Stopped(ILogger logger);
}
