using Microsoft.Extensions.Logging;

namespace Aio.Cli.Watch;

/// <summary>The log messages of <c>aio watch</c> (event ids 300–319, registered in docs/loop.md "Logging").</summary>
internal static partial class WatchLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Watching {Count} URL(s) every {Every}; history in {Path}")]
    public static partial void Started(ILogger logger, int count, string every, string path);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "{Url} is DOWN: {Error}")]
    public static partial void TargetDown(ILogger logger, string url, string error);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "{Url} is UP again: status {Status} in {LatencyMs:0.0} ms")]
    public static partial void TargetUp(ILogger logger, string url, int status, double latencyMs);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Could not write {Rows} check(s) to {Path}: {Reason}. They are kept in memory and written with the next round")]
    public static partial void WriteDeferred(ILogger logger, int rows, string path, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "{Rows} check(s) could not be written to {Path} before the watch stopped: {Reason}")]
    public static partial void WriteLost(ILogger logger, int rows, string path, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Retention {Retention}: deleted {Count} check(s) older than {Before:u} from {Path}")]
    public static partial void Pruned(ILogger logger, string retention, int count, DateTimeOffset before, string path);

    [LoggerMessage(EventId = 306, Level = LogLevel.Warning, Message = "The webhook {Webhook} for the transition of {Url} failed: {Error}")]
    public static partial void WebhookFailed(ILogger logger, string webhook, string url, string error);

    [LoggerMessage(EventId = 307, Level = LogLevel.Information, Message = "Stopped after {Rounds} round(s); {Written} check(s) written to {Path} by this run")]
    public static partial void Stopped(ILogger logger, long rounds, long written, string path);

    [LoggerMessage(EventId = 308, Level = LogLevel.Information, Message = "Resuming the history in {Path}: {Known} of {Count} URL(s) have earlier checks")]
    public static partial void Resumed(ILogger logger, string path, int known, int count);

    [LoggerMessage(EventId = 309, Level = LogLevel.Debug, Message = "{Url}: up={Up}, status {Status} in {LatencyMs:0.0} ms")]
    public static partial void Checked(ILogger logger, string url, bool up, int status, double latencyMs);
}
