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
